/**
 * The account runner: one account's run, from its plan to its recorded end, in five phases, each
 * a function below in the order it runs: lease, choose, open, sync, record. `sync` and `worker`
 * both run their accounts through {@linkcode runAccount}.
 */
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
import { createPlatformClient } from "../platform/platform_client.ts";
import { type Account, outcomeRows } from "../platform/account.ts";
import { withRunContext } from "../report/logging.ts";
import type { ProgressSnapshot } from "../report/progress.ts";
import type { HeldAccount } from "../store/lease_keeper.ts";
import type { AccountOutcome, SyncSummary } from "../run_summary.ts";
import type { AccountRun, AccountRunOptions, LeaseRefusal, RunContext } from "./account_types.ts";
import { openAccount } from "./open_account.ts";
import { chooseRun, newRunId } from "./run_selection.ts";
import { requestsLeft, startSync, type SyncResult } from "./run_sync.ts";
import type { SyncProgress } from "./tally.ts";
import { summarize } from "./summary.ts";
import {
  anySignal,
  emptyResult,
  failedOutcome,
  logEnd,
  noteLevel,
  notRun,
  withLeaseLoss,
} from "./run_outcome.ts";

const log = getLogger(["adsync", "run"]);

/** The context of a run once its lease is held: its clock chosen, its signal its own. */
type HeldContext = RunContext & { clock: Clock };

/** The run the choose phase picked, and when it started. */
interface ChosenRun {
  runId: string;
  resumed: boolean;
  note?: string;
  startedAt: number;
}

/**
 * Runs one account from its plan: takes its lease (phase 1), picks its new or resumed run (2),
 * and returns it under way; then records its start and opens the account with its own token and
 * its limiter primed from its send log (3), runs the engine (4), and records the summary in the
 * checkpoint and `sync_runs` (5). The lease is released once `whileHeld` is done. Never throws;
 * `done` rejects only if `whileHeld` does: whatever stops this account is its summary's `failed`
 * status, so the other accounts of the process go on.
 */
export async function runAccount(
  plan: Readonly<AccountPlan>,
  context: RunContext,
  options: AccountRunOptions = {},
): Promise<AccountRun> {
  const clock = context.clock ?? systemClock;
  const leased = await leasePhase(plan, context);
  if ("refused" in leased) return refusedRun(plan, leased.refused, options, clock);
  const { lease } = leased;
  options.onHeld?.(lease);
  // A lost lease stops the run as a stop signal would: resumably, sending nothing more.
  const signal = anySignal(context.signal, options.signal, lease?.signal);
  const started = await startRun(plan, { ...context, clock, signal }, options, lease);
  const done = started.done.then(async (outcome) => {
    await options.whileHeld?.(outcome, lease);
    return outcome;
  }).finally(() => lease?.release());
  return { ...started, done };
}

/** Phase 1, lease: the account's lease, when the process has leases (a server database). */
async function leasePhase(
  plan: Readonly<AccountPlan>,
  context: RunContext,
): Promise<{ lease?: HeldAccount } | { refused: LeaseRefusal }> {
  if (!context.leases) return {};
  try {
    const lease = await context.leases.hold(plan.account.clientId);
    return "fence" in lease ? { lease } : { refused: { holder: lease } };
  } catch (error) {
    return { refused: { error } };
  }
}

/** A run whose lease was refused: failed and logged, or left to the caller to defer, unlogged. */
function refusedRun(
  plan: Readonly<AccountPlan>,
  refused: LeaseRefusal,
  options: AccountRunOptions,
  clock: Clock,
): AccountRun {
  const account = plan.account.clientId;
  const reason = "error" in refused ? refused.error : new StoreError(
    `Cannot drive account ${account}: ${refused.holder.holder} drives it now; not started`,
    { code: "ACCOUNT_BUSY" },
  );
  const outcome = options.onRefused === "defer"
    ? failedOutcome(plan.account, reason, clock.now(), clock)
    : notRun(plan.account, reason, clock.now(), clock);
  return { ...endedRun(outcome), refused };
}

