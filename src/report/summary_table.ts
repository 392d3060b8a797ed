import { formatDuration } from "../duration.ts";
import { RUN_COUNTERS, type RunStatus } from "../run_counters.ts";
import { droppedNote, type FitColumn, fitTable } from "./fit_table.ts";
import type { RunSummary, SyncReport, SyncSummary } from "../run_summary.ts";

const STATUS_TEXT: Record<RunStatus, string> = {
  ok: "ok (every campaign synced)",
  partial: "partial (some campaigns failed or were rejected)",
  interrupted: "interrupted (resume with --resume)",
  failed: "failed",
};

/** What the tables read of one account's summary: the drift and the error only when present. */
type SummaryRows =
  & RunSummary
  & Partial<Pick<SyncSummary, "last_error" | "rate_limit" | "rate_limit_advertised">>
  & {
    drift?: Partial<SyncSummary["drift"]>;
  };

/**
 * Renders the summary as an aligned table for a terminal: status first, then counts, then
 * duration, and the error that ended the run, wrapped to `columns`.
 */
export function formatSummary(s: SummaryRows, options: ReportOptions = {}): string {
  const { columns = 100 } = options;
  const counts = RUN_COUNTERS.filter(({ key, onlyWhenNonZero }) =>
    !onlyWhenNonZero || (s[key] ?? 0) > 0
  ).map(({ key, label }): [string, number] => [label ?? key.replaceAll("_", " "), s[key] ?? 0]);
  const numberWidth = Math.max(...counts.map(([, n]) => String(n).length));
  const rows: Array<[string, string]> = [
    ["status", STATUS_TEXT[s.status] ?? String(s.status)],
    ["run", s.run_id],
    ...counts.map(([label, n]): [string, string] => [label, String(n).padStart(numberWidth)]),
    ["duration", formatDuration(s.duration_ms)],
    ...driftRow(s.drift),
    ...overriddenLimitRow(s),
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const error = s.last_error ? [["error", s.last_error] as [string, string]] : [];
  return [...rows, ...error].flatMap(([label, value]) => {
    const head = `${label.padEnd(labelWidth)}  `;
    if (head.length + value.length <= columns) return [head + value];
    const [first, ...more] = wrap(value, columns, " ".repeat(head.length));
    return [head + first!.trimStart(), ...more];
  }).join("\n");
}

/** A row naming the listing's drift, when there was any. */
function driftRow(drift: Record<string, number | undefined> | undefined): Array<[string, string]> {
  const seen = Object.entries(drift ?? {}).filter(([, n]) => (n ?? 0) > 0);
  if (seen.length === 0) return [];
  return [["drift", seen.map(([what, n]) => `${what.replaceAll("_", " ")} ${n}`).join(", ")]];
}

/** A row saying the platform enforced less than it advertised, when its 429s showed it. */
function overriddenLimitRow(s: SummaryRows): Array<[string, string]> {
  if (!s.rate_limit || !s.rate_limit_advertised) return [];
  return [["rate limit", `${s.rate_limit} enforced (advertised ${s.rate_limit_advertised})`]];
}

/** What {@linkcode formatReport} reads of a {@linkcode SyncReport}. */
type ReportRows = Omit<SyncReport, "accounts" | "drift"> & {
  drift?: SummaryRows["drift"];
  accounts: ReadonlyArray<SummaryRows & Pick<SyncSummary, "account">>;
};

/** Options of {@linkcode formatReport}. */
export interface ReportOptions {
  /** The terminal's width: columns that do not fit are left out, errors wrap. @default 100 */
  columns?: number;
}

type Row = Omit<RunSummary, "run_id"> & { run_id?: string };

interface Column extends FitColumn<Row> {
  /** Shown only when some row's value makes it true; always in --json. */
  nonZero?: (row: Row) => boolean;
}

/**
 * Columns of the per-account table, most needed first: the last ones are left out when the
 * table would not fit (`--json` has them all). The counters' columns come from {@linkcode RUN_COUNTERS}.
 */
const COLUMNS: Column[] = ([
  { header: "STATUS", cell: (r) => r.status, rank: 0 },
  { header: "DURATION", cell: (r) => formatDuration(r.duration_ms), rank: 5 },
  ...RUN_COUNTERS.map(({ key, header, rank, onlyWhenNonZero }): Column => ({
    header,
    cell: (r) => String(r[key] ?? 0),
    numeric: true,
    rank: rank ?? Number.MAX_SAFE_INTEGER - 1,
    ...(onlyWhenNonZero ? { nonZero: (r: Row) => (r[key] ?? 0) > 0 } : {}),
  })),
  { header: "RUN", cell: (r) => r.run_id ?? "", rank: Number.MAX_SAFE_INTEGER },
] satisfies Column[]).sort((a, b) => a.rank - b.rank);

/** Where each status goes: what needs a person first, then what `--resume` continues. */
const LISTING_ORDER: Record<RunStatus, number> = {
  failed: 0,
  partial: 1,
  interrupted: 2,
  ok: 3,
};

/**
 * Renders a run's report: one account as {@linkcode formatSummary} always did; many as a status
 * line, then one row per account (problems first, each error under its row) and a totals row,
 * with as many columns as fit in `columns`.
 */
export function formatReport(report: ReportRows, options: ReportOptions = {}): string {
  const { columns = 100 } = options;
  const { accounts } = report;
  if (accounts.length <= 1) {
    const only = accounts[0];
    return formatSummary({ ...report, run_id: report.run_id ?? only?.run_id ?? "" }, options);
  }
  const counts = new Map<string, number>();
  for (const account of accounts) counts.set(account.status, (counts.get(account.status) ?? 0) + 1);
  const breakdown = Object.keys(LISTING_ORDER).filter((status) => counts.has(status))
    .map((status) => `${counts.get(status)} ${status}`).join(", ");
  const ordered = problemsFirst(accounts);
  const rows: Array<{ name: string; row: Row; error?: string }> = [
    ...ordered.map((a) => ({ name: a.account, row: a, error: a.last_error })),
    { name: "total", row: { ...report, run_id: "" } },
  ];
  const table = fitColumns(rows.map((r) => r.name), rows.map((r) => r.row), columns);
  const rendered = table.lines.flatMap((line, i) => {
    const error = i === 0 ? undefined : rows[i - 1]!.error;
    return error ? [line, ...wrap(`error: ${error}`, columns, "  ")] : [line];
  });
  const left = droppedNote(table.dropped);
  const headline = `status  ${STATUS_TEXT[report.status] ?? String(report.status)} · ` +
    `${accounts.length} accounts: ${breakdown}`;
  return [...wrap(headline, columns, ""), "", ...rendered, ...left].join("\n");
}

/** The table with as many columns as fit, from the most needed; how many were left out. */
function fitColumns(names: string[], rows: Row[], columns: number) {
  const named = rows.map((row, i) => ({ name: names[i]!, row }));
  const shown = COLUMNS.filter((c) => !c.nonZero || rows.some((row) => c.nonZero!(row)));
  return fitTable(
    [
      { header: "ACCOUNT", cell: (r) => r.name, rank: -1 },
      ...shown.map((c): FitColumn<(typeof named)[number]> => ({
        ...c,
        cell: (r) => c.cell(r.row),
      })),
    ],
    named,
    { columns, keep: 3 },
  );
}

/** Splits text into lines of at most `columns` characters at spaces, each after `indent`. */
export function wrap(text: string, columns: number, indent: string): string[] {
  const room = Math.max(20, columns - indent.length);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(indent + line);
      line = "";
    }
    line = line ? `${line} ${word}` : word;
    while (line.length > room) {
      lines.push(indent + line.slice(0, room));
      line = line.slice(room);
    }
  }
  if (line) lines.push(indent + line);
  return lines;
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
