/**
 * The summary of a sync run, one shape from the run's counters up to a many-account report. A
 * leaf module beside `run_counters.ts`: `sync` builds these, `store` and `report` read them.
 */
import type { ErrorCode } from "./errors.ts";
import type { RunCounters, RunStatus } from "./run_counters.ts";

/**
 * Where the limit in force came from: the account's `rate_limit` (a ceiling the platform may
 * only lower), the platform's headers, the default of `rate_limit: "auto"` while the platform
 * advertises nothing, or what the platform enforced when its 429s disproved what it advertised.
 */
export type RateLimitSource = "configured" | "advertised" | "default" | "enforced";

/** A run's counters with how it ended and how long it took: what adds up across accounts. */
export interface RunTotals extends RunCounters {
  status: RunStatus;
  duration_ms: number;
}

/** The SPEC's summary of one run: its totals and its id; the columns of `sync_runs`. */
export interface RunSummary extends RunTotals {
  run_id: string;
}

/** One account's whole summary, as `--json` prints it and `sync_runs.summary` keeps it. */
export interface SyncSummary extends RunSummary {
  account: string;
  /** Where the platform's listing disagreed with itself (all zero on a clean run). */
  drift: {
    duplicates: number;
    conflicting: number;
    missing: number;
    has_more_mismatches: number;
    total_changes: number;
    /** Records cut from pages that held more than the `limit` asked for. */
    truncated: number;
  };
  /** Why the run failed, when it did. */
  last_error?: string;
  /** The stable code of `last_error`, such as `AUTH_REFUSED`; present exactly when it is. */
  error_code?: ErrorCode;
  /** The rate limit in force at the end, such as `10/60s`. */
  rate_limit: string;
  /**
   * Where it came from: the account's `rate_limit`, the platform's headers, auto's default, or
   * `enforced`: the platform's 429s showed it allows fewer than it advertised.
   */
  rate_limit_source: RateLimitSource;
  /**
   * With `rate_limit_source: "enforced"` only: the limit the platform advertised but did not
   * enforce (`100/6s`), while `rate_limit` says what it enforced.
   */
  rate_limit_advertised?: string;
}

/**
 * What one `sync` reports: with one account, that account's summary as it is; with many, the
 * totals under the same field names (and none of one account's own fields). Either way
 * `accounts` holds every account's summary, in the order the accounts were configured.
 */
export interface SyncReport extends RunTotals, Partial<Omit<SyncSummary, keyof RunTotals>> {
  accounts: SyncSummary[];
}
