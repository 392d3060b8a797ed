import postgres from "postgres";
import { deadline } from "../deadline.ts";
import { AdsyncError, StoreError } from "../errors.ts";
import { errorText, startEmbedded } from "./embedded_server.ts";

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
  /**
   * Who opens the embedded database (a command name), as a second opener's refusal names it.
   * @default "adsync"
   */
  opener?: string;
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

/** Opens the server at `url`, or the embedded PGlite when there is none; throws StoreError. */
export function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { url, stateDir, connectTimeoutMs = 10_000, poolSize = SERVER_POOL_SIZE } = options;
  return url === undefined
    ? openEmbedded(stateDir, connectTimeoutMs, options.opener)
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
class ProbeTimeout extends AdsyncError {
  constructor(timeoutMs: number) {
    super("DATABASE_UNAVAILABLE", `no answer within ${timeoutMs / 1000} s`);
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

async function openEmbedded(
  stateDir: string,
  timeoutMs: number,
  opener: string | undefined,
): Promise<Database> {
  const server = await startEmbedded(stateDir, { opener, timeoutMs });
  const { host, port, dataDir } = server;
  // One connection: PGlite is one backend session (see embedded_server.ts).
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
  const close = once(async () => {
    try {
      await sql.end({ timeout: 0 });
    } finally {
      await server.close();
    }
  });
  try {
    await probe(sql, timeoutMs);
  } catch (error) {
    await close().catch(() => {}); // the first failure is the one worth reporting
    throw new StoreError(
      `Cannot open the embedded database at ${dataDir}: postgres.js cannot reach PGlite ` +
        `(${errorText(error)})`,
      { cause: error },
    );
  }
  const label = `the embedded PostgreSQL at ${dataDir}`;
  return { sql, kind: "embedded", label, close };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
