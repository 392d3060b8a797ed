import { getLogger } from "@logtape/logtape";
import type { PgBoss } from "pg-boss";
import { planOf } from "../account_plan.ts";
import type { AccountSettings } from "../config.ts";
import { systemClock } from "../clock.ts";
import {
  completeJob,
  handBack,
  type HandBackOptions,
  type HeldJob,
  type SettleResult,
} from "../queue/hand_back.ts";
import { RETRY_LIMIT, SYNC_QUEUE, type SyncJobData } from "../queue/queue.ts";
import { errorFields, errorMessage } from "../errors.ts";
import { runAccount } from "../sync/account_run.ts";
import type { AccountOutcome, SyncSummary } from "../run_summary.ts";
import type { AccountRun, LeaseRefusal, RunContext } from "../sync/account_types.ts";
import type { HeldAccount } from "../store/lease_keeper.ts";
import { type Deferral, deferralFor } from "./deferral.ts";
import { settleFinishedRun } from "./partial_retry.ts";

const log = getLogger(["adsync", "worker"]);

/** A job as the worker receives it from pg-boss (fetched with its metadata). */
export interface AccountJob extends HeldJob {
  data: SyncJobData;
  /**
   * Aborted by pg-boss when its heartbeat finds the claim gone (failed over after a silence, as
   * after a database restart). Not a stop: the account's lease says who drives the account.
   */
  signal: AbortSignal;
}

/** What the job handler needs besides the job. */
export interface AccountJobContext {
  boss: PgBoss;
  workerId: string;
  /** The accounts this worker has credentials for, by client id. */
  accounts: ReadonlyMap<string, AccountSettings>;
  /** The context of every account run: with the process's account leases; its `signal` is the worker's stop. */
  run: RunContext & { leases: NonNullable<RunContext["leases"]>; signal: AbortSignal };
  /** A job whose account another process holds comes back after at most this long. */
  lockRetryMs: number;
  /** Called with each run once chosen, to follow its progress. @default no-op */
  onRun?: (run: AccountRun) => void;
  /** Called with each finished run. @default no-op */
  onOutcome?: (outcome: AccountOutcome<SyncSummary>) => void | Promise<void>;
}

/**
 * Runs one account-sync job: runs the account (resuming its latest unfinished run) under its
 * lease, which the runner takes (handing the job back, its try not spent, until the lease lapses
 * by the database's clock if another process holds it), and settles the job through the database
 * guard before the runner releases the lease. The lease, not the job's claim, says who drives
 * the account: a run goes on while its lease is its own even if pg-boss failed its claim over (a
 * heartbeat the database could not see, as across a restart), and then settles the account's job
 * as it stands. A run stopped by the worker's own shutdown, or by a lease lost to another
 * process, is handed back; a failed run fails the try (pg-boss retries it); an ok run completes
 * the job, and so does a partial one unless campaigns failed that a later try may mend (see
 * partial_retry.ts).
 */
export async function runAccountJob(
  job: AccountJob,
  context: AccountJobContext,
): Promise<undefined> {
  const { workerId, run } = context;
  const account = job.data.account;
  const properties = { job: job.id, account, worker: workerId, try: job.retryCount + 1 };
  const settle = settler(job, context);
  if (run.signal.aborted) return await settle.handBack(`worker ${workerId} is stopping`);
  const settings = context.accounts.get(account);
  if (!settings) {
    const file = run.config.accountsFile ?? "(none: only the AD_PLATFORM_* account)";
    log.error(
      "Job {job}: account {account} is not in the accounts file {file} of worker {worker}; " +
        "add it there (and restart the worker) or stop queueing it",
      { ...properties, file },
    );
    return await settle.fail(
      `Cannot run account ${account}: it is not in the accounts file of worker ${workerId}`,
    );
  }
  // pg-boss also aborts the signal once the handler returns: listen only while the run goes on.
  const running = new AbortController();
  const later = deferrer(job, settings.rateLimit.windowMs);
  try {
    const started = await runAccount(planOf(run.config.plans, settings.clientId), run, {
      // A lease lost stops the run (in the runner), and so does a platform that wants the
      // account left alone for long; a lost claim does not.
      signal: later.signal,
      onPlatformTrouble: later.consider,
      onRefused: "defer",
      onHeld: () => {
        log.info("Job {job} started: account {account} on {worker} (try {try})", properties);
        job.signal.addEventListener("abort", () =>
          log.info(
            "Job {job}: its claim was failed over (its heartbeat went unseen); the run goes on " +
              "under the account's lease and settles the job as it then stands",
            properties,
          ), { once: true, signal: running.signal });
      },
      // Settled while the lease is held: nobody can claim and run the account in between.
      whileHeld: async (outcome, lease) => {
        await context.onOutcome?.(outcome);
        await settleRun(outcome.summary, { job, context, lease, later, settle, properties });
      },
    });
    if (started.refused) {
      return await deferRefused(started.refused, { context, settle, properties });
    }
    context.onRun?.(started);
    await started.done;
    return undefined;
  } finally {
    running.abort();
  }
}

/**
 * Hands back a job whose account's lease the runner did not get: until the lease lapses when
 * another process holds it, after a while when the server could not say.
 */
