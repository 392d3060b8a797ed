/**
 * Helpers of the end-to-end suites: spawn the real CLI against an in-process mock, wait for
 * things to happen (bounded), read its output, and give each test a database of its own.
 */
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import type { MockRequestLogEntry } from "../../mock-api/server.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";
import { createServerDatabase } from "../store/_helpers.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";

/** The repository root, where `main.ts` and `deno.json` live. */
export const PROJECT_DIR = fileURLToPath(new URL("../../", import.meta.url));

/** How a spawned sync ended. */
export interface SyncOutcome {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process whose output is collected as it comes. */
export interface SyncProcess {
  child: Deno.ChildProcess;
  pid: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once the process has exited and both streams are drained. */
  finished: Promise<SyncOutcome>;
  /** True once the process has exited. */
  exited(): boolean;
}

/** Options of {@linkcode syncEnv}. */
export interface SyncEnvOptions {
  /** The mock's base URL. */
  apiUrl: string;
  /** The state dir of the run (checkpoint, lock, embedded database). */
  stateDir: string;
  /** A `postgres://` URL; undefined runs on the embedded PGlite under the state dir. */
  databaseUrl?: string;
  /** Must match the mock's window. @default "10/1s" */
  rateLimit?: string;
  /** Extra variables, such as `SYNC_SHUTDOWN_GRACE`. @default {} */
  extra?: Record<string, string>;
}

/** The environment of a sync against the mock: nothing from the developer's leaks in. */
export function syncEnv(options: SyncEnvOptions): Record<string, string> {
  const { apiUrl, stateDir, databaseUrl, rateLimit = "10/1s", extra = {} } = options;
  const env: Record<string, string> = {
    AD_PLATFORM_API_URL: apiUrl,
    AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
    AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
    AD_PLATFORM_RATE_LIMIT: rateLimit,
    AD_PLATFORM_REQUEST_TIMEOUT: "2s",
    SYNC_STATE_DIR: stateDir,
    LOG_FORMAT: "json",
    ...extra,
  };
  if (databaseUrl !== undefined) env.DATABASE_URL = databaseUrl;
  return env;
}

/**
 * Spawns `deno run -A main.ts <command> <args>` (command `sync` unless given) in the project with
 * exactly `env` (plus PATH, HOME and DENO_DIR, so Deno finds its cache).
 */
export function spawnSync(
  env: Record<string, string>,
  args: string[] = [],
  command = "sync",
): SyncProcess {
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", command, ...args],
    cwd: PROJECT_DIR,
    env: { ...inherited, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  let hasExited = false;
  const drain = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) add(text);
  };
  const streams = Promise.all([
    drain(child.stdout, (text) => out += text),
    drain(child.stderr, (text) => err += text),
  ]);
  const finished = (async () => {
    const status = await child.status;
    hasExited = true;
    await streams;
    return { code: status.code, signal: status.signal, stdout: out, stderr: err };
  })();
  return {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    finished,
    exited: () => hasExited,
  };
}

/** Runs a sync to its end. */
export function runSync(env: Record<string, string>, args: string[] = []): Promise<SyncOutcome> {
  return spawnSync(env, args).finished;
}

/** The last non-empty stdout line parsed as JSON: the `--json` run summary. */
export function lastJsonLine(stdout: string): Record<string, unknown> {
  const line = stdout.trimEnd().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`The last stdout line is not JSON: ${JSON.stringify(line)}\n${stdout}`);
  }
}

/** The stderr lines that are JSON log records, parsed; other lines are left out. */
export function logRecords(stderr: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      // A line cut short by a kill is not a record.
    }
  }
  return records;
}

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Give up after this long, failing with `what`. @default 60_000 */
  timeoutMs?: number;
  /** Pause between two checks. @default 50 */
  intervalMs?: number;
  /** A process whose exit means the condition can no longer come true. @default undefined */
  process?: SyncProcess;
}

/**
 * Polls `predicate` until it returns something other than `undefined`, `false` or `null`, and
 * returns that; fails naming `what` after the timeout, or as soon as `process` exits.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 50, process } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value !== undefined && value !== null && value !== false) return value;
    if (process?.exited()) {
      const outcome = await process.finished;
      throw new Error(
        `Gave up waiting for ${what}: the sync exited with ${outcome.code}\n` +
          `stderr:\n${outcome.stderr}\nstdout:\n${outcome.stdout}`,
      );
    }
    if (Date.now() > deadline) {
      const tail = process ? `\nstderr so far:\n${process.stderr()}` : "";
      throw new Error(`Gave up waiting for ${what} after ${timeoutMs} ms${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until the mock's log stops growing for `quietMs` (held requests released, etc.). */
export async function waitForQuietLog(
  log: readonly MockRequestLogEntry[],
  quietMs: number,
  timeoutMs = 60_000,
): Promise<void> {
  let length = log.length;
  let since = Date.now();
  await waitFor(
    () => {
      if (log.length !== length) {
        length = log.length;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    "the mock's request log to settle",
    { timeoutMs },
  );
}

/** A database of its own on the test server, and how to drop it. */
export interface FreshDatabase {
  url: string;
  /** A small connection pool on the database, for assertions. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

/**
 * The server the e2e suites use: the one TEST_DATABASE_URL names, or else a throwaway one the
 * tests start themselves (tests/_test_server.ts).
 */
export function testServerUrl(): string {
  return TEST_SERVER_URL;
}

/** Registers a test that needs the PostgreSQL server. */
export function serverTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, fn);
}

/** Creates an empty database on the test server, with a small pool on it for assertions. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const database = await createServerDatabase(testServerUrl());
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  return {
    url: database.url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await database.drop();
    },
  };
}

/** Creates a temporary state dir. */
export function tempStateDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "adsync_e2e_" });
}

/** Removes a temporary dir, ignoring one that is already gone. */
export async function removeDir(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Log entries of sync requests. */
export function syncEntries(log: readonly MockRequestLogEntry[]): MockRequestLogEntry[] {
  return log.filter((entry) => entry.campaignId !== undefined && entry.path.endsWith("/sync"));
}

/** Log entries of list requests. */
export function pageEntries(log: readonly MockRequestLogEntry[]): MockRequestLogEntry[] {
  return log.filter((entry) => entry.path === "/api/campaigns");
}
