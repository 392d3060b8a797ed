/**
 * Each worker's PostgreSQL connections, by `application_name` in `pg_stat_activity`: its pool
 * (`adsync pool <id>`, named through `PGAPPNAME` by the bench) and its job queue's (pg-boss,
 * `adsync queue <id>`) together.
 * @module
 */
import type postgres from "postgres";

/**
 * Samples the database's connections every 200 ms, by `application_name`: each worker's pool
 * (`adsync pool <id>`) and queue (`adsync queue <id>`) together; keeps each worker's peak.
 */
export function sampleWorkerConnections(sql: postgres.Sql, database: string) {
  const peaks = new Map<string, number>();
  let total = 0;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql<{ name: string; n: number }[]>`
        select application_name as name, count(*)::int as n from pg_stat_activity
        where datname = ${database} group by 1`.catch(() => []);
      samples++;
      const byWorker = new Map<string, number>();
      for (const { name, n } of rows) {
        const worker = /^adsync (?:pool|queue) (\S+)$/.exec(name)?.[1];
        if (worker) byWorker.set(worker, (byWorker.get(worker) ?? 0) + n);
      }
      for (const [worker, n] of byWorker) peaks.set(worker, Math.max(peaks.get(worker) ?? 0, n));
      total = Math.max(total, [...byWorker.values()].reduce((a, b) => a + b, 0));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    stop: () => {
      stopped = true;
      return loop;
    },
    /** Statements the sampler ran, each its own transaction in the database. */
    samples: () => samples,
    peaks: () => ({ ...Object.fromEntries([...peaks].sort()), all_workers: total }),
  };
}
