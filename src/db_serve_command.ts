import type { Config } from "./config.ts";
import { type EmbeddedServer, startEmbedded } from "./store/embedded_server.ts";

/** What {@linkcode serveEmbeddedDatabase} needs besides the config. */
export interface ServeOptions {
  /** Ends the serving (Ctrl-C, SIGTERM). */
  signal: AbortSignal;
  /** Called once the database is open and listening. @default no-op */
  onReady?: (server: EmbeddedServer) => void;
}

/**
 * Serves the embedded database under `config.stateDir` over the PostgreSQL wire protocol on
 * 127.0.0.1 (`config.dbPort`) until `signal` aborts, holding the database's lock the whole time:
 * a sync, `sql` or another `db serve` started meanwhile is refused, and so is a bare PGlite.
 * One session at a time: PGlite is one backend, and two clients would interleave their
 * transactions.
 * @throws {StoreError} the database is open elsewhere, or the port cannot be listened on
 */
export async function serveEmbeddedDatabase(
  config: Readonly<Config>,
  options: ServeOptions,
): Promise<void> {
  const { signal, onReady = () => {} } = options;
  const server = await startEmbedded(config.stateDir, {
    opener: "db serve",
    port: config.dbPort,
    maxConnections: 1,
    timeoutMs: config.databaseTimeoutMs,
  });
  try {
    onReady(server);
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    await server.close();
  }
}

/** The URL a PostgreSQL client connects to the served database with (no password is asked). */
export function connectionUrl(server: Pick<EmbeddedServer, "host" | "port">): string {
  return `postgres://postgres@${server.host}:${server.port}/postgres`;
}
