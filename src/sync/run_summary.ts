import type { RunCounters, RunStatus } from "../run_counters.ts";

/** The outcome of one sync run, as printed by `--json` and stored in `sync_runs`. */
export interface RunSummary extends RunCounters {
  run_id: string;
  status: RunStatus;
  duration_ms: number;
}

/** A row of `sync_runs`; counters are null while the run has not ended. */
export interface RunRecord {
  run_id: string;
  account: string | null;
  api_url: string | null;
  /** `running` until the run ends, then the summary's status. */
  status: RunSummary["status"] | "running" | null;
  started_at: Date | null;
  finished_at: Date | null;
  campaigns_total: number | null;
  synced: number | null;
  skipped: number | null;
  failed: number | null;
  rejected: number | null;
  deleted: number | null;
  requests: number | null;
  rate_limited: number | null;
  retries: number | null;
  timeouts: number | null;
  token_refreshes: number | null;
  duration_ms: number | null;
  last_error: string | null;
  summary: RunSummary | null;
}
