import { formatRateLimit, type RateLimit } from "../duration.ts";
import type { RequestStats } from "../platform/account.ts";
import type { RateLimitSource, RunSummary, SyncSummary } from "../run_summary.ts";
import type { SyncResult } from "./run_sync.ts";
import { errorCode, errorMessage } from "../errors.ts";

/** Why a run was told to stop early; each has its own exit code. */
export type StopReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "max-duration";

const STOP_EXIT_CODES: Record<StopReason, number> = {
  SIGINT: 130,
  SIGTERM: 143,
  // 128 + 1, as a shell reports a process that SIGHUP ended, though this one stopped gracefully.
  SIGHUP: 129,
  "max-duration": 75,
};

/**
 * What the summary reads from an account: its client id, what its client counted, and its rate
 * limit in force. A platform `Account` is one; so is an account that never ran.
 */
export interface AccountCounts {
  clientId: string;
  stats: Pick<RequestStats, "requests" | "rateLimited" | "retries" | "timeouts">;
  tokens: { readonly refreshes: number };
  limiter: { readonly limit: RateLimit };
  limits: { readonly source: RateLimitSource; readonly disproved?: RateLimit | undefined };
}

/** Builds the run's summary from what the sync did and what the account's client counted. */
export function summarize(
  runId: string,
  account: AccountCounts,
  result: SyncResult,
  durationMs: number,
): SyncSummary {
  const status = result.fatal !== undefined
    ? "failed"
    : result.interrupted
    ? "interrupted"
    : result.failed + result.rejected > 0
    ? "partial"
    : "ok";
  return {
    run_id: runId,
    account: account.clientId,
    status,
    campaigns_total: result.total ?? 0,
    synced: result.synced,
    inserted: result.inserted,
    updated: result.updated,
    unchanged: result.unchanged,
    skipped: result.skipped,
    failed: result.failed,
    rejected: result.rejected,
    deleted: result.deleted,
    deletions_withheld: result.withheld,
    requests: account.stats.requests,
    rate_limited: account.stats.rateLimited,
    retries: account.stats.retries,
    timeouts: account.stats.timeouts,
    token_refreshes: account.tokens.refreshes,
    duration_ms: Math.round(durationMs),
    drift: {
      duplicates: result.drift.duplicates,
      conflicting: result.drift.conflicting,
      missing: result.drift.missing,
      has_more_mismatches: result.drift.hasMoreMismatches,
      total_changes: result.drift.totalChanges,
      truncated: result.drift.truncated,
    },
    rate_limit: formatRateLimit(account.limiter.limit),
    rate_limit_source: account.limits.source,
    ...(account.limits.disproved
      ? { rate_limit_advertised: formatRateLimit(account.limits.disproved) }
      : {}),
    ...(result.fatal !== undefined
      ? { last_error: errorMessage(result.fatal), error_code: errorCode(result.fatal) }
      : {}),
  };
}

/**
 * The exit code of a finished run: 0 all synced, 2 some failed or rejected, 1 fatal, and
 * 130 / 143 / 75 when SIGINT, SIGTERM or `--max-duration` interrupted it. Applied to a
 * many-account report's overall status, it gives the run's exit code.
 */
export function exitCodeFor(
  summary: Pick<RunSummary, "status">,
  stopReason: StopReason | undefined,
): number {
  switch (summary.status) {
    case "ok":
      return 0;
    case "partial":
      return 2;
    case "failed":
      return 1;
    case "interrupted":
      return STOP_EXIT_CODES[stopReason ?? "SIGTERM"];
  }
}
