/**
 * How an account's run ends when it cannot run as planned: the failed outcome of a run that could
 * not start, the note of a lost lease, and the one line logged per account at the end.
 */
import { getLogger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import type { AccountSettings } from "../config.ts";
import { errorCode, errorMessage } from "../errors.ts";
import { startingSource } from "../platform/limits.ts";
import { withRunContext } from "../report/logging.ts";
import type { HeldAccount } from "../store/lease_keeper.ts";
import { NO_DRIFT } from "./catalog.ts";
import type { SyncResult } from "./run_sync.ts";
import { createTally } from "./tally.ts";
import type { AccountOutcome, SyncSummary } from "../run_summary.ts";
import { type AccountCounts, summarize } from "./summary.ts";

const log = getLogger(["adsync", "run"]);

/** The failed outcome of an account whose run could not start or end, logged. */
export function notRun(
  settings: AccountSettings,
  error: unknown,
  startedAt: number,
  clock: Clock,
  runId = "",
): AccountOutcome<SyncSummary> {
  const outcome = failedOutcome(settings, error, startedAt, clock, runId);
  // A run that never got an id (the account's lease is another's) has none to log.
  const context = runId ? { run_id: runId, account: settings.clientId } : {
    account: settings.clientId,
  };
  withRunContext(context, () => logEnd(outcome.summary));
  return outcome;
}

/** The failed outcome of an account whose run could not start or end, unlogged. */
export function failedOutcome(
  settings: AccountSettings,
  error: unknown,
  startedAt: number,
  clock: Clock,
  runId = "",
): AccountOutcome<SyncSummary> {
  const summary = {
    ...summarize(runId, idleAccount(settings), emptyResult({ fatal: error }), 0),
    duration_ms: Math.round(clock.now() - startedAt),
  };
  return { account: summary.account, summary, requests: [] };
}

/** A run its lost lease interrupted says so. */
export function withLeaseLoss(summary: SyncSummary, lease: HeldAccount | undefined): SyncSummary {
  if (!lease?.signal.aborted || summary.status !== "interrupted") return summary;
  const reason = lease.signal.reason;
  return { ...summary, last_error: errorMessage(reason), error_code: errorCode(reason) };
}

/** A signal aborted when any of `signals` is; none when none is given. */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  return given.length === 0 ? undefined : AbortSignal.any(given);
}

/**
 * One line per account at the end: enough for an operator of a hundred accounts at info level.
 * A run that never started (no run id) logs its reason alone.
 */
export function logEnd(summary: SyncSummary): void {
  const { drift: _, last_error, run_id, ...counts } = summary;
  const properties = {
    ...(run_id ? { run_id } : {}),
    ...counts,
    ...(last_error === undefined ? {} : { error: last_error }),
  };
  if (!run_id) {
    log.error("{error}", properties);
  } else if (summary.status === "failed") {
    log.error("Run {run_id} failed: {error}", properties);
  } else if (summary.status === "ok") {
    log.info("Run {run_id} ended ok: {synced} synced, {skipped} skipped", properties);
  } else {
    log.warn(
      "Run {run_id} ended {status}: {synced} synced, {failed} failed, {rejected} rejected",
      properties,
    );
  }
}

/** What an account that never got to send a request counted: nothing, at its configured limit. */
function idleAccount(settings: AccountSettings): AccountCounts {
  return {
    clientId: settings.clientId,
    stats: { requests: 0, rateLimited: 0, retries: 0, timeouts: 0 },
    tokens: { refreshes: 0 },
    limiter: { limit: settings.rateLimit },
    limits: { source: startingSource(settings.rateLimitAuto ?? false) },
  };
}

/** The result of a run that did no work: a fresh tally's zeros, and how it ended. */
export function emptyResult(end: { interrupted?: boolean; fatal?: unknown }): SyncResult {
  const { undone: _, ...zeros } = createTally().snapshot();
  return {
    ...zeros,
    total: null,
    pagesTotal: null,
    drift: NO_DRIFT,
    interrupted: end.interrupted ?? false,
    fatal: end.fatal,
  };
}

/**
 * How loud the note on the run chosen is: a warning, except where a run always resumes (a worker,
 * whose checkpoint is the server's) and a new one starts: that is no news, so debug.
 */
export function noteLevel(
  picked: { resumed: boolean },
  shared: { checkpointInServer?: boolean },
): "warn" | "debug" {
  return shared.checkpointInServer && !picked.resumed ? "debug" : "warn";
}
