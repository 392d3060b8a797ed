import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import type { AccountPlan } from "../account_plan.ts";
import type { Config } from "../config.ts";
import {
  errorFields,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  StoreError,
  TimeoutError,
} from "../errors.ts";
import type { Account } from "../platform/account.ts";
import { createPlatformClient } from "../platform/platform_client.ts";
import { outcomeRows } from "../platform/request_stats.ts";
import { slackGauge } from "../platform/slack.ts";
import { withRunContext } from "../report/logging.ts";
import type { ProgressSnapshot } from "../report/progress.ts";
import { recordRunEnd, recordRunStart } from "../store/run_history.ts";
import type { Checkpoint } from "../store/checkpoint.ts";
import type { LeaseHolder } from "../store/account_lease.ts";
import type { HeldAccount } from "../store/lease_keeper.ts";
import type {
  AccountOutcome,
  AccountRun,
  AccountRunOptions,
  SharedResources,
} from "./account_types.ts";
import { openAccount } from "./open_account.ts";
import { chooseRun, newRunId } from "./run_selection.ts";
import {
  requestsLeft,
  startSync,
  type SyncJob,
  type SyncProgress,
  type SyncResult,
} from "./run_sync.ts";
import { summarize } from "./summary.ts";
import { anySignal, emptyResult, logEnd, noteLevel, notRun, withLeaseLoss } from "./run_outcome.ts";

const log = getLogger(["adsync", "run"]);

/**
 * Starts one account's run from its plan: takes its lease, picks its new or resumed run, and
 * returns it under way; then logs in with its own token, primes its own limiter from its send
 * log, runs the engine, and records the summary in `sync_runs` and the checkpoint. Never throws
 * nor rejects: whatever stops this account is its summary's `failed` status, so the other
 * accounts of the process go on.
 */
export async function runAccount(
  plan: Readonly<AccountPlan>,
  shared: SharedResources,
  options: AccountRunOptions = {},
): Promise<AccountRun> {
  if (options.lease || !shared.leases) return await startHeld(plan, shared, options);
  const { clock = systemClock } = options;
  const account = plan.account.clientId;
  let lease: HeldAccount | LeaseHolder;
  try {
    lease = await shared.leases.hold(account);
  } catch (error) {
    return endedRun(notRun(plan.account, error, clock.now(), clock));
  }
  if (!("fence" in lease)) {
    const reason = new StoreError(
      `Cannot drive account ${account}: ${lease.holder} drives it now; not started`,
      { code: "ACCOUNT_BUSY" },
    );
    return endedRun(notRun(plan.account, reason, clock.now(), clock));
  }
  const held = lease;
  const run = await startHeld(plan, shared, { ...options, lease: held });
  return { ...run, done: run.done.finally(() => held.release()) };
}

/** A run that ended before it started. */
function endedRun(outcome: AccountOutcome): AccountRun {
  return { runId: "", progress: () => undefined, done: Promise.resolve(outcome) };
}

async function startHeld(
  plan: Readonly<AccountPlan>,
  shared: SharedResources,
  options: AccountRunOptions,
): Promise<AccountRun> {
  const { clock = systemClock, lease } = options;
  // A lost lease stops the run as a stop signal would: resumably, sending nothing more.
  if (lease) options = { ...options, signal: anySignal(options.signal, lease.signal) };
  const settings = plan.account;
  const startedAt = clock.now();
  let picked: PickedRun;
  try {
    picked = await pickRun(plan, shared.config, shared.checkpoint, startedAt);
  } catch (error) {
    return endedRun(notRun(settings, error, startedAt, clock));
  }
  const { runId } = picked;
  let progress: () => ProgressSnapshot | undefined = () => undefined;
  const live = (snapshot: () => ProgressSnapshot) => void (progress = snapshot);
  const done = withRunContext(
    { run_id: runId, account: settings.clientId },
    () =>
      runAndRecord(plan, shared, { ...options, clock, live }, { ...picked, startedAt })
        .catch(async (error) => {
          // Only what prevents this account's run from starting or ending lands here (checkpoint,
          // database); the engine reports its own failures in its result.
          const outcome = notRun(settings, error, startedAt, clock, runId);
          await shared.checkpoint.finishRun(runId, "failed", outcome.summary.last_error ?? null)
            .catch(() => {
              // The checkpoint itself is what failed: the summary says why.
            });
          return outcome;
        }),
  );
  return { runId, progress: () => progress(), done };
}

/** What a run is told once chosen: the clock, and where to show its sync's progress. */
type StartedOptions = AccountRunOptions & {
  clock: Clock;
  live: (snapshot: () => ProgressSnapshot) => void;
};

