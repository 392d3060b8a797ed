import { getLogger } from "@logtape/logtape";
import type { JobWithMetadata, PgBoss } from "pg-boss";
import { type Clock, systemClock } from "../clock.ts";
import type { Config } from "../config.ts";
import { ConfigError, errorFields } from "../errors.ts";
import { createHostGates } from "../platform/host_gate.ts";
import { watchLoopLag } from "../platform/lateness.ts";
import { enqueueAccounts } from "../queue/enqueue.ts";
import {
  DEFAULT_HEARTBEAT_MS,
  openQueue,
  SYNC_QUEUE,
  type SyncJobData,
  TICK_QUEUE,
} from "../queue/queue.ts";
import { applySchedule } from "../queue/schedule.ts";
import { openPgCheckpoint } from "../store/pg_checkpoint.ts";
import type { Database } from "../store/database.ts";
import type { DatabaseGuard } from "../store/database_guard.ts";
import { createRunHistoryWriter } from "../store/run_history_writer.ts";
import { createCampaignWriter } from "../store/campaign_writer.ts";
import { createAccountLeases } from "../store/lease_keeper.ts";
import { WORKER_HOLDER_PREFIX } from "../queue/queue_state.ts";
import { openGuardedDatabase } from "../sync/sync_command.ts";
import type { RunEnvironment } from "../sync/account_types.ts";
import { type AccountJob, type AccountJobContext, runAccountJob } from "./account_job.ts";
import { startWorkerEndpoint, type WorkerEndpoint } from "./worker_endpoint.ts";
import { createRefill, queueRefillSource } from "./refill.ts";
import { createWorkerMetrics, type WorkerMetrics } from "./worker_metrics.ts";
import {
  BYTES_PER_ACCOUNT,
  defaultWorkerAccounts,
  fetchPlan,
  pollIntervalMs,
  QUEUE_POOL_SIZE,
  workerPoolSize,
} from "./worker_capacity.ts";

const log = getLogger(["adsync", "worker"]);

/**
 * What the worker command needs from its caller besides the config: every run's environment
 * (its `signal` also stops taking jobs), and more.
 */
export interface WorkerCommandOptions extends RunEnvironment {
  /** How often an idle worker looks for jobs. @default 2_000 */
  pollMs?: number;
  /** Memory available at start, in bytes, for the default accounts at once. @default the machine's */
  availableBytes?: number;
}

/** What a worker did before it stopped. */
export interface WorkerReport {
  worker: string;
  /** Jobs it took, whatever their end. */
  jobs: number;
}

/**
 * Waits for `signal`, then takes no more jobs and waits for the batches `inFlight` to end (their
 * runs stop and hand their jobs back).
 */
async function stopWhenAsked(
  signal: AbortSignal,
  boss: PgBoss,
  at: { workerId: string; endpoint: WorkerEndpoint | undefined; inFlight: Set<Promise<unknown>> },
): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  log.info("Worker {worker} stopping: no new jobs; handing back {count} in progress", {
    worker: at.workerId,
    count: at.inFlight.size,
  });
  at.endpoint?.polling(undefined);
  await Promise.allSettled([boss.offWork(SYNC_QUEUE, { wait: false }), boss.offWork(TICK_QUEUE)]);
  await Promise.allSettled([...at.inFlight]);
}

/** Queues every account of the accounts file on each tick of the schedule (`SYNC_SCHEDULE`). */
async function workScheduleTicks(
  boss: PgBoss,
  config: Readonly<Config>,
  at: { workerId: string; pollMs: number },
): Promise<void> {
  const pollingIntervalSeconds = Math.max(0.5, at.pollMs / 1_000);
  await boss.work(TICK_QUEUE, { pollingIntervalSeconds }, async () => {
    const ids = config.accounts.map((a) => a.clientId);
    const { queued, skipped } = await enqueueAccounts(boss, ids);
    log.info("Schedule tick: queued {queued} accounts, {skipped} already queued or running", {
      queued: queued.length,
      skipped: skipped.length,
      worker: at.workerId,
    });
  });
}

/**
 * Runs one job of the queue, counted in `report` and followed by the worker's metrics; resolves
 * whether the job drove its account (its run was chosen), as the refill asks.
 */
