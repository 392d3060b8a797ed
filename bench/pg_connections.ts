/**
 * Samples how many connections a PostgreSQL server holds for one database while a bench runs
 * (`pg_stat_activity`, client backends, the sampler's own connection left out), and keeps the
 * peak.
 * @module
 */
import postgres from "postgres";

/** A sampler running until stopped. */
export interface ConnectionSampler {
  /** Stops and returns the most connections seen at once. */
  stop(): Promise<number>;
}

/** Starts counting the connections to `databaseUrl`'s database every `intervalMs`. */
export function sampleConnections(databaseUrl: string, intervalMs = 200): ConnectionSampler {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const [row] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend'
            AND pid <> pg_backend_pid()`;
        peak = Math.max(peak, row?.n ?? 0);
      } catch {
        // The server is busy or restarting: the next sample counts.
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await sql.end({ timeout: 5 });
      return peak;
    },
  };
}
