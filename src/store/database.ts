import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import postgres from "postgres";
import { deadline } from "../deadline.ts";
import { StoreError } from "../errors.ts";
import type { EmbeddedReply, EmbeddedRequest } from "./embedded_worker.ts";

/** Where the data lives: a PostgreSQL server, or the embedded PGlite under the state dir. */
export interface DatabaseOptions {
  /**
   * A `postgres://` URL of a PostgreSQL server.
   * @default undefined (the embedded PGlite in `<stateDir>/pgdata`)
   */
  url?: string;
  /**
   * The state directory; the embedded database lives in its `pgdata` folder.
   * @default ".adsync" (applied by the configuration, which always passes it)
   */
  stateDir: string;
  /**
   * Connections to a server, shared by every account of the process (the embedded database
   * always has one). @default 4
   */
  poolSize?: number;
  /**
   * How long the first connection may take before the database counts as unreachable.
   * @default 10_000
   */
  connectTimeoutMs?: number;
}

/** An open database: one postgres.js handle, whatever the backend. */
export interface Database {
  /** postgres.js handle; every query of the store goes through it. */
  sql: postgres.Sql;
  /** Which backend answers the queries. */
  kind: "server" | "embedded";
  /** The database in messages, without a password: "PostgreSQL at 127.0.0.1:5432/adsync". */
  label: string;
  /**
   * Ends the connections without waiting for queries still pending (a frozen server would never
   * answer them) and, for the embedded backend, stops PGlite; safe to call twice.
   */
  close(): Promise<void>;
}

const SERVER_POOL_SIZE = 4;

const log = getLogger(["adsync", "store"]);

/** Opens the server at `url`, or the embedded PGlite when there is none; throws StoreError. */
export function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { url, stateDir, connectTimeoutMs = 10_000, poolSize = SERVER_POOL_SIZE } = options;
  return url === undefined
    ? openEmbedded(stateDir, connectTimeoutMs)
    : openServer(url, connectTimeoutMs, poolSize);
}

async function openServer(url: string, timeoutMs: number, poolSize: number): Promise<Database> {
  let sql: postgres.Sql;
  try {
    sql = postgres(url, {
      max: poolSize,
      connect_timeout: timeoutMs / 1000,
      onnotice: () => {},
    });
  } catch {
    // postgres.js quotes the whole URL, password included, in its message.
    throw new StoreError("Cannot connect to PostgreSQL: the database URL is not a valid URL");
  }
  const { host, port, database, pass } = sql.options;
  const where = `${host.map((h, i) => `${h}:${port[i] ?? port[0]}`).join(",")}/${database}`;
  try {
    await probe(sql, timeoutMs);
  } catch (error) {
    await sql.end({ timeout: 0 });
    const reason = describeConnectError(error, timeoutMs, typeof pass === "string" ? pass : "");
    throw new StoreError(`Cannot connect to PostgreSQL at ${where}: ${reason}`, { cause: error });
  }
  // Every query the run waits for has settled by now: only abandoned ones are left to cut.
  const close = once(() => sql.end({ timeout: 0 }));
  return { sql, kind: "server", label: `PostgreSQL at ${where}`, close };
}

