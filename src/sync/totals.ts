import { RUN_COUNTERS, type RunCounters, type RunStatus } from "../run_counters.ts";
import type { SyncReport, SyncSummary } from "../run_summary.ts";

/** Counters that add up across accounts: all of them. */
const SUMMED = RUN_COUNTERS.map((counter) => counter.key);

/** How much each status weighs in the overall status. */
const SEVERITY: Record<RunStatus, number> = {
  interrupted: 3,
  failed: 2,
  partial: 1,
  ok: 0,
};

/**
 * The status of many accounts together: interrupted when any was stopped; else failed when any
 * could not run; else partial when any is partial; else ok.
 */
export function overallStatus(statuses: readonly RunStatus[]): RunStatus {
  let worst: RunStatus = "ok";
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
  ) as unknown as RunCounters;
  return {
    status: overallStatus(list.map((summary) => summary.status)),
    ...totals,
    duration_ms: Math.round(durationMs),
    accounts: list,
  };
}
