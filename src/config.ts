import { parseArgs } from "node:util";
import type { z } from "zod";
import { type AccountSettings, loadAccountsFile, printable } from "./accounts_file.ts";
import type { RateLimit } from "./duration.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import { readSecretFile } from "./secret_file.ts";
import { SETTINGS } from "./settings.ts";

export type { AccountSettings } from "./accounts_file.ts";

/** What adsync was asked to do. */
export type Command = "sync" | "status" | "worker" | "enqueue" | "help";

/** The default deadline of a list request (never above the request timeout). */
const DEFAULT_LIST_TIMEOUT_MS = 5_000;

const COMMANDS: readonly Command[] = ["sync", "status", "worker", "enqueue", "help"];

/** Log levels a user may ask for. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Everything a run needs to know, validated once at start-up. */
export interface Config {
  command: Command;
  /** The environment's account (`AD_PLATFORM_*`): its platform URL. */
  apiUrl: string;
  email: string;
  password: string;
  clientId: string;
  rateLimit: RateLimit;
  requestTimeoutMs: number;
  /** The deadline of a list request: `AD_PLATFORM_LIST_TIMEOUT`, else 5 s or the request timeout if shorter. */
  listTimeoutMs: number;
  pageSize: number;
  /** The accounts to sync: enabled ones, filtered by `--account`, in file order. */
  accounts: readonly AccountSettings[];
  /** `SYNC_ACCOUNTS_FILE`; unset: the environment's account is the only one. */
  accountsFile: string | undefined;
  /** Accounts in progress at once. */
  accountConcurrency: number;
  /** Unset: the embedded PostgreSQL under the state dir. */
  databaseUrl: string | undefined;
  /** The deadline of any one database operation. */
  databaseTimeoutMs: number;
  /** How long a run rides out an unreachable database before it stops, resumably. */
  databaseOutageMs: number;
  stateDir: string;
  logLevel: LogLevel;
  logFormat: "pretty" | "json";
  concurrency: number;
  maxPages: number;
  maxAttempts: number;
  /** First backoff ceiling of a retry; it doubles each attempt up to {@linkcode retryBackoffMaxMs}. */
  retryBackoffMs: number;
  /** Largest backoff ceiling; never below {@linkcode retryBackoffMs}. */
  retryBackoffMaxMs: number;
  maxDurationMs: number | undefined;
  metricsFile: string | undefined;
  resumeMaxAgeMs: number;
  shutdownGraceMs: number;
  /** Let a run mark more than half of an account's live campaigns deleted. */
  allowMassDelete: boolean;
  resume: boolean;
  json: boolean;
  /** Accounts one worker runs at once. */
  workerAccounts: number;
  /** How often a worker proves it is alive; a job silent this long is taken over. */
  workerHeartbeatMs: number;
  /** The worker's name in `status` and logs; unset: hostname-pid. */
  workerId: string | undefined;
  /** `SYNC_SCHEDULE`: a cron expression, `"off"`, or unset (leave the stored schedule alone). */
  schedule: string | undefined;
}

/** What {@linkcode loadConfig} may ask of the outside world. */
export interface LoadConfigOptions {
  /** Reads a secret file (`AD_PLATFORM_PASSWORD_FILE`). @default Deno.readTextFileSync */
  readTextFile?: (path: string) => string;
  /** Whether stderr is a terminal, for the default log format. @default false */
  isTerminal?: boolean;
}

type Settings = typeof SETTINGS;
type Parsed = { [K in keyof Settings]: z.output<Settings[K]["schema"]> | undefined };