function jobRunner(
  context: Omit<AccountJobContext, "onRun" | "onOutcome">,
  counts: { metrics: WorkerMetrics; report: WorkerReport },
): (job: AccountJob) => Promise<boolean> {
  const { metrics, report } = counts;
  return async (job) => {
    report.jobs++;
    const tracked = metrics.track();
    let drove = false;
    await runAccountJob(job, {
      ...context,
      onRun: (started) => {
        drove = true;
        tracked.follow(started);
      },
      onOutcome: (outcome) => {
        // The run has ended: no longer in progress, though its job settles after.
        tracked.end();
        const ok = outcome.summary.status === "ok";
        return metrics.record({
          ...outcome,
          lastSuccessUnix: ok ? Math.floor(Date.now() / 1_000) : null,
        });
      },
    }).finally(tracked.end);
    return drove;
  };
}

/** This worker's name: `SYNC_WORKER_ID`, or hostname-pid. */
export function workerIdOf(config: Readonly<Config>): string {
  return config.workerId ?? `${Deno.hostname()}-${Deno.pid}`;
}

/**
 * Accounts this worker runs at once: `SYNC_WORKER_ACCOUNTS`, else derived from the work (its
 * accounts and the memory available), logged.
 */
export function workerAccountsOf(config: Readonly<Config>, availableBytes?: number): number {
  if (config.workerAccounts !== undefined) return config.workerAccounts;
  const available = availableBytes ?? availableMemory();
  const workerAccounts = defaultWorkerAccounts({
    accounts: config.accounts.length,
    availableBytes: available,
  });
  log.info(
    "SYNC_WORKER_ACCOUNTS unset: {workerAccounts} accounts at once (of {accounts} in the " +
      "accounts file; about {mb} MB at {each} MB each, within half the memory available)",
    {
      workerAccounts,
      accounts: config.accounts.length,
      mb: Math.round((workerAccounts * BYTES_PER_ACCOUNT) / 2 ** 20),
      each: BYTES_PER_ACCOUNT / 2 ** 20,
    },
  );
  return workerAccounts;
}

/** The machine's memory available now; unknown (no `--allow-sys`): no bound from memory. */
function availableMemory(): number {
  try {
    return Deno.systemMemoryInfo().available;
  } catch {
    return Infinity;
  }
}

/**
 * Runs a worker until `signal`: sets up what the process shares (database pool, migrations, host
 * gates, the checkpoint in PostgreSQL; no state dir), joins the job queue in the `DATABASE_URL`
 * server, applies the schedule, and
 * runs up to {@linkcode workerAccountsOf} account jobs at once, each under its account's lease.
 * On `signal` it stops taking jobs, stops the accounts in progress (their checkpoint saved) and
 * hands their jobs back for immediate pickup by another worker, then returns.
 */
export async function runWorkerCommand(
  config: Readonly<Config>,
  options: WorkerCommandOptions = {},
): Promise<WorkerReport> {
  const { clock = systemClock, signal = new AbortController().signal, pollMs = 2_000 } = options;
  const url = config.databaseUrl;
  if (url === undefined) {
    throw new ConfigError("DATABASE_URL", "is required for worker: the queue lives in a server");
  }
  const workerId = workerIdOf(config);
  const workerAccounts = workerAccountsOf(config, options.availableBytes);
  config = { ...config, workerAccounts };
  const { db, guard } = await openGuardedDatabase(config, {
    url,
    // Leases are rows, not connections: the accounts share one pool, whatever their number.
    poolSize: workerPoolSize(workerAccounts),
    clock,
    signal: options.wireSignal ?? signal,
  });
  const metrics = createWorkerMetrics(workerId, config.metricsFile);
  let endpoint: WorkerEndpoint | undefined;
  try {
    endpoint = startWorkerEndpoint(config, {
      workerId,
      metrics,
      sql: db.sql,
      label: db.label,
      signal,
    });
    const shared = workerResources(config, { db, guard }, workerId, clock);
    const { hostGates } = shared;
    const live = { metrics, endpoint };
    // A busy machine's held event loop widens the limiters' margin, as in a sync.
    const stopWatching = watchLoopLag(hostGates.noteStall);
    try {
      return await work(config, workerId, shared, { ...options, clock, signal, pollMs, url, live });
    } finally {
      stopWatching();
      hostGates.close();
    }
  } finally {
    await endpoint?.close();
    await db.close();
  }
}