/** Runs the chosen run to its end, recording its start and its end. */
async function runAndRecord(
  plan: Readonly<AccountPlan>,
  shared: SharedResources,
  options: StartedOptions,
  picked: PickedRun & { startedAt: number },
): Promise<AccountOutcome> {
  const { clock, lease } = options;
  const { sql, guard, checkpoint } = shared;
  const { runId, startedAt } = picked;
  if (picked.note) log[noteLevel(picked, shared)](picked.note);
  log.info(picked.resumed ? "Resuming run {run_id}" : "Starting run {run_id}", { run_id: runId });
  const { clientId: account, apiUrl } = plan.account;
  const start = { runId, account, apiUrl, startedAt: new Date(startedAt) };
  await guard.retrying("record the run start in", () => recordRunStart(sql, start));
  const platform = await openAccount(plan, shared, options, startedAt);
  const job = { runId, sql, guard, checkpoint, campaigns: shared.campaigns };
  // The host gate sizes its room from the accounts it serves, this one while it runs.
  const leaveGate = platform.hostGate.addDemand(platform.limiter);
  const result = await syncAccount(plan, shared.config, platform, job, options).finally(leaveGate);
  const summary = withLeaseLoss(
    summarize(runId, platform, result, clock.now() - startedAt),
    lease,
  );
  await checkpoint.finishRun(runId, summary.status, summary.last_error ?? null);
  await guard.retrying("record the run end in", () => recordRunEnd(sql, summary)).catch((error) =>
    log.error("Cannot record the run in sync_runs: {error}", errorFields(error))
  );
  logEnd(summary);
  return { summary, requests: outcomeRows(platform.stats) };
}

interface PickedRun {
  runId: string;
  resumed: boolean;
  note?: string;
}

/** Resumes the run the checkpoint offers, or records a new one; says why when it does not resume. */
async function pickRun(
  plan: Readonly<AccountPlan>,
  config: Readonly<Config>,
  checkpoint: Checkpoint,
  now: number,
): Promise<PickedRun> {
  const { clientId: account, apiUrl, pageSize } = plan.account;
  const choice = await chooseRun(checkpoint, {
    resume: plan.resume,
    account,
    apiUrl,
    pageSize,
    maxAgeMs: config.resumeMaxAgeMs,
    now,
  });
  if (choice.kind === "resume") return { runId: choice.run.runId, resumed: true };
  const runId = newRunId(now);
  await checkpoint.createRun({ runId, account, apiUrl, pageSize, startedAt: now });
  return { runId, resumed: false, note: choice.note };
}

async function syncAccount(
  plan: Readonly<AccountPlan>,
  config: Readonly<Config>,
  account: Account,
  job: Omit<SyncJob, "account" | "client">,
  options: StartedOptions,
): Promise<SyncResult> {
  const { clock } = options;
  const client = createPlatformClient(account, {
    ...plan.request,
    fetch: options.fetch,
    clock,
    onHold: (error) => options.onPlatformTrouble?.(error, "request"),
  });
  try {
    await account.tokens.get(options.signal); // wrong credentials end the run before any work
  } catch (error) {
    options.onPlatformTrouble?.(error, "login");
    if (options.signal?.aborted) return emptyResult({ interrupted: true });
    return emptyResult({ fatal: withPlatformHint(error, config) });
  }
  const sync = await startSync({ ...job, account: account.clientId, client }, {
    pageSize: plan.account.pageSize,
    maxPages: config.maxPages,
    allowMassDelete: config.allowMassDelete,
    concurrency: config.concurrency,
    // Bursts only: a smooth limiter spreads every window already.
    ...(config.pacing === "burst"
      ? { slackMs: slackGauge(account.limiter, () => clock.now(), config.concurrency) }
      : {}),
    clock,
    signal: options.signal,
    wireSignal: options.wireSignal,
  });
  options.live(() => progressSnapshot(sync.progress(), account, clock.now()));
  return await sync.done;
}

/**
 * The progress line's view of a sync; the ETA comes from the limiter's own schedule, as soon as
 * the listing's first page told the total: the campaigns of pages not fetched yet count too.
 */
export function progressSnapshot(p: SyncProgress, account: Account, now: number): ProgressSnapshot {
  const campaignsDone = p.synced + p.skipped + p.failed + p.rejected;
  return {
    pagesDone: p.pagesDone,
    pagesTotal: p.pagesTotal,
    campaignsDone,
    campaignsTotal: p.total,
    inFlight: account.stats.inFlight,
    rateWaitMs: account.limiter.waitedMs,
    retries: account.stats.retries,
    etaMs: p.pagesTotal === null
      ? null
      : Math.max(0, account.limiter.finishTimeFor(requestsLeft(p)) - now),
  };
}

/**
 * A login that found no platform at the URL, or a server that is not one (no such endpoint:
 * 404, 405, 501; an answer that is no token: a web page): say what to check, in the same line.
 */
function withPlatformHint(error: unknown, config: Readonly<Config>): unknown {
  const setting = config.accountsFile
    ? `api_url in ${config.accountsFile} or AD_PLATFORM_API_URL`
    : "AD_PLATFORM_API_URL";
  if (error instanceof NetworkError || error instanceof TimeoutError) {
    const hint = `(is the platform running? check ${setting})`;
    return new NetworkError(`${error.message} ${hint}`, { url: error.url }, { cause: error });
  }
  const hint = `(is this the Ad Platform? check ${setting})`;
  if (error instanceof HttpError && [404, 405, 501].includes(error.status)) {
    return new HttpError(`${error.message} ${hint}`, error, { cause: error });
  }
  if (error instanceof InvalidAnswerError) {
    return new InvalidAnswerError(`${error.message} ${hint}`, error, { cause: error });
  }
  return error;
}
