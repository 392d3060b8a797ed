import { formatQueueState, type QueueState } from "../queue/queue_state.ts";
import { droppedNote, type FitColumn, fitTable } from "./fit_table.ts";
import { wrap } from "./summary_table.ts";
import { RUN_COUNTERS, type RunCounters } from "../run_counters.ts";

/**
 * Where a run was found: this state dir's checkpoint (`sync`), the server's (`worker`), or only
 * the database's `sync_runs` (`sync_runs`: a sync from another state dir).
 */
export type RunSource = "sync" | "worker" | "sync_runs";

/** One account as `status` shows it: its latest run, wherever it ran, and its queue state. */
export interface AccountStatus {
  account: string;
  /** Null when the account never ran (it may be queued). */
  run_id: string | null;
  /** The run's status; `never run` when there is none. */
  status: string;
  source: RunSource | null;
  started_at: string | null;
  updated_at: string | null;
  pages_done: number;
  pages_total: number | null;
  /** Null until the platform has told the run its total. */
  campaigns_total: RunCounters["campaigns_total"] | null;
  synced: RunCounters["synced"];
  rejected: RunCounters["rejected"];
  failed: RunCounters["failed"];
  /** Null until the run has ended (counted in `sync_runs`). */
  requests: RunCounters["requests"] | null;
  duration_ms: number | null;
  last_error: string | null;
  /** The rate limit in force at the run's end (`10/60s`); null before it ended. */
  rate_limit: string | null;
  /** Where that limit came from: configured, advertised, default or enforced. */
  rate_limit_source: string | null;
  /** The limit the platform advertised but did not enforce (source `enforced`); null otherwise. */
  rate_limit_advertised?: string | null;
  /** Stored campaigns the run did not mark deleted: a mass deletion refused. */
  deletions_withheld: RunCounters["deletions_withheld"];
  /** The account's job in the workers' queue; null without one, absent without a server. */
  queue_state?: QueueState["state"] | null;
  /** The worker running the account's job now. */
  queue_worker?: string | null;
  /** When the account's job, handed back for later, comes back (ISO); null when due now. */
  queue_until?: string | null;
  /** Why the account's job failed for good (`adsync enqueue` queues it again); null otherwise. */
  queue_reason?: string | null;
}

/** The limit in force and where it came from: `10/6s enforced (advertised 100/6s)`. */
function limitCell(r: AccountStatus): string {
  if (!r.rate_limit) return "-";
  const claim = r.rate_limit_advertised ? ` (advertised ${r.rate_limit_advertised})` : "";
  return `${r.rate_limit} ${r.rate_limit_source ?? ""}`.trimEnd() + claim;
}

/** A counter's header, as every table of the run's counters spells it. */
function header(key: keyof RunCounters): string {
  return RUN_COUNTERS.find((counter) => counter.key === key)?.header ?? key.toUpperCase();
}

/**
 * The columns of the table, each ranked by need: at a narrow width the highest ranks are left
 * out first (`--json` has them all). A new column (a lease holder, say) is one more entry.
 */
const COLUMNS: Array<FitColumn<AccountStatus> & { queue?: true }> = [
  { header: "ACCOUNT", rank: -1, cell: (r) => r.account },
  { header: "STATUS", rank: 0, cell: (r) => r.status },
  { header: "SOURCE", rank: 7, cell: (r) => r.source ?? "-" },
  {
    header: "QUEUE",
    rank: 3,
    queue: true,
    cell: (r) =>
      formatQueueState(
        r.queue_state
          ? {
            state: r.queue_state,
            worker: r.queue_worker ?? null,
            tries: 0,
            until: r.queue_until,
            reason: r.queue_reason,
          }
          : undefined,
      ) || "-",
  },
  {
    header: header("campaigns_total"),
    rank: 1,
    cell: (r) => (r.run_id ? `${r.synced + r.rejected}/${r.campaigns_total ?? "?"}` : "-"),
  },
  { header: header("failed"), rank: 2, cell: (r) => (r.run_id ? String(r.failed) : "-") },
  {
    header: "LIMIT",
    rank: 5,
    cell: limitCell,
  },
  {
    header: "UPDATED",
    rank: 4,
    cell: (r) => r.updated_at?.replace("T", " ").replace(/\.\d+Z$/, "Z") ?? "-",
  },
  { header: "RUN", rank: 6, cell: (r) => r.run_id ?? "-" },
];

/** Options of {@linkcode formatStatusTable}. */
export interface StatusTableOptions {
  /** With the QUEUE column (a server's queue was read). @default false */
  withQueue?: boolean;
  /** The terminal's width: columns that do not fit are left out, notes wrap. @default Infinity */
  columns?: number;
}

/**
 * One row per account, its error (if any) on the lines under it; as many columns as fit in
 * `options.columns`, and a line saying how many were left out.
 */
export function formatStatusTable(rows: AccountStatus[], options: StatusTableOptions = {}): string {
  const { withQueue = false, columns = Infinity } = options;
  const shown = COLUMNS.filter((c) => withQueue || !c.queue);
  // ACCOUNT and STATUS stay, whatever the width.
  const table = fitTable(shown, rows, { columns, keep: 2 });
  return [
    table.lines[0]!,
    ...rows.flatMap((r, i) => [
      table.lines[i + 1]!,
      ...notesOf(r).flatMap((note) => wrap(note, columns, "  ")),
    ]),
    ...droppedNote(table.dropped),
  ].join("\n");
}

/** The lines under an account's row: its error, and a mass deletion it refused. */
function notesOf(r: AccountStatus): string[] {
  return [
    ...(r.last_error ? [`error: ${r.last_error}`] : []),
    ...(r.deletions_withheld > 0
      ? [
        `note: ${r.deletions_withheld} deletions withheld (mass deletion): ` +
        "--allow-mass-delete marks them",
      ]
      : []),
  ];
}