/**
 * Reads settings from the environment, with flags overriding it, and validates them all.
 * Throws {@linkcode ConfigError} naming the first bad setting.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject(), Deno.args);
 * ```
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  args: string[],
  options: LoadConfigOptions = {},
): Readonly<Config> {
  const { readTextFile = Deno.readTextFileSync, isTerminal = false } = options;
  const { values, positionals } = parseFlags(args);
  const command = positionals[0] ?? "sync";
  if (!isCommand(command)) {
    throw new ConfigError(
      "command",
      `unknown command '${command}' (expected sync, worker, enqueue, status or help)`,
    );
  }
  if (positionals.length > 1) {
    throw new ConfigError("command", `unexpected argument '${positionals[1]}'`);
  }
  const parsed = {} as Record<string, unknown>;
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const flagValue = values[setting.flag];
    const fromFlag = typeof flagValue === "string" || flagValue === true;
    const raw = fromFlag ? String(flagValue) : env[setting.env] || undefined;
    const name = fromFlag ? `--${setting.flag}` : setting.env;
    const text = raw ?? ("fallback" in setting ? setting.fallback : undefined);
    if (text === undefined) continue;
    const result = (setting.schema as z.ZodType).safeParse(text);
    if (!result.success) throw new ConfigError(name, result.error.issues[0]?.message ?? "invalid");
    parsed[key] = result.data;
  }
  const p = parsed as Parsed;
  if (p.retryBackoffMaxMs! < p.retryBackoffMs!) {
    const name = (key: "retryBackoffMs" | "retryBackoffMaxMs") =>
      typeof values[SETTINGS[key].flag] === "string"
        ? `--${SETTINGS[key].flag}`
        : SETTINGS[key].env;
    throw new ConfigError(
      name("retryBackoffMaxMs"),
      `must be at least ${name("retryBackoffMs")} (${p.retryBackoffMs} ms)`,
    );
  }
  const fileSetting = typeof values["accounts-file"] === "string"
    ? "--accounts-file"
    : "SYNC_ACCOUNTS_FILE";
  const needsPlatform = command === "sync" || command === "worker";
  if ((command === "worker" || command === "enqueue") && p.databaseUrl === undefined) {
    throw new ConfigError(
      "DATABASE_URL",
      `is required for ${command}: workers share their queue through a PostgreSQL server`,
    );
  }
  const useFile = p.accountsFile !== undefined && command !== "help";
  const email = p.email ?? "";
  if (needsPlatform && !useFile && !email) {
    throw new ConfigError("AD_PLATFORM_EMAIL", "is required");
  }
  let envPassword: string | undefined;
  const password = () => envPassword ??= readPassword(env, p.passwordFile, readTextFile);
  const rateLimit = p.rateLimit!;
  const own: AccountSettings = {
    clientId: p.clientId!,
    apiUrl: p.apiUrl!,
    email,
    password: needsPlatform && !useFile ? password() : "",
    rateLimit,
    pageSize: p.pageSize!,
  };
  const picked = Array.isArray(values.account) ? values.account : [];
  const only = [...new Set(picked.filter((id) => typeof id === "string"))];
  const accounts = useFile
    ? loadAccountsFile(p.accountsFile!, { ...own, password }, {
      setting: fileSetting,
      only,
      env,
      readTextFile,
      needsCredentials: needsPlatform,
    })
    : [own];
  if (!useFile) {
    const unknown = only.find((id) => id !== own.clientId);
    if (unknown !== undefined) {
      throw new ConfigError(
        "--account",
        `unknown account '${printable(unknown)}' (the only account is '${own.clientId}' ` +
          "from AD_PLATFORM_CLIENT_ID; list more in SYNC_ACCOUNTS_FILE)",
      );
    }
  }
  return Object.freeze({
    command,
    apiUrl: own.apiUrl,
    email,
    password: needsPlatform ? envAccountPassword(useFile, password) : "",
    clientId: own.clientId,
    rateLimit,
    requestTimeoutMs: p.requestTimeoutMs!,
    listTimeoutMs: p.listTimeoutMs ?? Math.min(DEFAULT_LIST_TIMEOUT_MS, p.requestTimeoutMs!),
    pageSize: own.pageSize,
    accounts: Object.freeze(accounts.map((account) => Object.freeze(account))),
    accountsFile: useFile ? p.accountsFile : undefined,
    accountConcurrency: p.accountConcurrency!,
    databaseUrl: p.databaseUrl,
    databaseTimeoutMs: p.databaseTimeoutMs!,
    databaseOutageMs: p.databaseOutageMs!,
    stateDir: p.stateDir!,
    logLevel: p.logLevel! as LogLevel,
    logFormat: p.logFormat ?? (isTerminal ? "pretty" : "json"),
    concurrency: p.concurrency ?? Math.min(rateLimit.count, 20),
    maxPages: p.maxPages!,
    maxAttempts: p.maxAttempts!,
    retryBackoffMs: p.retryBackoffMs!,
    retryBackoffMaxMs: p.retryBackoffMaxMs!,
    maxDurationMs: p.maxDurationMs,
    metricsFile: p.metricsFile,
    resumeMaxAgeMs: p.resumeMaxAgeMs!,
    shutdownGraceMs: p.shutdownGraceMs!,
    allowMassDelete: p.allowMassDelete === true,
    resume: values.resume === true,
    json: values.json === true,
    workerAccounts: p.workerAccounts!,
    workerHeartbeatMs: p.workerHeartbeatMs!,
    workerId: p.workerId,
    schedule: p.schedule,
  });
}

function isCommand(command: string): command is Command {
  return (COMMANDS as readonly string[]).includes(command);
}

function parseFlags(args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    account: { type: "string", multiple: true },
    resume: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  };
  for (const setting of Object.values(SETTINGS)) {
    options[setting.flag] = { type: "boolean" in setting ? "boolean" : "string" };
  }
  try {
    const result = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (result.values.help) result.positionals.unshift("help");
    return result;
  } catch (error) {
    const message = errorMessage(error);
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? "arguments";
    throw new ConfigError(flag, message.split(". ")[0]!.replace(/^Option '[^']+' /, ""));
  }
}

/** The environment account's password; with a file, only if one is set (accounts may not need it). */
function envAccountPassword(useFile: boolean, password: () => string): string {
  if (!useFile) return password();
  try {
    return password();
  } catch (error) {
    if (error instanceof ConfigError) return "";
    throw error;
  }
}

function readPassword(
  env: Record<string, string | undefined>,
  file: string | undefined,
  readTextFile: (path: string) => string,
): string {
  if (env.AD_PLATFORM_PASSWORD && file) {
    throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", "set it or AD_PLATFORM_PASSWORD, not both");
  }
  if (env.AD_PLATFORM_PASSWORD) return env.AD_PLATFORM_PASSWORD;
  if (!file) {
    throw new ConfigError("AD_PLATFORM_PASSWORD", "is required (or AD_PLATFORM_PASSWORD_FILE)");
  }
  return readSecretFile(file, readTextFile, (reason) => {
    throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", reason);
  });
}