/** What every account of the worker shares: the checkpoint and leases in the server, the gates. */
function workerResources(
  config: Readonly<Config>,
  opened: { db: Database; guard: DatabaseGuard },
  workerId: string,
  clock: Clock,
): Omit<AccountJobContext["run"], keyof RunEnvironment> {
  const { db, guard } = opened;
  return {
    // Its config resumes (config.resume and every plan's): a worker always continues an
    // account's latest unfinished run, wherever it ran.
    config,
    sql: db.sql,
    guard,
    // In the server, not on this machine: whichever worker takes an account next resumes its
    // run exactly, and primes its limiter with the sends of the worker before it.
    checkpoint: openPgCheckpoint(db.sql, { where: db.label, guard, clock }),
    checkpointInServer: true,
    hostGates: createHostGates({ maxInFlight: config.maxInFlight }),
    runs: createRunHistoryWriter(db.sql, guard, { clock }),
    campaigns: createCampaignWriter(db.sql, guard, { clock }),
    leases: createAccountLeases(db.sql, guard, {
      holder: `${WORKER_HOLDER_PREFIX}${workerId}`,
      ttlMs: config.workerHeartbeatMs,
      clock,
    }),
  };
}

async function work(
  config: Readonly<Config>,
  workerId: string,
  shared: Omit<AccountJobContext["run"], keyof RunEnvironment>,
  options: WorkerCommandOptions & {
    signal: AbortSignal;
    pollMs: number;
    url: string;
    live: { metrics: WorkerMetrics; endpoint: WorkerEndpoint | undefined };
  },
): Promise<WorkerReport> {
  const { signal, live: { metrics, endpoint } } = options;
  const { fetch, clock, wireSignal, onToken } = options;
  const run: AccountJobContext["run"] = { ...shared, fetch, clock, signal, wireSignal, onToken };
  const plan = fetchPlan(config.workerAccounts!);
  const pollMs = pollIntervalMs(plan.fetchers, options.pollMs);
  const boss = await openQueue(options.url, {
    heartbeatMs: config.workerHeartbeatMs,
    poolSize: QUEUE_POOL_SIZE,
    applicationName: `adsync queue ${workerId}`,
  });
  const report: WorkerReport = { worker: workerId, jobs: 0 };
  const inFlight = new Set<Promise<unknown>>();
  try {
    await applySchedule(boss, config.schedule);
    const accounts = new Map(config.accounts.map((a) => [a.clientId, a]));
    await workScheduleTicks(boss, config, { workerId, pollMs: options.pollMs });
    const refill = createRefill(queueRefillSource(boss, signal), {
      heartbeatMs: (config.workerHeartbeatMs ?? DEFAULT_HEARTBEAT_MS) / 2,
    });
    const runJob = jobRunner({
      boss,
      workerId,
      accounts,
      run,
      lockRetryMs: config.workerHeartbeatMs,
    }, { metrics, report });
    await boss.work(SYNC_QUEUE, {
      pollingIntervalSeconds: pollMs / 1_000,
      localConcurrency: plan.fetchers,
      batchSize: plan.batchSize,
      includeMetadata: true,
    }, (jobs: JobWithMetadata<SyncJobData>[]) => {
      const handling = refill.runBatch(jobs, runJob);
      inFlight.add(handling);
      return handling.finally(() => inFlight.delete(handling));
    });
    endpoint?.polling(boss);
    log.info("Worker {worker} takes up to {accounts} accounts at once", {
      worker: workerId,
      accounts: config.workerAccounts,
    });
    await stopWhenAsked(signal, boss, { workerId, endpoint, inFlight });
    return report;
  } finally {
    await boss.stop({ graceful: true, close: true, timeout: 2_000 }).catch((error) =>
      log.warn("Cannot stop the job queue cleanly: {error}", errorFields(error))
    );
  }
}