/** Thrown by `probe` when the first query gets no answer in time. */
class ProbeTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs / 1000} s`);
    this.name = "ProbeTimeout";
  }
}

/**
 * Runs a first query, giving up after `timeoutMs`: postgres.js's own connect_timeout stops
 * applying when a peer accepts and then hangs up, and it would reconnect forever.
 */
async function probe(sql: postgres.Sql, timeoutMs: number): Promise<void> {
  await deadline(sql`select 1`.then(() => {}), timeoutMs, { reason: new ProbeTimeout(timeoutMs) });
}

function describeConnectError(error: unknown, timeoutMs: number, password: string): string {
  const code = (error as { code?: unknown })?.code;
  const reason = code === "ECONNREFUSED"
    ? "connection refused"
    : code === "ENOTFOUND" || code === "EAI_AGAIN"
    ? "host not found"
    : code === "CONNECT_TIMEOUT" || error instanceof ProbeTimeout
    ? `no answer within ${timeoutMs / 1000} s`
    : error instanceof Error
    ? error.message
    : String(error);
  const oneLine = reason.replace(/\s+/g, " ").trim();
  // Defence in depth: no error of ours or of a driver may ever echo the password.
  if (!password) return oneLine;
  return oneLine.replaceAll(password, "***").replaceAll(encodeURIComponent(password), "***");
}

async function openEmbedded(stateDir: string, timeoutMs: number): Promise<Database> {
  const dataDir = join(stateDir, "pgdata");
  const fail = (reason: string, cause?: unknown) =>
    new StoreError(`Cannot open the embedded database at ${dataDir}: ${reason}`, { cause });

  try {
    await Deno.mkdir(stateDir, { recursive: true });
  } catch (error) {
    throw fail(`cannot create the state directory (${errorText(error)})`, error);
  }
  // PGlite has no postmaster.pid of its own: two processes would write the same files.
  const lock = await acquireLock(join(stateDir, "pgdata.lock"), fail);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.close()];
  // Every step runs even if an earlier one fails, so that the lock is always released.
  const cleanup = async () => {
    const failures: unknown[] = [];
    for (const step of cleanups.reverse()) {
      await Promise.resolve().then(step).catch((error) => failures.push(error));
    }
    if (failures.length > 0) throw fail("it did not close cleanly", failures[0]);
  };

  try {
    const stat = await Deno.stat(dataDir).catch(() => null);
    if (stat && !stat.isDirectory) throw fail("it exists and is not a directory");
    if (!(await Deno.stat(join(dataDir, "PG_VERSION")).then(() => true, () => false))) {
      // The first start takes seconds of silence otherwise.
      log.info("Creating the embedded PostgreSQL in {dataDir} (first run: a few seconds)", {
        dataDir,
      });
    }

    const worker = new Worker(new URL("./embedded_worker.ts", import.meta.url).href, {
      type: "module",
    });
    cleanups.push(() => worker.terminate());
    const ask = (request: EmbeddedRequest) =>
      new Promise<EmbeddedReply>((resolve) => {
        worker.onmessage = (event: MessageEvent<EmbeddedReply>) => resolve(event.data);
        worker.onerror = (event) => {
          event.preventDefault();
          resolve({ type: "failed", stage: "start", message: event.message });
        };
        worker.postMessage(request);
      });
    const ready = await ask({ type: "open", dataDir });
    if (ready.type === "failed" && ready.stage === "start") {
      // Emscripten appends build advice to its aborts; the user has no build to change.
      const detail = ready.message.replace(/\.?\s*Build with -sASSERTIONS.*$/, "");
      throw fail(
        `PGlite cannot start (${detail}); the data directory may be corrupt, ` +
          "move it aside to start afresh",
      );
    }
    if (ready.type !== "ready") throw fail(`PGlite cannot listen (${describe(ready)})`);
    cleanups.push(async () => {
      // A worker that never answers must not hang the exit: terminate() follows regardless.
      const late: EmbeddedReply = { type: "closed", error: "no answer" };
      const closed = await deadline(ask({ type: "close" }), timeoutMs, { reason: late })
        .catch((error) => error === late ? late : Promise.reject(error));
      if (closed.type === "closed" && closed.error) throw new Error(closed.error);
    });
    const { host, port } = ready;

    const sql = postgres({
      host,
      port,
      database: "postgres",
      username: "postgres",
      max: 1,
      max_lifetime: null,
      connect_timeout: timeoutMs / 1000,
      onnotice: () => {},
    });
    cleanups.push(() => sql.end({ timeout: 0 }));
    await probe(sql, timeoutMs).catch((error) => {
      throw fail(`postgres.js cannot reach PGlite (${errorText(error)})`, error);
    });
    const label = `the embedded PostgreSQL at ${dataDir}`;
    return { sql, kind: "embedded", label, close: once(cleanup) };
  } catch (error) {
    await cleanup().catch(() => {}); // the first failure is the one worth reporting
    throw error instanceof StoreError ? error : fail(errorText(error), error);
  }
}

async function acquireLock(
  path: string,
  fail: (reason: string, cause?: unknown) => StoreError,
): Promise<Deno.FsFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { create: true, write: true });
  } catch (error) {
    throw fail(`cannot create its lock file (${errorText(error)})`, error);
  }
  if (!(await file.tryLock(true))) {
    file.close();
    throw fail("another adsync process is using it (wait for it to finish, or stop it)");
  }
  return file;
}

function describe(reply: EmbeddedReply): string {
  return "message" in reply ? reply.message : reply.type;
}

function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message.split("\n")[0]!;
  const name = (error as { name?: unknown })?.name;
  return typeof name === "string" ? name : String(error);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
