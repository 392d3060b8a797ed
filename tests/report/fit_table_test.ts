import assert from "node:assert/strict";
import { droppedNote, type FitColumn, fitTable } from "../../src/report/fit_table.ts";

type Row = { name: string; n: number; note: string };

const columns: FitColumn<Row>[] = [
  { header: "NAME", cell: (r) => r.name, rank: 0 },
  { header: "NOTE", cell: (r) => r.note, rank: 2 },
  { header: "COUNT", cell: (r) => String(r.n), numeric: true, rank: 1 },
];
const rows: Row[] = [
  { name: "acme", n: 7, note: "a long note about acme" },
  { name: "globex", n: 1234, note: "short" },
];

Deno.test("fitTable keeps every column in its order when they fit, numbers right-aligned", () => {
  const { lines, dropped } = fitTable(columns, rows);
  assert.equal(dropped, 0);
  assert.deepEqual(lines, [
    "NAME    NOTE                    COUNT",
    "acme    a long note about acme      7",
    "globex  short                    1234",
  ]);
});

Deno.test("fitTable leaves out the least needed columns first, whatever their place", () => {
  const { lines, dropped } = fitTable(columns, rows, { columns: 20 });
  assert.equal(dropped, 1);
  assert.deepEqual(lines, ["NAME    COUNT", "acme        7", "globex   1234"]);
  for (const line of lines) assert.ok(line.length <= 20);
});

Deno.test("fitTable keeps the columns it must keep even when they do not fit", () => {
  const { lines, dropped } = fitTable(columns, rows, { columns: 3, keep: 1 });
  assert.equal(dropped, 2);
  assert.deepEqual(lines, ["NAME", "acme", "globex"]);
});

Deno.test("The note under a table says how many columns it left out, in good grammar", () => {
  assert.deepEqual(droppedNote(0), []);
  assert.deepEqual(droppedNote(1), ["(1 more column with --json or wider)"]);
  assert.deepEqual(droppedNote(3), ["(3 more columns with --json or wider)"]);
});

Deno.test("fitTable keeps a narrow column that fits once a wider, more needed one is left out", () => {
  const wide: FitColumn<Row>[] = [
    { header: "NAME", cell: (r) => r.name, rank: 0 },
    { header: "NOTE", cell: (r) => r.note, rank: 1 },
    { header: "COUNT", cell: (r) => String(r.n), numeric: true, rank: 2 },
  ];
  const { lines, dropped } = fitTable(wide, rows, { columns: 20 });
  assert.equal(dropped, 1);
  assert.deepEqual(lines, ["NAME    COUNT", "acme        7", "globex   1234"]);
});
