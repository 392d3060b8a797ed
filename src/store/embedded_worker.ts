/**
 * Runs the embedded PGlite and its socket server on a worker thread, so PostgreSQL's work never
 * blocks the sync's event loop (a blocked loop sends requests later than the rate limiter
 * stamped them, and the platform would answer 429).
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { errorMessage } from "../errors.ts";
import { markDataDir } from "./embedded_lock.ts";

/** What the opener asks of the worker. */
export type EmbeddedRequest =
  | { type: "open"; dataDir: string; holder: string; port: number; maxConnections: number }
  | { type: "close" };
/** What the worker answers. */
export type EmbeddedReply =
  | { type: "ready"; host: string; port: number }
  | { type: "failed"; stage: "start" | "listen"; message: string }
  | { type: "closed"; error?: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<EmbeddedRequest>) => void) | null;
  postMessage(reply: EmbeddedReply): void;
};

let db: PGlite | undefined;
let server: PGLiteSocketServer | undefined;

function firstLine(error: unknown): string {
  return errorMessage(error).split("\n")[0]!;
}

async function open(request: Extract<EmbeddedRequest, { type: "open" }>): Promise<void> {
  const { dataDir, holder, port, maxConnections } = request;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    return scope.postMessage({ type: "failed", stage: "start", message: firstLine(error) });
  }
  try {
    // At once: until then, another PGlite would take PGlite's own postmaster.pid for stale.
    markDataDir(dataDir, holder);
    // Localhost only: the socket server asks for no password.
    server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections });
    await server.start();
    const [host = "127.0.0.1", listening = ""] = server.getServerConn().split(":");
    scope.postMessage({ type: "ready", host, port: Number(listening) });
  } catch (error) {
    scope.postMessage({ type: "failed", stage: "listen", message: firstLine(error) });
  }
}

async function close(): Promise<void> {
  const failures: string[] = [];
  await server?.stop().catch((error) => failures.push(firstLine(error)));
  await db?.close().catch((error) => failures.push(firstLine(error)));
  scope.postMessage({ type: "closed", ...(failures.length ? { error: failures[0] } : {}) });
}

scope.onmessage = (event) => {
  if (event.data.type === "open") void open(event.data);
  else void close();
};