async function deferRefused(
  refused: LeaseRefusal,
  job: {
    context: AccountJobContext;
    settle: ReturnType<typeof settler>;
    properties: Record<string, unknown>;
  },
): Promise<undefined> {
  const { context, settle, properties } = job;
  if ("error" in refused) {
    return await settle.handBack(errorMessage(refused.error), { delayMs: context.lockRetryMs });
  }
  const { holder, expiresAt } = refused.holder;
  const until = new Date(expiresAt);
  log.info("Job {job}: account {account} is driven by {holder}; back when its lease lapses", {
    ...properties,
    holder,
    until: until.toISOString(),
  });
  return await settle.handBack(`account driven by ${holder}`, { until });
}

/**
 * Settles the job as its run ended: handed back (for later when the platform asked or campaigns
 * failed, at once when the worker stops, after a while when the lease was lost), failed, or
 * completed.
 */
async function settleRun(
  summary: SyncSummary,
  ended: {
    job: AccountJob;
    context: AccountJobContext;
    /** The run's lease; none only where the process has no leases. */
    lease: Pick<HeldAccount, "signal"> | undefined;
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
  // While the lease is ours nobody else runs the account: its job is ours to settle as it stands.
  const lost = lease?.signal.aborted ?? false;
  const adopt = !lost;
  if (summary.status === "interrupted") {
    if (later.deferral) {
      const { reason, delayMs } = later.deferral;
      log.info("Job {job}: account {account} handed back until {until}: {reason}", {
        ...properties,
        until: new Date(Date.now() + delayMs).toISOString(),
        reason,
      });
      return await settle.handBack(reason, { delayMs, adopt });
    }
    if (run.signal.aborted) return await settle.handBack(`worker ${workerId} stopped`, { adopt });
    if (lost) {
      const reason = summary.last_error ?? "lease lost";
      return await settle.handBack(reason, { delayMs: context.lockRetryMs });
    }
  }
  if (summary.status === "failed" || summary.status === "interrupted") {
    return await settle.fail(
      `Run ${summary.run_id} of account ${account} ${summary.status}: ` +
        (summary.last_error ?? "no reason given"),
    );
  }
  return await settleFinished(summary, { ...ended, adopt });
}

/**
 * Settles the job of a run that ended ok or partial: completed with its summary, or handed back
 * for later while campaigns failed that a later try of the same run may mend.
 */
async function settleFinished(
  summary: SyncSummary,
  ended: Pick<Parameters<typeof settleRun>[1], "job" | "context" | "settle" | "properties"> & {
    adopt: boolean;
  },
): Promise<undefined> {
  const { job, context, settle, properties, adopt } = ended;
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
    return await settle.handBack(settlement.reason, { delayMs: settlement.delayMs, adopt });
  }
  if (settlement.kind === "give up") {
    log.warn("Job {job}: account {account} completed partial: {reason}", {
      ...properties,
      reason: settlement.reason,
    });
  }
  return await settle.complete({ ...summary, worker: context.workerId }, adopt);
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

/** How long a run that outlived its claim waits for a claimer to hand the job back, in ms. */
const ADOPT_WAIT_MS = 10_000;
/** How often it looks meanwhile, in ms. */
const ADOPT_POLL_MS = 250;

/**
 * Settles this try of the job in one statement, fenced by its try count (a job another worker
 * took over is left alone), retrying through a database outage. With `adopt` (the lease still
 * ours) it settles the account's job as it stands: one that pg-boss failed over meanwhile is
 * settled all the same, and one a claimer holds is waited for (that claimer meets our lease and
 * hands the job back). A try that cannot be settled at all is logged: pg-boss then fails it once
 * its heartbeat is silent, and it is retried.
 */
function settler(job: AccountJob, context: AccountJobContext) {
  const { boss, run: shared } = context;
  const clock = shared.clock ?? systemClock;
  const guarded = async (
    what: string,
    adopt: boolean,
    op: () => Promise<SettleResult | unknown>,
  ): Promise<undefined> => {
    try {
      const waitUntil = clock.now() + ADOPT_WAIT_MS;
      let result = await shared.guard.retrying(`${what} job ${job.id} in`, op);
      while (adopt && result === "busy" && clock.now() < waitUntil) {
        await clock.sleep(ADOPT_POLL_MS);
        result = await shared.guard.retrying(`${what} job ${job.id} in`, op);
      }
      if (result === "busy" && adopt) {
        log.warn("Job {job}: another worker holds its claim; left to it", { job: job.id });
      }
    } catch (error) {
      log.error("Cannot settle job {job}: {error}", { job: job.id, ...errorFields(error) });
    }
    return undefined;
  };
  return {
    handBack: (reason: string, options: HandBackOptions = {}) =>
      guarded(
        "hand back",
        options.adopt ?? false,
        () => handBack(shared.sql, job, reason, options),
      ),
    fail: (message: string) => {
      const final = job.retryCount >= job.retryLimit;
      if (final) {
        log.error(
          "Job {job} failed for good (try {try} of {tries}): {error}; `adsync enqueue` queues " +
            "the account again",
          { job: job.id, try: job.retryCount + 1, tries: job.retryLimit + 1, error: message },
        );
      } else log.warn("Job {job} failed: {error}", { job: job.id, error: message });
      const attempt = { id: job.id, retryCount: job.retryCount };
      return guarded("fail", false, () => boss.fail(SYNC_QUEUE, attempt, { error: message }));
    },
    complete: (output: Record<string, unknown>, adopt = false) =>
      guarded("complete", adopt, () => completeJob(shared.sql, job, output, { adopt })),
  };
}
