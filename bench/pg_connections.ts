/**
 * Samples how many connections a PostgreSQL server holds for one database while a bench runs
 * (`pg_stat_activity`, client backends, the sampler's own connection left out), and keeps the
 * peak; and the transactions the database committed meanwhile (`pg_stat_database.xact_commit`),
 * the sampler's own left out.
 * @module
 */
import postgres from "postgres";

/** A sampler running until stopped. */
export interface ConnectionSampler {
  /** Stops and returns the most connections seen at once. */
  stop(): Promise<number>;
  /** After {@linkcode stop}: transactions committed in the database while it ran, its own aside. */
  transactions(): number | undefined;
}

/**
 * Transactions `sql`'s database has committed so far (`pg_stat_database.xact_commit`, which
 * counts a backend's transactions once it is idle a while or gone).
 */
export async function committed(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: string }[]>`
    SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()`;
  return Number(row?.n ?? 0);
}

/** Starts counting the connections to `databaseUrl`'s database every `intervalMs`. */
export function sampleConnections(databaseUrl: string, intervalMs = 200): ConnectionSampler {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let peak = 0;
  let stopped = false;
  let own = 0;
  let first: number | undefined;
  let total: number | undefined;
  const loop = (async () => {
    first = await committed(sql).catch(() => undefined);
    while (!stopped) {
      try {
        const [row] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend'
            AND pid <> pg_backend_pid()`;
        peak = Math.max(peak, row?.n ?? 0);
        own++;
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
      // Backends report their counts when idle or gone: give the last ones a moment.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const last = await committed(sql).catch(() => undefined);
      if (first !== undefined && last !== undefined) total = last - first - own - 2;
      await sql.end({ timeout: 5 });
      return peak;
    },
    transactions: () => total,
  };
}
