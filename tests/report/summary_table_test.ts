import assert from "node:assert/strict";
import { formatSummary } from "../../src/report/summary_table.ts";
import type { RunSummary } from "../../src/sync/run_summary.ts";

const base: RunSummary = {
  run_id: "run-2024-01",
  status: "ok",
  campaigns_total: 100,
  synced: 100,
  skipped: 0,
  failed: 0,
  rejected: 0,
  deleted: 0,
  requests: 131,
  rate_limited: 0,
  retries: 21,
  timeouts: 9,
  token_refreshes: 1,
  duration_ms: 754_000,
};

function rows(text: string): Map<string, string> {
  return new Map(
    text.split("\n").map((line) => {
      const match = /^(.+?)\s{2,}(.*)$/.exec(line);
      assert.ok(match, `not a table row: ${JSON.stringify(line)}`);
      return [match[1]!, match[2]!.trim()];
    }),
  );
}

Deno.test("The summary table starts with the status and shows every count and the duration", () => {
  const text = formatSummary({
    ...base,
    status: "partial",
    synced: 95,
    failed: 3,
    rejected: 2,
    deleted: 5,
  });
  assert.match(text.split("\n")[0]!, /^status\s+partial/);
  const table = rows(text);
  assert.equal(table.get("run"), "run-2024-01");
  assert.equal(table.get("campaigns"), "100");
  assert.equal(table.get("synced"), "95");
  assert.equal(table.get("failed"), "3");
  assert.equal(table.get("rejected"), "2");
  assert.equal(table.get("deleted"), "5");
  assert.equal(table.get("requests"), "131");
  assert.equal(table.get("rate limited"), "0");
  assert.equal(table.get("retries"), "21");
  assert.equal(table.get("timeouts"), "9");
  assert.equal(table.get("token refreshes"), "1");
  assert.equal(table.get("duration"), "12m34s");
});

Deno.test("The summary table lines up its values in one column", () => {
  const lines = formatSummary(base).split("\n");
  const column = lines[0]!.indexOf("ok");
  for (const line of lines) {
    assert.ok(/^[a-z ]+$/.test(line.slice(0, column)), `labels stay left of the values: ${line}`);
  }
  for (const label of ["status", "run", "duration"]) {
    assert.notEqual(lines.find((line) => line.startsWith(label))![column], " ");
  }
  // Counts are right-aligned, so their last digits line up.
  const countEnds = ["campaigns", "synced", "retries"].map((label) =>
    lines.find((line) => line.startsWith(label))!.length
  );
  assert.equal(new Set(countEnds).size, 1);
});

Deno.test("An interrupted run tells the operator how to continue", () => {
  assert.match(formatSummary({ ...base, status: "interrupted" }), /--resume/);
});

Deno.test("The summary table names the listing's drift only when there was some", () => {
  const clean = formatSummary({ ...base, drift: { duplicates: 0, missing: 0 } });
  assert.doesNotMatch(clean, /drift/);
  const drifted = formatSummary({
    ...base,
    drift: { duplicates: 2, missing: 0, total_changes: 1 },
  });
  assert.match(drifted, /^drift\s+duplicates 2, total changes 1$/m);
});
