import assert from "node:assert/strict";
import { formatRows } from "../../src/report/rows_table.ts";

Deno.test("formatRows prints rows as psql does, nulls empty and a row count", () => {
  const text = formatRows(["account", "count", "seen"], [
    { account: "acme", count: "100", seen: new Date("2026-01-02T03:04:05.000Z") },
    { account: "initech", count: "7", seen: null },
  ]);
  assert.equal(
    text,
    [
      " account | count | seen",
      "---------+-------+--------------------------",
      " acme    | 100   | 2026-01-02T03:04:05.000Z",
      " initech | 7     |",
      "(2 rows)",
    ].join("\n"),
  );
});

Deno.test("formatRows keeps one line per row and shows JSON values as JSON", () => {
  const text = formatRows(["payload"], [{ payload: { name: "a\nb" } }, { payload: "x\ny" }]);
  assert.equal(text.split("\n").length, 5);
  assert.match(text, /^ \{"name":"a\\nb"\}$/m);
  assert.match(text, /^ x\\ny/m);
  assert.equal(formatRows(["n"], []), " n\n---\n(0 rows)");
});
