import type { RunSummary } from "./run_summary.ts";
import type { SyncSummary } from "./summary.ts";

/**
 * What one `sync` reports: with one account, that account's summary as today; with many, the
 * totals under the same field names. Either way `accounts` holds every account's summary.
 */
export interface SyncReport extends Omit<RunSummary, "run_id"> {
  /** The run id, when the report covers one account. */
  run_id?: string;
  /** The account, when the report covers one account. */
  account?: string;
  /** The listing's drift, when the report covers one account. */
  drift?: SyncSummary["drift"];
  /** Why the run failed, when the report covers one account and it failed. */
  last_error?: string;
  /** Every account's summary, in the order the accounts were configured. */
  accounts: SyncSummary[];
}

/** Counters that add up across accounts. */
const SUMMED = [
  "campaigns_total",
  "synced",
  "skipped",
  "failed",
  "rejected",
  "deleted",
  "deletions_withheld",
  "requests",
  "rate_limited",
  "retries",
  "timeouts",
  "token_refreshes",
] as const satisfies readonly (keyof RunSummary)[];

/** How much each status weighs in the overall status. */
const SEVERITY: Record<RunSummary["status"], number> = {
  interrupted: 3,
  failed: 2,
  partial: 1,
  ok: 0,
};

/**
 * The status of many accounts together: interrupted when any was stopped; else failed when any
 * could not run; else partial when any is partial; else ok.
 */
export function overallStatus(statuses: readonly RunSummary["status"][]): RunSummary["status"] {
  let worst: RunSummary["status"] = "ok";
  for (const status of statuses) if (SEVERITY[status] > SEVERITY[worst]) worst = status;
  return worst;
}

/**
 * Builds the report of a run over `accounts`: one account's summary is returned as it is (plus
 * `accounts`), so single-account output stays what it was; many accounts are added up, with
 * `duration_ms` the wall time of the whole run.
 */
export function totalize(accounts: readonly SyncSummary[], durationMs: number): SyncReport {
  const list = [...accounts];
  if (list.length === 1) return { ...list[0]!, accounts: list };
  const totals = Object.fromEntries(
    SUMMED.map((field) => [field, list.reduce((sum, summary) => sum + summary[field], 0)]),
  ) as Record<(typeof SUMMED)[number], number>;
  return {
    status: overallStatus(list.map((summary) => summary.status)),
    ...totals,
    duration_ms: Math.round(durationMs),
    accounts: list,
  };
}
