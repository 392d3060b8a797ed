/**
 * Formats query rows as psql prints them: a header, a rule, one line per row, then
 * `(N rows)`. A null is an empty cell, as in psql; a date is ISO 8601; a JSON value is its JSON.
 */
export function formatRows(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): string {
  const cells = rows.map((row) => columns.map((column) => cellText(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => line[i]!.length))
  );
  const line = (values: string[]) =>
    values.map((value, i) => ` ${value.padEnd(widths[i]!)} `).join("|").trimEnd();
  const rule = widths.map((width) => "-".repeat(width + 2)).join("+");
  const count = `(${rows.length} ${rows.length === 1 ? "row" : "rows"})`;
  return [line([...columns]), rule, ...cells.map(line), count].join("\n");
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  // One line per row: a newline inside a value is shown escaped, as psql marks it.
  return String(value).replaceAll("\n", "\\n");
}
