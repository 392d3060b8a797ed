import { getLogger } from "@logtape/logtape";
import type { PgBoss } from "pg-boss";
import { planOf } from "../account_plan.ts";
import type { AccountSettings } from "../config.ts";
import { handBack, type HeldJob } from "../queue/hand_back.ts";
import { RETRY_LIMIT, SYNC_QUEUE, type SyncJobData } from "../queue/queue.ts";
import { errorMessage } from "../errors.ts";
import {
  type AccountOutcome,
  type AccountRun,
  type AccountRunOptions,
  runAccount,
  type SharedResources,
} from "../sync/account_run.ts";
import { type Deferral, deferralFor } from "./deferral.ts";
import { settleFinishedRun } from "./partial_retry.ts";

const log = getLogger(["adsync", "worker"]);

/** A job as the worker receives it from pg-boss (fetched with its metadata). */
export interface AccountJob extends HeldJob {
  data: SyncJobData;
  /** Aborted by pg-boss when the job is no longer this worker's (taken over after a silence). */
  signal: AbortSignal;
}

/** What the job handler needs besides the job. */
export interface AccountJobContext {
  boss: PgBoss;
  workerId: string;
  /** The accounts this worker has credentials for, by client id. */
  accounts: ReadonlyMap<string, AccountSettings>;
  /** What the process shares, with its account leases. */
  shared: SharedResources & { leases: NonNullable<SharedResources["leases"]> };
  /** Options of every account run; its `signal` is the worker's stop. */
  run: AccountRunOptions & { signal: AbortSignal };
  /** A job whose account another process holds comes back after at most this long. */
  lockRetryMs: number;
  /** Called with each run once chosen, to follow its progress. @default no-op */
  onRun?: (run: AccountRun) => void;
  /** Called with each finished run. @default no-op */
  onOutcome?: (outcome: AccountOutcome) => void | Promise<void>;
}

/**
 * Runs one account-sync job: takes the account's lease (handing the job back for later if
 * another process holds it), runs the account (resuming its latest unfinished run), releases the
 * lease, and settles the job itself through the database guard, so that a job whose run ended
 * during a database outage still settles once the database is back. A run stopped by the
 * worker's own shutdown, or by a lease lost to another process, is handed back; a failed run
 * fails the try (pg-boss retries it); an ok run completes the job with its summary, and so does
 * a partial one unless campaigns failed that a later try may mend (see partial_retry.ts).
 */
export async function runAccountJob(
  job: AccountJob,
  context: AccountJobContext,
): Promise<undefined> {
  const { workerId, shared, run } = context;
  const account = job.data.account;
  const properties = { job: job.id, account, worker: workerId, try: job.retryCount + 1 };
  const settle = settler(job, context);
  if (run.signal.aborted) return await settle.handBack(`worker ${workerId} is stopping`);
  const settings = context.accounts.get(account);
  if (!settings) {
    const file = shared.config.accountsFile ?? "(none: only the AD_PLATFORM_* account)";
    log.error(
      "Job {job}: account {account} is not in the accounts file {file} of worker {worker}; " +
        "add it there (and restart the worker) or stop queueing it",
      { ...properties, file },
    );
    return await settle.fail(
      `Cannot run account ${account}: it is not in the accounts file of worker ${workerId}`,
    );
  }
  const lease = await shared.leases.hold(account).catch((error: Error) => error);
  if (lease instanceof Error) return await settle.handBack(lease.message, context.lockRetryMs);
  if (!("fence" in lease)) {
    log.warn("Job {job}: account {account} is driven by {holder}; retrying later", {
      ...properties,
      holder: lease.holder,
    });
    const delay = Math.max(1_000, Math.min(context.lockRetryMs, lease.expiresInMs));
    return await settle.handBack(`account driven by ${lease.holder}`, delay);
  }
  log.info("Job {job} started: account {account} on {worker} (try {try})", properties);
  const later = deferrer(job, settings.rateLimit.windowMs);
  let outcome: AccountOutcome;
  try {
    const started = await runAccount(planOf(shared.config.plans, settings.clientId), shared, {
      ...run,
      lease,
      // The claim lost (taken over after a silence) stops the run as a shutdown would, and so
      // does a platform that wants the account left alone for long.
      signal: AbortSignal.any([run.signal, job.signal, later.signal]),
      onPlatformTrouble: later.consider,
    });
    context.onRun?.(started);
    outcome = await started.done;
  } finally {
    await lease.release();
  }
  await context.onOutcome?.(outcome);
  return await settleRun(outcome.summary, { job, context, lease, later, settle, properties });
}

/**
 * Settles the job as its run ended: handed back (for later when the platform asked or campaigns
 * failed, at once when the worker stops, after a while when the lease was lost), failed, or
 * completed.
 */
