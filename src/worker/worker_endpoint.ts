import type { PgBoss } from "pg-boss";
import type postgres from "postgres";
import type { Config } from "../config.ts";
import { type HttpEndpoint, startHttpEndpoint } from "../report/http_endpoint.ts";
import { createLiveRegistry, type LiveMetrics } from "../report/live_metrics.ts";
import { SYNC_QUEUE } from "../queue/queue.ts";
import { queueJobCounts } from "../queue/queue_state.ts";
import { answerWithin, pingDatabase } from "../store/database_ping.ts";
import type { WorkerMetrics } from "./worker_metrics.ts";

/** How long a scrape waits for the queue's counts. */
const QUEUE_STATS_TIMEOUT_MS = 2_000;

/** What the worker's endpoint reads. */
export interface WorkerEndpointOptions {
  workerId: string;
  metrics: WorkerMetrics;
  /** The worker's database pool, pinged by `/readyz`. */
  sql: postgres.Sql;
  /** The database in messages, without a password. */
  label: string;
  /** The worker's stop: once it fires, the worker is no longer ready. */
  signal: AbortSignal;
}

/** A worker's live endpoint. */
export interface WorkerEndpoint extends HttpEndpoint {
  /** The queue is being polled through `boss` from now on (`undefined`: no longer). */
  polling(boss: PgBoss | undefined): void;
}

/**
 * Serves a worker's `/metrics` (its jobs in progress, the queue's jobs, each account's last run,
 * labelled `worker`), `/healthz` and `/readyz` (ready while the database answers and the queue is
 * polled) on `config.httpHost:config.httpPort`; `undefined` when no port is set.
 */
export function startWorkerEndpoint(
  config: Readonly<Config>,
  options: WorkerEndpointOptions,
): WorkerEndpoint | undefined {
  if (config.httpPort === undefined) return undefined;
  const { metrics, sql, label, signal } = options;
  let boss: PgBoss | undefined;
  const live = async (): Promise<LiveMetrics> => {
    const queue = boss && await answerWithin(queueJobCounts(sql), QUEUE_STATS_TIMEOUT_MS);
    return { ...metrics.live(), ...(queue ? { queue } : {}) };
  };
  const endpoint = startHttpEndpoint({
    port: config.httpPort,
    hostname: config.httpHost,
    metrics: createLiveRegistry({
      labels: { worker: options.workerId },
      runs: () => metrics.runs(),
      totals: () => metrics.totals(),
      live,
      queue: true,
    }),
    ready: async () => {
      if (signal.aborted) return "the worker is stopping";
      if (!boss) return "the queue is not polled yet";
      const failing = queueFailing(boss);
      if (failing) return failing;
      return await pingDatabase(sql) ? undefined : `${label} does not answer`;
    },
  });
  return { ...endpoint, polling: (next) => boss = next };
}

/** Why the queue is not being polled, or `undefined` when it is. */
function queueFailing(boss: PgBoss): string | undefined {
  const pollers = boss.getWipData().filter((w) => w.name === SYNC_QUEUE && w.state === "active");
  if (pollers.length === 0) return "the queue is not polled";
  // Every poller's latest fetch failed: the queue's database is out of reach.
  const failed = pollers.every((w) =>
    w.lastErrorOn !== null && (w.lastFetchedOn ?? 0) < w.lastErrorOn
  );
  return failed ? "the queue's last poll failed" : undefined;
}
