import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { deadline } from "../deadline.ts";
import { StoreError } from "../errors.ts";
import { acquireEmbeddedLock } from "./embedded_lock.ts";
import type { EmbeddedReply, EmbeddedRequest } from "./embedded_worker.ts";
import { workerRequests } from "./worker_requests.ts";

/** Options of {@linkcode startEmbedded}. */
export interface EmbeddedServerOptions {
  /** Who opens it (a command name), as a second opener's refusal names it. @default "adsync" */
  opener?: string;
  /** The port on 127.0.0.1. @default 0 (a free one) */
  port?: number;
  /**
   * Connections served at once. PGlite is one backend session: two busy clients interleave
   * their messages, so a second slot is only for a reconnect overlap or a cancel request.
   * @default 2
   */
  maxConnections?: number;
  /** How long PGlite may take to answer a close before its thread is ended. @default 10_000 */
  timeoutMs?: number;
}

/** The embedded PGlite, open under its lock and served on a local socket. */
export interface EmbeddedServer {
  host: string;
  port: number;
  /** Its data directory: `<stateDir>/pgdata`. */
  dataDir: string;
  /** Who holds it: "sync (pid 123)". */
  holder: string;
  /** Stops the server and PGlite, then releases the lock; safe to call twice. */
  close(): Promise<void>;
}

const log = getLogger(["adsync", "store"]);

/**
 * Takes the embedded database's lock (see embedded_lock.ts), starts PGlite on a worker thread,
 * so PostgreSQL's work never blocks the caller's event loop, and serves it on 127.0.0.1 only:
 * the socket server asks for no password.
 * @throws {StoreError} (an `EmbeddedBusyError` when another process has it open)
 */
export async function startEmbedded(
  stateDir: string,
  options: EmbeddedServerOptions = {},
): Promise<EmbeddedServer> {
  const { opener = "adsync", port = 0, maxConnections = 2, timeoutMs = 10_000 } = options;
  const dataDir = join(stateDir, "pgdata");
  const fail = (reason: string, cause?: unknown) =>
    new StoreError(`Cannot open the embedded database at ${dataDir}: ${reason}`, { cause });
  try {
    await Deno.mkdir(stateDir, { recursive: true });
  } catch (error) {
    throw fail(`cannot create the state directory (${errorText(error)})`, error);
  }
  const lock = await acquireEmbeddedLock(stateDir, opener);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
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
    const { ask } = workerRequests<EmbeddedRequest, EmbeddedReply>(
      worker,
      (message) => ({ type: "failed", stage: "start", message }),
    );
    const ready = await ask({ type: "open", dataDir, holder: lock.holder, port, maxConnections });
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
      // A thread that died answers at once with its own error.
      if (closed.type === "failed") throw new Error(`its thread failed (${closed.message})`);
      if (closed.type === "closed" && closed.error) throw new Error(closed.error);
    });
    const close = once(cleanup);
    return { host: ready.host, port: ready.port, dataDir, holder: lock.holder, close };
  } catch (error) {
    await cleanup().catch(() => {}); // the first failure is the one worth reporting
    throw error instanceof StoreError ? error : fail(errorText(error), error);
  }
}

function describe(reply: EmbeddedReply): string {
  return "message" in reply ? reply.message : reply.type;
}

/** The first line of an error's message, or its name. */
export function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message.split("\n")[0]!;
  const name = (error as { name?: unknown })?.name;
  return typeof name === "string" ? name : String(error);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
