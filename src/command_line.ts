import { parseArgs } from "node:util";
import { ConfigError } from "./errors.ts";
import { SETTINGS } from "./settings.ts";

/** What adsync was asked to do. */
export type Command = "sync" | "check" | "status" | "worker" | "enqueue" | "sql" | "db" | "help";

const COMMANDS: readonly Command[] = [
  "sync",
  "check",
  "status",
  "worker",
  "enqueue",
  "sql",
  "db",
  "help",
];

/** The commands that take one argument: what it is called, and the values it may take. */
const ARGUMENTS: Partial<Record<Command, { name: string; only?: readonly string[] }>> = {
  sql: { name: "a query" },
  db: { name: "an action", only: ["serve"] },
};

function isCommand(command: string): command is Command {
  return (COMMANDS as readonly string[]).includes(command);
}

/** What the command line asks for before any setting is read: which command, and whether help. */
export interface CommandLine {
  /** The command named (`sync` when none is); for `help CMD`, CMD. */
  command: Exclude<Command, "help">;
  /** `--help`, `-h` or `help` was given: print the help of `command` (or of all, see `named`). */
  help: boolean;
  /** Whether a command was named: `--help` alone describes every command. */
  named: boolean;
}

/**
 * Reads the command and the help flags; throws {@linkcode ConfigError} for an unknown command,
 * a stray argument or an unknown flag, naming it. Help wins over every other flag's value.
 */
export function readCommandLine(args: string[]): CommandLine {
  const wantsHelp = args.some((arg) => arg === "--help" || arg === "-h");
  const positionals = wantsHelp
    ? args.filter((arg) => !arg.startsWith("-")).slice(0, 2)
    : parseFlags(args).positionals;
  if (positionals[0] === "help") {
    const topic = positionals[1];
    if (topic !== undefined && (!isCommand(topic) || topic === "help")) {
      throw unknownCommand(topic);
    }
    return { command: (topic ?? "sync") as CommandLine["command"], help: true, named: !!topic };
  }
  if (!wantsHelp) parseFlags(args); // unknown flags, stray arguments
  const command = commandOf(positionals.slice(0, wantsHelp ? 1 : undefined));
  return {
    command: command === "help" ? "sync" : command,
    help: wantsHelp || command === "help",
    named: positionals[0] !== undefined && command !== "help",
  };
}

const COMMAND_LIST = "sync, check, status, worker, enqueue, sql, db or help";

/** Whether `--version` or `-V` was given: print the version and nothing else, whatever follows. */
export function wantsVersion(args: readonly string[]): boolean {
  return args.some((arg) => arg === "--version" || arg === "-V");
}

/** The command the positionals name (`sync` when none); throws for anything else. */
export function commandOf(positionals: string[]): Command {
  const [command = "sync"] = positionals;
  if (!isCommand(command)) throw unknownCommand(command);
  const extra = positionals[ARGUMENTS[command] ? 2 : 1];
  if (extra !== undefined) {
    throw new ConfigError(
      extra,
      `unexpected argument after '${command}'; every setting is a --flag`,
    );
  }
  return command;
}

/**
 * The argument of a command that takes one (`sql QUERY`, `db serve`), checked; undefined for the
 * others. Throws {@linkcode ConfigError} when it is missing or not one the command knows.
 */
export function commandArgument(command: Command, positionals: string[]): string | undefined {
  const takes = ARGUMENTS[command];
  if (!takes) return undefined;
  const argument = positionals[1];
  if (argument === undefined || argument.trim() === "") {
    const example = takes.only ? `'${command} ${takes.only[0]}'` : `'${command} "select 1"'`;
    throw new ConfigError(command, `expects ${takes.name}, as in ${example}`);
  }
  if (takes.only && !takes.only.includes(argument)) {
    throw new ConfigError(
      command,
      `unknown action '${argument}' (expected ${takes.only.join(" or ")})`,
    );
  }
  return argument;
}

/** `stauts: unknown command (did you mean status? …)`: the name once, the nearest command. */
function unknownCommand(name: string): ConfigError {
  const near = closest(name, COMMANDS);
  const hint = near ? `did you mean ${near}?` : `expected ${COMMAND_LIST};`;
  return new ConfigError(name, `unknown command (${hint} --help lists them)`);
}

type FlagOptions = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

/** Every flag of every command: the settings' flags and the few that are no setting. */
function flagOptions(): FlagOptions {
  const options: FlagOptions = {
    account: { type: "string", multiple: true },
    resume: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  };
  for (const setting of Object.values(SETTINGS)) {
    options[setting.flag] = { type: "boolean" in setting ? "boolean" : "string" };
  }
  return options;
}

/** Every flag of every command, parsed strictly: an unknown flag throws a one-line ConfigError. */
export function parseFlags(args: string[]) {
  const options = flagOptions();
  // Not `strict`: its errors say what is wrong only in their text; the tokens say it as data.
  const result = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of result.tokens) {
    if (token.kind === "option") checkFlag(token, options);
  }
  if (result.values.help) result.positionals.unshift("help");
  return result;
}

/** Throws one line naming a flag that is unknown, lacks its value or has one it does not take. */
function checkFlag(
  token: { name: string; rawName: string; value?: string; inlineValue?: boolean },
  options: FlagOptions,
): void {
  const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
  if (option === undefined) {
    const near = closest(token.rawName.replace(/^-+/, ""), Object.keys(options));
    const hint = near ? `did you mean --${near}? ` : "";
    throw new ConfigError(token.rawName, `unknown flag (${hint}--help lists them)`);
  }
  const flag = `--${token.name}`;
  if (option.type === "boolean") {
    if (token.value !== undefined) throw new ConfigError(flag, "takes no value");
    return;
  }
  if (token.value === undefined) throw new ConfigError(flag, "expects a value (--help lists them)");
  // A separate value that looks like a flag most likely is the next flag: this one's value is
  // missing. One that truly starts with '-' is attached with '='.
  if (!token.inlineValue && token.value.startsWith("-") && token.value.length > 1) {
    throw new ConfigError(flag, `expects a value (write ${flag}=VALUE for one starting with '-')`);
  }
}

/** The name nearest to `typo` by edit distance, if it is near enough to be a typo. */
function closest(typo: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typo, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(typo.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
