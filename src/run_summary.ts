/**
 * A run's numbers, one shape from the run's counters up to a many-account report: a run's
 * summary, an account's outcome (its summary and its requests), the report of a whole `sync`. A
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

/**
 * The SPEC's summary of one run: its counters, how it ended, how long it took, and its id; the
 * columns of `sync_runs`. Less its id, it adds up across accounts.
 */
export interface RunSummary extends RunCounters {
  run_id: string;
  status: RunStatus;
  duration_ms: number;
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
export interface SyncReport extends Totals, Partial<Omit<SyncSummary, keyof Totals>> {
  accounts: SyncSummary[];
}

/** What adds up across accounts: a run's summary less its id. */
type Totals = Omit<RunSummary, "run_id">;

/** Requests to one platform endpoint with one outcome. */
export interface RequestCount {
  endpoint: "token" | "list" | "sync";
  /** `"200"`, `"429"`, `"503"`, `"timeout"`, `"network"`… */
  status: string;
  count: number;
}

/**
 * How one account's run ended: its summary, its requests by endpoint and outcome, and, where
 * the metrics need it, when the account last ended ok. The runner's carry the whole
 * {@linkcode SyncSummary}; the metrics read the totals and the rate limit only.
 */
export interface AccountOutcome<
  Summary extends Totals =
    & Totals
    & Partial<
      Pick<SyncSummary, "rate_limit" | "rate_limit_source" | "rate_limit_advertised" | "error_code">
    >,
> {
  account: string;
  summary: Summary;
  requests: RequestCount[];
  /** When a run of the account last ended `ok` (Unix seconds); `null` if never. @default unknown: never */
  lastSuccessUnix?: number | null;
}
