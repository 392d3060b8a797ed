/**
 * A table that fits a terminal's width: its least needed columns are left out until the rest
 * fit, and a line under it says how many (`--json` has them all). The summary and the status
 * tables both render through it.
 */

/** One column: its header, its cell of each row, and how much it is needed. */
export interface FitColumn<R> {
  header: string;
  cell: (row: R) => string;
  /** Right-aligned, as numbers are. @default false */
  numeric?: boolean;
  /** Lower is more needed: when the table does not fit, the more needed columns are kept first. */
  rank: number;
}

/** Options of {@linkcode fitTable}. */
export interface FitOptions {
  /** The width the table must fit. @default Infinity */
  columns?: number;
  /** Columns kept whatever the width, the most needed ones. @default 1 */
  keep?: number;
}

/** A rendered table: the header line, then one line per row; how many columns were left out. */
export interface FittedTable {
  lines: string[];
  dropped: number;
}

/**
 * Renders `rows` under `columns`, in the columns' order, two spaces apart, each line without
 * trailing spaces, with the columns that fit in `options.columns` taken by need (lowest rank
 * first): a column is left out when it does not fit beside the more needed ones kept.
 */
export function fitTable<R>(
  columns: ReadonlyArray<FitColumn<R>>,
  rows: readonly R[],
  options: FitOptions = {},
): FittedTable {
  const { columns: width = Infinity, keep = 1 } = options;
  const cells = columns.map((c) => [c.header, ...rows.map(c.cell)]);
  const widths = cells.map((column) => Math.max(...column.map((cell) => cell.length)));
  // The most needed first, each column that still fits (a narrow one may fit after a wide one
  // did not); the first `keep` whatever the width.
  const byNeed = [...columns.keys()].sort((a, b) => columns[a]!.rank - columns[b]!.rank);
  const kept = new Set<number>();
  let used = -2;
  for (const i of byNeed) {
    if (kept.size >= keep && used + 2 + widths[i]! > width) continue;
    kept.add(i);
    used += 2 + widths[i]!;
  }
  const shown = [...columns.keys()].filter((i) => kept.has(i));
  const lines = [0, ...rows.map((_, r) => r + 1)].map((r) =>
    shown.map((i) => {
      const cell = cells[i]![r]!;
      return columns[i]!.numeric ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
    }).join("  ").trimEnd()
  );
  return { lines, dropped: columns.length - kept.size };
}

/** The line under a table that left columns out; none when it left none. */
export function droppedNote(dropped: number): string[] {
  if (dropped === 0) return [];
  return [`(${dropped} more ${dropped === 1 ? "column" : "columns"} with --json or wider)`];
}
