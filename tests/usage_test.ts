import assert from "node:assert/strict";
import type { Command } from "../src/config.ts";
import { SETTINGS } from "../src/settings.ts";
import { commandUsage, topUsage } from "../src/usage.ts";

const COMMANDS: readonly Exclude<Command, "help">[] = [
  "sync",
  "check",
  "status",
  "worker",
  "sql",
  "db",
  "enqueue",
];
const WORKER_ONLY_FLAGS = ["--worker-accounts", "--worker-heartbeat", "--worker-id", "--schedule"];

/** The help's `Exit codes:` paragraph: its first line and the lines that continue it. */
function exitCodes(text: string): string {
  return /^Exit codes[^\n]*(\n\S[^\n]*)*$/m.exec(text)?.[0] ?? "";
}

/** The flags the help's settings rows name, in order. */
function settingFlags(text: string): string[] {
  const settings = text.split("Settings (flag, environment variable [default]):\n")[1] ?? "";
  return [...settings.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!);
}

Deno.test("Every help text fits an 80-column terminal", () => {
  for (const [name, text] of [["top", topUsage()], ...COMMANDS.map((c) => [c, commandUsage(c)])]) {
    for (const line of text!.split("\n")) {
      assert.ok(line.length <= 80, `${name}'s help has a ${line.length}-column line: ${line}`);
    }
  }
});

Deno.test("The worker's help lists every setting but db serve's port, with its variable", () => {
  const worker = commandUsage("worker");
  const db = commandUsage("db");
  for (const setting of Object.values(SETTINGS)) {
    const help = setting.env === "SYNC_DB_PORT" ? db : worker;
    assert.match(help, new RegExp(`^ {2}--${setting.flag}\\b.* ${setting.env}\\b`, "m"));
  }
  assert.equal(settingFlags(worker).length, Object.keys(SETTINGS).length - 1);
});

Deno.test("The worker's help lists its own settings first", () => {
  const flags = settingFlags(commandUsage("worker"));
  assert.deepEqual(flags.slice(0, WORKER_ONLY_FLAGS.length).sort(), [...WORKER_ONLY_FLAGS].sort());
});

Deno.test("sync and check leave out the worker's own settings and db serve's port", () => {
  for (const command of ["sync", "check"] as const) {
    const flags = settingFlags(commandUsage(command));
    for (const flag of [...WORKER_ONLY_FLAGS, "--port"]) {
      assert.ok(!flags.includes(flag), `${command} lists ${flag}`);
    }
    assert.equal(flags.length, Object.keys(SETTINGS).length - WORKER_ONLY_FLAGS.length - 1);
  }
});

Deno.test("status, enqueue, sql and db list only the settings they read", () => {
  assert.deepEqual(settingFlags(commandUsage("status")), [
    "--accounts-file",
    "--database-url",
    "--state-dir",
    "--log-level",
  ]);
  assert.deepEqual(settingFlags(commandUsage("enqueue")), [
    "--accounts-file",
    "--database-url",
    "--log-level",
    "--log-format",
  ]);
  assert.deepEqual(settingFlags(commandUsage("sql")), [
    "--database-url",
    "--state-dir",
    "--log-level",
  ]);
  assert.deepEqual(settingFlags(commandUsage("db")), ["--state-dir", "--log-level", "--port"]);
});

Deno.test("A setting shows its value's name and its default in words where a value needs them", () => {
  const sync = commandUsage("sync");
  assert.match(sync, /^ {2}--rate-limit N\/DUR\|auto\s+AD_PLATFORM_RATE_LIMIT \[auto\]$/m);
  assert.match(sync, /^ {2}--database-url URL\s+DATABASE_URL \[embedded\]$/m);
  assert.match(sync, /^ {2}--api-url URL\s+AD_PLATFORM_API_URL \[http:\/\/localhost:3001\]$/m);
  assert.match(
    sync,
    /^ {2}--allow-mass-delete {6}SYNC_ALLOW_MASS_DELETE \[false\]$/m,
    "a boolean takes no value",
  );
  // The words of a setting sit on their own line, under the variable.
  assert.match(sync, /AD_PLATFORM_EMAIL \[required\]\n {27}login email\n/);
});

Deno.test("Each command lists its own flags, and commands without any show no Flags section", () => {
  assert.match(commandUsage("sync"), /^Flags:\n {2}--resume {6}continue/m);
  assert.match(commandUsage("sync"), /^ {2}--account ID {2}sync only this account/m);
  assert.match(commandUsage("check"), /^ {2}--json {8}print what was checked/m);
  assert.match(commandUsage("enqueue"), /^ {2}--account ID {2}queue only this account/m);
  for (const command of ["worker", "db"] as const) {
    assert.doesNotMatch(commandUsage(command), /^Flags:/m, command);
  }
});

Deno.test("Each command's help gives its own exit codes", () => {
  const expected: Record<Exclude<Command, "help">, RegExp[]> = {
    sync: [/0 all synced/, /2 some failed/, /1 fatal/, /130 SIGINT/, /143 SIGTERM/, /75 --max/],
    check: [/0 every check passed/, /1 a problem/],
    status: [/0 shown/, /1 fatal/],
    worker: [/0 stopped by SIGTERM, SIGINT or SIGHUP/, /1 fatal/],
    enqueue: [/0 queued/, /1 fatal/],
    sql: [/0 rows printed/, /1 query refused/],
    db: [/0 stopped by Ctrl-C or SIGTERM/, /1 the database is open elsewhere/],
  };
  for (const command of COMMANDS) {
    const codes = exitCodes(commandUsage(command));
    for (const pattern of expected[command]) assert.match(codes, pattern, command);
    if (command !== "sync") assert.doesNotMatch(codes, /--resume|130|143|75 /, command);
  }
});

Deno.test("The top help names every command's task and gives sync's exit codes", () => {
  const top = topUsage();
  for (const command of COMMANDS) {
    assert.match(top, new RegExp(`deno task ${command}\\b`), command);
  }
  assert.match(top, /--version/);
  assert.match(exitCodes(top), /^Exit codes \(sync\): 0 all synced/);
});
