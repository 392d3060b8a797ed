import { formatDuration } from "../duration.ts";
import type { RunSummary } from "../sync/run_summary.ts";

const STATUS_TEXT: Record<RunSummary["status"], string> = {
  ok: "ok (every campaign synced)",
  partial: "partial (some campaigns failed or were rejected)",
  interrupted: "interrupted (resume with --resume)",
  failed: "failed",
};

/** Renders the summary as an aligned table for a terminal: status first, then counts, then duration. */
export function formatSummary(s: RunSummary & { drift?: Record<string, number> }): string {
  const counts: Array<[string, number]> = [
    ["campaigns", s.campaigns_total],
    ["synced", s.synced],
    ["skipped", s.skipped],
    ["failed", s.failed],
    ["rejected", s.rejected],
    ["deleted", s.deleted ?? 0],
    ["requests", s.requests],
    ["rate limited", s.rate_limited],
    ["retries", s.retries],
    ["timeouts", s.timeouts],
    ["token refreshes", s.token_refreshes],
  ];
  const numberWidth = Math.max(...counts.map(([, n]) => String(n).length));
  const rows: Array<[string, string]> = [
    ["status", STATUS_TEXT[s.status] ?? String(s.status)],
    ["run", s.run_id],
    ...counts.map(([label, n]): [string, string] => [label, String(n).padStart(numberWidth)]),
    ["duration", formatDuration(s.duration_ms)],
    ...driftRow(s.drift),
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(labelWidth)}  ${value}`).join("\n");
}

/** A row naming the listing's drift, when there was any. */
function driftRow(drift: Record<string, number> | undefined): Array<[string, string]> {
  const seen = Object.entries(drift ?? {}).filter(([, n]) => n > 0);
  if (seen.length === 0) return [];
  return [["drift", seen.map(([what, n]) => `${what.replaceAll("_", " ")} ${n}`).join(", ")]];
}

/** What {@linkcode formatReport} needs of a run over one or many accounts. */
export interface ReportView extends Omit<RunSummary, "run_id"> {
  run_id?: string;
  drift?: Record<string, number>;
  accounts: ReadonlyArray<RunSummary & { account: string; last_error?: string }>;
}

/** Columns of the per-account table: header, and how to read the value from a row. */
const COLUMNS: Array<[string, Exclude<keyof RunSummary, "run_id" | "status" | "duration_ms">]> = [
  ["CAMPAIGNS", "campaigns_total"],
  ["SYNCED", "synced"],
  ["SKIPPED", "skipped"],
  ["FAILED", "failed"],
  ["REJECTED", "rejected"],
  ["DELETED", "deleted"],
  ["REQUESTS", "requests"],
  ["429", "rate_limited"],
  ["RETRIES", "retries"],
  ["TIMEOUTS", "timeouts"],
  ["REFRESHES", "token_refreshes"],
];

/** Where each status goes: what needs a person first, then what `--resume` continues. */
const LISTING_ORDER: Record<RunSummary["status"], number> = {
  failed: 0,
  partial: 1,
  interrupted: 2,
  ok: 3,
};

/**
 * Renders a run's report: one account as {@linkcode formatSummary} always did; many as a status
 * line, then one row per account (problems first) and a totals row.
 */
export function formatReport(report: ReportView): string {
  const { accounts } = report;
  if (accounts.length <= 1) {
    const only = accounts[0];
    return formatSummary({ ...report, run_id: report.run_id ?? only?.run_id ?? "" });
  }
  const counts = new Map<string, number>();
  for (const account of accounts) counts.set(account.status, (counts.get(account.status) ?? 0) + 1);
  const breakdown = Object.keys(LISTING_ORDER).filter((status) => counts.has(status))
    .map((status) => `${counts.get(status)} ${status}`).join(", ");
  const ordered = problemsFirst(accounts);
  const line = (
    name: string,
    s: Omit<RunSummary, "run_id">,
    run: string,
    error: string,
  ): string[] => [
    name,
    s.status,
    ...COLUMNS.map(([, field]) => String(s[field])),
    formatDuration(s.duration_ms),
    run,
    error,
  ];
  const table = [
    ["ACCOUNT", "STATUS", ...COLUMNS.map(([header]) => header), "DURATION", "RUN", "ERROR"],
    ...ordered.map((a) => line(a.account, a, a.run_id, a.last_error ?? "")),
    line("total", report, "", ""),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const numeric = (i: number) => i >= 2 && i < 2 + COLUMNS.length;
  const rendered = table.map((row) =>
    row.map((cell, i) => numeric(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
      .join("  ").trimEnd()
  );
  const headline = `status  ${STATUS_TEXT[report.status] ?? String(report.status)} · ` +
    `${accounts.length} accounts: ${breakdown}`;
  return [headline, "", ...rendered].join("\n");
}

/** Accounts ordered problems first (failed, partial, interrupted, then ok), otherwise as given. */
export function problemsFirst<T extends Pick<RunSummary, "status">>(list: readonly T[]): T[] {
  return list
    .map((item, index) => ({ item, index }))
    .sort((a, b) =>
      LISTING_ORDER[a.item.status] - LISTING_ORDER[b.item.status] || a.index - b.index
    )
    .map(({ item }) => item);
}
