/** The outcome of one sync run, as printed by `--json` and stored in `sync_runs`. */
export interface RunSummary {
  run_id: string;
  status: "ok" | "partial" | "interrupted" | "failed";
  campaigns_total: number;
  synced: number;
  /** Campaigns already done before a resume. */
  skipped: number;
  failed: number;
  rejected: number;
  /** Stored campaigns marked deleted because the complete listing no longer holds them. */
  deleted: number;
  /**
   * Stored campaigns not marked deleted although the complete listing lacks them: a mass
   * deletion refused (over half of the live ones) without `--allow-mass-delete`.
   */
  deletions_withheld: number;
  requests: number;
  rate_limited: number;
  retries: number;
  timeouts: number;
  token_refreshes: number;
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