/** A run that ended before it started. */
function endedRun(outcome: AccountOutcome<SyncSummary>): AccountRun {
  return { runId: "", progress: () => undefined, done: Promise.resolve(outcome) };
}

/** Phases 2 to 5 of a run whose lease is held: choose it, then open, sync and record it. */
async function startRun(
  plan: Readonly<AccountPlan>,
  run: HeldContext,
  options: AccountRunOptions,
  lease: HeldAccount | undefined,
): Promise<AccountRun> {
  const startedAt = run.clock.now();
  let chosen: ChosenRun;
  try {
    chosen = await choosePhase(plan, run, startedAt);
  } catch (error) {
    return endedRun(notRun(plan.account, error, startedAt, run.clock));
  }
  let progress: () => ProgressSnapshot | undefined = () => undefined;
  const live = (snapshot: () => ProgressSnapshot) => void (progress = snapshot);
  const done = withRunContext(
    { run_id: chosen.runId, account: plan.account.clientId },
    async () => {
      try {
        const account = await openPhase(plan, run, chosen, lease);
        const result = await syncPhase(plan, run, account, chosen.runId, { ...options, live });
        return await recordPhase(run, { ...chosen, account, result, lease });
      } catch (error) {
        // Only what prevents this account's run from starting or ending lands here (checkpoint,
        // database); the engine reports its own failures in its result.
        const outcome = notRun(plan.account, error, startedAt, run.clock, chosen.runId);
        await run.checkpoint.finishRun(chosen.runId, "failed", outcome.summary.last_error ?? null)
          .catch(() => {
            // The checkpoint itself is what failed: the summary says why.
          });
        return outcome;
      }
    },
  );
  return { runId: chosen.runId, progress: () => progress(), done };
}

/**
 * Phase 2, choose: resumes the run the checkpoint offers, or records a new one in it; says why
 * when it does not resume.
 */
async function choosePhase(
  plan: Readonly<AccountPlan>,
  run: HeldContext,
  startedAt: number,
): Promise<ChosenRun> {
  const { clientId: account, apiUrl, pageSize } = plan.account;
  const choice = await chooseRun(run.checkpoint, {
    resume: plan.resume,
    account,
    apiUrl,
    pageSize,
    maxAgeMs: run.config.resumeMaxAgeMs,
    now: startedAt,
  });
  if (choice.kind === "resume") return { runId: choice.run.runId, resumed: true, startedAt };
  const runId = newRunId(startedAt);
  await run.checkpoint.createRun({ runId, account, apiUrl, pageSize, startedAt });
  return { runId, resumed: false, note: choice.note, startedAt };
}

/**
 * Phase 3, open: logs the run's start and records it in `sync_runs`, then opens the account with
 * its own token and its limiter primed with the sends the platform's window still remembers.
 */
async function openPhase(
  plan: Readonly<AccountPlan>,
  run: HeldContext,
  chosen: ChosenRun,
  lease: HeldAccount | undefined,
): Promise<Account> {
  const { runId, startedAt } = chosen;
  if (chosen.note) log[noteLevel(chosen, run)](chosen.note);
  log.info(chosen.resumed ? "Resuming run {run_id}" : "Starting run {run_id}", { run_id: runId });
  const { clientId: account, apiUrl } = plan.account;
  const start = { runId, account, apiUrl, startedAt: new Date(startedAt) };
  await run.runs.start(start);
  return await openAccount(plan, run, lease, startedAt);
}

/**
 * Phase 4, sync: where the platform client and its pacing plug in. Logs in (wrong credentials
 * end the run before any work), then runs the engine over the account's listing, its progress
 * shown through `live`, while the account counts in its host gate's demand.
 */
