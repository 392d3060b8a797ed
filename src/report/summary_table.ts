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
