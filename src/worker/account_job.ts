import { getLogger } from "@logtape/logtape";
import type { PgBoss } from "pg-boss";
import type { AccountSettings } from "../config.ts";
import { handBack, type HeldJob } from "../queue/hand_back.ts";
import type { SyncJobData } from "../queue/queue.ts";
import { WORKER_APPLICATION_PREFIX } from "../queue/queue_state.ts";
import { tryLockAccount } from "../store/account_lock.ts";
import {
  type AccountOutcome,
  type AccountRunOptions,
  runAccount,
  type SharedResources,
} from "../sync/account_run.ts";

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
  shared: SharedResources;
  /** Options of every account run; its `signal` is the worker's stop. */
  run: AccountRunOptions & { signal: AbortSignal };
  /** A taken lock's job comes back after this long (the lease: the heartbeat). */
  lockRetryMs: number;
  /** Called with each finished run. @default no-op */
  onOutcome?: (outcome: AccountOutcome) => void | Promise<void>;
}

/** Thrown from the handler so that pg-boss fails the try: it is retried, then stays `failed`. */
export class AccountJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AccountJobError";
  }
}

/**
 * Runs one account-sync job: takes the account's advisory lock (handing the job back for later
 * if another worker still holds it), runs the account (resuming its latest unfinished run),
 * releases the lock, and settles the job. A run stopped by the worker's own shutdown is handed
 * back for immediate pickup elsewhere; a failed run throws so that pg-boss retries it; an ok or
 * partial run completes the job with its summary as the output.
 */
export async function runAccountJob(
  job: AccountJob,
  context: AccountJobContext,
): Promise<Record<string, unknown> | undefined> {
  const { boss, workerId, shared, run } = context;
  const account = job.data.account;
  const properties = { job: job.id, account, worker: workerId, try: job.retryCount + 1 };
  if (run.signal.aborted) {
    await handBack(boss, job, `worker ${workerId} is stopping`);
    return undefined;
  }
  const settings = context.accounts.get(account);
  if (!settings) {
    const file = shared.config.accountsFile ?? "(none: only the AD_PLATFORM_* account)";
    log.error(
      "Job {job}: account {account} is not in the accounts file {file} of worker {worker}; " +
        "add it there (and restart the worker) or stop queueing it",
      { ...properties, file },
    );
    throw new AccountJobError(
      `Cannot run account ${account}: it is not in the accounts file of worker ${workerId}`,
    );
  }
  const lock = await tryLockAccount(shared.sql, account, {
    holder: `${WORKER_APPLICATION_PREFIX}${workerId}`,
  });
  if (!lock) {
    log.warn("Job {job}: account {account} is still driven by another worker; retrying later", {
      ...properties,
    });
    await handBack(boss, job, "account locked by another worker", context.lockRetryMs);
    return undefined;
  }
  let outcome: AccountOutcome;
  log.info("Job {job} started: account {account} on {worker} (try {try})", properties);
  try {
    outcome = await runAccount(settings, shared, {
      ...run,
      // The claim lost (taken over after a silence) stops the run as a shutdown would.
      signal: AbortSignal.any([run.signal, job.signal]),
    });
  } finally {
    await lock.release().catch((error) =>
      log.warn("Cannot release the lock of account {account}: {error}", {
        ...properties,
        error: String(error),
      })
    );
  }
  const { summary } = outcome;
  await context.onOutcome?.(outcome);
  log.info("Job {job} ended {status}: account {account}, {synced} synced, {failed} failed", {
    ...properties,
    status: summary.status,
    synced: summary.synced,
    failed: summary.failed,
    run_id: summary.run_id,
  });
  if (summary.status === "interrupted") {
    if (run.signal.aborted) {
      await handBack(boss, job, `worker ${workerId} stopped`);
      return undefined;
    }
    if (job.signal.aborted) return undefined; // another worker has the job now
  }
  if (summary.status === "failed" || summary.status === "interrupted") {
    throw new AccountJobError(
      `Run ${summary.run_id} of account ${account} ${summary.status}: ` +
        (summary.last_error ?? "no reason given"),
    );
  }
  return { ...summary, worker: workerId };
}