async function syncPhase(
  plan: Readonly<AccountPlan>,
  run: HeldContext,
  account: Account,
  runId: string,
  hooks: Pick<AccountRunOptions, "onPlatformTrouble"> & {
    live: (snapshot: () => ProgressSnapshot) => void;
  },
): Promise<SyncResult> {
  const { clock, config } = run;
  // The host gate sizes its room from the accounts it serves, this one while it runs.
  const leaveGate = account.hostGate.addDemand(account.limiter);
  try {
    const client = createPlatformClient(account, {
      ...plan.request,
      fetch: run.fetch,
      clock,
      onHold: (error) => hooks.onPlatformTrouble?.(error, "request"),
    });
    try {
      await account.tokens.get(run.signal);
    } catch (error) {
      hooks.onPlatformTrouble?.(error, "login");
      if (run.signal?.aborted) return emptyResult({ interrupted: true });
      return emptyResult({ fatal: withPlatformHint(error, config) });
    }
    const { sql, guard, checkpoint, campaigns } = run;
    const sync = await startSync({
      runId,
      sql,
      guard,
      checkpoint,
      campaigns,
      account: account.clientId,
      client,
    }, {
      pageSize: plan.account.pageSize,
      maxPages: config.maxPages,
      allowMassDelete: config.allowMassDelete,
      concurrency: config.concurrency,
      clock,
      signal: run.signal,
      wireSignal: run.wireSignal,
    });
    hooks.live(() => progressSnapshot(sync.progress(), account, clock.now()));
    return await sync.done;
  } finally {
    leaveGate();
  }
}

/**
 * Phase 5, record: the run's summary (a lost lease says so) in the checkpoint and `sync_runs`,
 * and one line logged at its end.
 */
async function recordPhase(
  run: HeldContext,
  ended: ChosenRun & { account: Account; result: SyncResult; lease: HeldAccount | undefined },
): Promise<AccountOutcome<SyncSummary>> {
  const { runId, account, result, lease } = ended;
  const elapsed = run.clock.now() - ended.startedAt;
  const summary = withLeaseLoss(summarize(runId, account, result, elapsed), lease);
  await run.checkpoint.finishRun(runId, summary.status, summary.last_error ?? null);
  await run.runs.end(summary).catch((error) =>
    log.error("Cannot record the run in sync_runs: {error}", errorFields(error))
  );
  logEnd(summary);
  return { account: summary.account, summary, requests: outcomeRows(account.stats) };
}

/**
 * The progress line's view of a sync; the ETA comes from the limiter's own schedule, as soon as
 * the listing's first page told the total: the campaigns of pages not fetched yet count too. The
 * schedule is worked out only when the ETA is read (see `slowest` in src/report/progress.ts).
 */
export function progressSnapshot(p: SyncProgress, account: Account, now: number): ProgressSnapshot {
  return new SyncSnapshot(p, account, now);
}

/**
 * A snapshot whose ETA is read lazily. A class, as a terminal at 10,000 accounts builds 10,000 of
 * them each tick: its getter is shared by all, where an object literal with a getter of its own is
 * many times slower to build (bench/RESULTS.md, "A terminal's status line at 10,000 accounts").
 */
class SyncSnapshot implements ProgressSnapshot {
  readonly pagesDone: number;
  readonly pagesTotal: number | null;
  readonly campaignsDone: number;
  readonly campaignsTotal: number | null;
  readonly inFlight: number;
  readonly rateWaitMs: number;
  readonly retries: number;
  readonly paceLeftMs: number | null;
  readonly #left: number | null;
  readonly #account: Account;
  readonly #now: number;
  #etaMs: number | undefined;

  constructor(p: SyncProgress, account: Account, now: number) {
    const { limiter, stats } = account;
    const left = p.pagesTotal === null ? null : requestsLeft(p);
    const { count, windowMs } = limiter.limit;
    this.pagesDone = p.pagesDone;
    this.pagesTotal = p.pagesTotal;
    this.campaignsDone = p.synced + p.skipped + p.failed + p.rejected;
    this.campaignsTotal = p.total;
    this.inFlight = stats.inFlight;
    this.rateWaitMs = limiter.waitedMs;
    this.retries = stats.retries;
    this.paceLeftMs = left === null
      ? null
      : Math.max(0, limiter.heldUntil - now) + Math.max(0, left - 1) / count * windowMs;
    this.#left = left;
    this.#account = account;
    this.#now = now;
  }

  get etaMs(): number | null {
    if (this.#left === null) return null;
    return this.#etaMs ??= Math.max(0, this.#account.limiter.finishTimeFor(this.#left) - this.#now);
  }
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