async function settleRun(
  summary: AccountOutcome["summary"],
  ended: {
    job: AccountJob;
    context: AccountJobContext;
    lease: { signal: AbortSignal };
    later: ReturnType<typeof deferrer>;
    settle: ReturnType<typeof settler>;
    properties: Record<string, unknown>;
  },
): Promise<undefined> {
  const { job, context, lease, later, settle, properties } = ended;
  const { workerId, run } = context;
  const account = job.data.account;
  log.info("Job {job} ended {status}: account {account}, {synced} synced, {failed} failed", {
    ...properties,
    status: summary.status,
    synced: summary.synced,
    failed: summary.failed,
    run_id: summary.run_id,
  });
  if (summary.status === "interrupted") {
    if (job.signal.aborted) return undefined; // another worker has the job now
    if (later.deferral) {
      const { reason, delayMs } = later.deferral;
      log.info("Job {job}: account {account} handed back until {until}: {reason}", {
        ...properties,
        until: new Date(Date.now() + delayMs).toISOString(),
        reason,
      });
      return await settle.handBack(reason, delayMs);
    }
    if (run.signal.aborted) return await settle.handBack(`worker ${workerId} stopped`);
    if (lease.signal.aborted) {
      return await settle.handBack(summary.last_error ?? "lease lost", context.lockRetryMs);
    }
  }
  if (summary.status === "failed" || summary.status === "interrupted") {
    return await settle.fail(
      `Run ${summary.run_id} of account ${account} ${summary.status}: ` +
        (summary.last_error ?? "no reason given"),
    );
  }
  return await settleFinished(summary, ended);
}

/**
 * Settles the job of a run that ended ok or partial: completed with its summary, or handed back
 * for later while campaigns failed that a later try of the same run may mend.
 */
async function settleFinished(
  summary: AccountOutcome["summary"],
  ended: Pick<Parameters<typeof settleRun>[1], "job" | "context" | "settle" | "properties">,
): Promise<undefined> {
  const { job, context, settle, properties } = ended;
  const settlement = settleFinishedRun(summary, {
    windowMs: context.accounts.get(job.data.account)?.rateLimit.windowMs ?? 60_000,
    handBacks: Math.max(0, job.retryLimit - RETRY_LIMIT),
  });
  if (settlement.kind === "hand back") {
    log.info("Job {job}: account {account} handed back until {until}: {reason}", {
      ...properties,
      until: new Date(Date.now() + settlement.delayMs).toISOString(),
      reason: settlement.reason,
    });
    return await settle.handBack(settlement.reason, settlement.delayMs);
  }
  if (settlement.kind === "give up") {
    log.warn("Job {job}: account {account} completed partial: {reason}", {
      ...properties,
      reason: settlement.reason,
    });
  }
  return await settle.complete({ ...summary, worker: context.workerId });
}

/**
 * Decides, on each 429 and failed login the run reports, whether to stop the run (resumably,
 * through `signal`) and hand the account back for later; the first deferral decided stands.
 */
function deferrer(job: AccountJob, windowMs: number) {
  const stop = new AbortController();
  const state: { deferral?: Deferral } = {};
  const handBacks = Math.max(0, job.retryLimit - RETRY_LIMIT);
  return {
    signal: stop.signal,
    get deferral() {
      return state.deferral;
    },
    consider(error: unknown, during: "login" | "request") {
      if (state.deferral) return;
      state.deferral = deferralFor(error, { during, windowMs, handBacks });
      if (state.deferral) stop.abort(new Error(state.deferral.reason));
    },
  };
}

/**
 * Settles this try of the job, fenced by its try count (a job another worker took over is left
 * alone), retrying through a database outage. A try that cannot be settled at all is logged:
 * pg-boss then fails it once its heartbeat is silent, and it is retried.
 */
function settler(job: AccountJob, context: AccountJobContext) {
  const { boss, shared } = context;
  const attempt = { id: job.id, retryCount: job.retryCount };
  const guarded = async (what: string, op: () => Promise<unknown>): Promise<undefined> => {
    try {
      await shared.guard.retrying(`${what} job ${job.id} in`, op);
    } catch (error) {
      log.error("Cannot settle job {job}: {error}", { job: job.id, error: errorMessage(error) });
    }
    return undefined;
  };
  return {
    handBack: (reason: string, delayMs = 0) =>
      guarded("hand back", () => handBack(boss, job, reason, delayMs)),
    fail: (message: string) => {
      log.warn("Job {job} failed: {error}", { job: job.id, error: message });
      return guarded("fail", () => boss.fail(SYNC_QUEUE, attempt, { error: message }));
    },
    complete: (output: Record<string, unknown>) =>
      guarded("complete", () => boss.complete(SYNC_QUEUE, attempt, output)),
  };
}
