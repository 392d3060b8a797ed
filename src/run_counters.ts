/**
 * The counters of one sync run and the one table that names them. A leaf module: `store`,
 * `report`, `platform` and `sync` all read it, and it imports nothing.
 */

/** How a run ended. */
export type RunStatus = "ok" | "partial" | "interrupted" | "failed";

/** Every status, in the order the metrics list them. */
export const RUN_STATUSES: readonly RunStatus[] = ["ok", "partial", "interrupted", "failed"];

/** What one run counts; every field adds up across accounts. */
export interface RunCounters {
  /** Campaigns the platform listed. */
  campaigns_total: number;
  synced: number;
  /**
   * Campaigns whose rows this run (over its whole life, resumes included) inserted, updated (the
   * data differed from the stored row, or it was marked deleted) or left as they were.
   */
  inserted: number;
  updated: number;
  unchanged: number;
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
}

/** One counter: its field, its column in the table of accounts, and its metric. */
export interface RunCounter {
  key: keyof RunCounters;
  /** The row's label in the one-account summary table. @default the key, its underscores spaces */
  label?: string;
  /** The column header in the per-account table. */
  header: string;
  /**
   * The column's place in the per-account table, most needed first: the columns that do not fit
   * go from the end. The table's own columns sit among them (status 0, duration 5, run last).
   * @default after every ranked counter
   */
  rank?: number;
  /** Tables show it only when non-zero (the JSON summary and the metrics always). @default false */
  onlyWhenNonZero?: boolean;
  /** The metric name, without the `adsync_` prefix. */
  metric: string;
  /**
   * What the metric tells: a gauge for what a run found; a counter for what it did, shown as the
   * last run's gauge `last_run_<name without _total>` and, on a live endpoint, as the counter
   * `<metric>` adding up every run of the process.
   */
  type: "gauge" | "counter";
  /** The metric's HELP text. */
  help: string;
}

/** The run's counters, in the order the summary, the table and the metrics show them. */
export const RUN_COUNTERS: readonly RunCounter[] = [
  {
    key: "campaigns_total",
    label: "campaigns",
    header: "CAMPAIGNS",
    rank: 1,
    metric: "campaigns_listed",
    type: "gauge",
    help: "Campaigns the platform listed in the last run.",
  },
  {
    key: "synced",
    header: "SYNCED",
    rank: 2,
    metric: "campaigns_synced",
    type: "gauge",
    help: "Campaigns synced in the last run.",
  },
  {
    key: "inserted",
    header: "INSERTED",
    rank: 8,
    metric: "campaigns_inserted",
    type: "gauge",
    help: "Campaigns the last run stored for the first time.",
  },
  {
    key: "updated",
    header: "UPDATED",
    rank: 9,
    metric: "campaigns_updated",
    type: "gauge",
    help: "Stored campaigns whose data the last run changed (or revived from deleted).",
  },
  {
    key: "unchanged",
    header: "UNCHANGED",
    rank: 10,
    metric: "campaigns_unchanged",
    type: "gauge",
    help: "Stored campaigns the last run synced whose data had not changed.",
  },
  {
    key: "skipped",
    header: "SKIPPED",
    rank: 11,
    metric: "campaigns_skipped",
    type: "gauge",
    help: "Campaigns already done before a resume.",
  },
  {
    key: "failed",
    header: "FAILED",
    rank: 3,
    metric: "campaigns_failed",
    type: "gauge",
    help: "Campaigns that failed in the last run.",
  },
  {
    key: "rejected",
    header: "REJECTED",
    rank: 4,
    metric: "campaigns_rejected",
    type: "gauge",
    help: "Campaigns refused by validation in the last run.",
  },
  {
    key: "deleted",
    header: "DELETED",
    rank: 12,
    metric: "campaigns_deleted",
    type: "gauge",
    help: "Stored campaigns marked deleted in the last run: the platform no longer lists them.",
  },
  {
    key: "deletions_withheld",
    // Beside `deleted` in the one-account table, and no wider than its longest label.
    label: "withheld",
    header: "WITHHELD",
    rank: 16,
    onlyWhenNonZero: true,
    metric: "campaigns_deletions_withheld",
    type: "gauge",
    help:
      "Stored campaigns the last run did not mark deleted: a mass deletion refused without --allow-mass-delete.",
  },
  {
    key: "requests",
    header: "REQUESTS",
    rank: 6,
    metric: "requests_total",
    type: "counter",
    help: "Requests to the platform, by endpoint and outcome.",
  },
  {
    key: "rate_limited",
    header: "429",
    rank: 7,
    metric: "rate_limited_total",
    type: "counter",
    help: "429 answers.",
  },
  {
    key: "retries",
    header: "RETRIES",
    rank: 13,
    metric: "retries_total",
    type: "counter",
    help: "Requests repeated.",
  },
  {
    key: "timeouts",
    header: "TIMEOUTS",
    rank: 14,
    metric: "timeouts_total",
    type: "counter",
    help: "Requests that timed out.",
  },
  {
    key: "token_refreshes",
    header: "REFRESHES",
    rank: 15,
    metric: "token_refreshes_total",
    type: "counter",
    help: "Access tokens fetched.",
  },
];
