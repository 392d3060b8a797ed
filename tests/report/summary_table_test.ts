import assert from "node:assert/strict";
import { formatReport, formatSummary, problemsFirst } from "../../src/report/summary_table.ts";
import type { RunSummary } from "../../src/run_summary.ts";
import { RUN_SUMMARY } from "../_fixtures.ts";

const base: RunSummary = { ...RUN_SUMMARY, run_id: "run-2024-01" };

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
  assert.equal(table.get("inserted"), "3");
  assert.equal(table.get("updated"), "5");
  assert.equal(table.get("unchanged"), "92");
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

Deno.test("A one-account report prints exactly the one-account summary table", () => {
  const summary = { ...base, account: "acme" };
  assert.equal(formatReport({ ...summary, accounts: [summary] }), formatSummary(summary));
});

const manyAccounts = {
  ...base,
  status: "failed" as const,
  campaigns_total: 300,
  synced: 298,
  inserted: 9,
  updated: 15,
  unchanged: 274,
  failed: 2,
  requests: 393,
  duration_ms: 800_000,
  accounts: [
    { ...base, run_id: "run-a", account: "acme" },
    {
      ...base,
      run_id: "run-b",
      account: "globex",
      status: "failed" as const,
      last_error: "Cannot log in to http://localhost:3001 for account globex: the platform " +
        "refused the credentials (401)",
    },
    { ...base, run_id: "run-c", account: "initech", status: "partial" as const, failed: 2 },
  ],
};

Deno.test("A many-account table lists problems first, one row per account, then the totals", () => {
  // Wide enough for every column, the run ids last.
  const lines = formatReport(manyAccounts, { columns: 200 }).split("\n");
  assert.match(lines[0]!, /^status\s+failed · 3 accounts: 1 failed, 1 partial, 1 ok$/);
  assert.equal(lines[1], "");
  assert.match(lines[2]!, /^ACCOUNT\s+STATUS\s+CAMPAIGNS\s+SYNCED\s+FAILED/);
  const rows = lines.slice(3).filter((line) => !line.startsWith(" "));
  assert.deepEqual(rows.map((line) => line.split(/\s+/)[0]), [
    "globex",
    "initech",
    "acme",
    "total",
  ]);
  assert.match(lines[3]!, /^globex\s+failed\s+100\s+100\s.*run-b$/);
  assert.match(
    lines[4]!,
    /^ {2}error: Cannot log in to .*\(401\)$/,
    "the error sits under its row",
  );
  assert.match(rows[3]!, /^total\s+failed\s+300\s+298\s+2\s+0\s+13m20s\s+393/);
  // Counts are right-aligned: each row's numbers end in the same columns as the header's.
  const end = lines[2]!.indexOf("CAMPAIGNS") + "CAMPAIGNS".length;
  for (const line of rows) assert.match(line[end - 1]!, /\d/);
});

Deno.test("At 80 columns the many-account table fits: fewer columns, errors wrapped under rows", () => {
  const text = formatReport(manyAccounts, { columns: 80 });
  for (const line of text.split("\n")) assert.ok(line.length <= 80, `too wide: ${line}`);
  assert.match(text, /^ACCOUNT\s+STATUS\s+CAMPAIGNS\s+SYNCED\s+FAILED\s+REJECTED\s+DURATION/m);
  assert.match(text, /^ {2}error: Cannot log in to http:\/\/localhost:3001 for account globex:/m);
  assert.match(text, /^ {2}\S.*\(401\)$/m, "the rest of the error on the next line");
  assert.match(text, /more columns with --json or wider\)$/);
});

Deno.test("At 100 columns the many-account table says how many campaigns were inserted and updated", () => {
  const lines = formatReport(manyAccounts, { columns: 100 }).split("\n");
  for (const line of lines) assert.ok(line.length <= 100, `too wide: ${line}`);
  assert.match(lines[2]!, /\s429\s+INSERTED\s+UPDATED$/);
  assert.match(lines[3]!, /^globex\s.*\s3\s+5$/);
  const total = lines.find((line) => line.startsWith("total"))!;
  assert.match(total, /\s9\s+15$/);
});

Deno.test("At 80 columns a one-account summary wraps its error under the value column", () => {
  const text = formatSummary({
    ...base,
    status: "failed",
    last_error: "Cannot log in to http://localhost:3001 for account default: connection " +
      "refused (is the platform running? check AD_PLATFORM_API_URL)",
  }, { columns: 80 });
  const lines = text.split("\n");
  for (const line of lines) assert.ok(line.length <= 80, `too wide: ${line}`);
  const error = lines.findIndex((line) => line.startsWith("error"));
  assert.match(lines[error]!, /^error\s+Cannot log in to/);
  assert.match(lines[error + 1]!, /^ {17}\S/, "the rest lines up under the value");
});

Deno.test("Problems are listed first: failed, partial, interrupted, then ok, else in file order", () => {
  const list = [
    { status: "ok" as const, id: 1 },
    { status: "interrupted" as const, id: 2 },
    { status: "partial" as const, id: 3 },
    { status: "ok" as const, id: 4 },
    { status: "failed" as const, id: 5 },
    { status: "partial" as const, id: 6 },
  ];
  assert.deepEqual(problemsFirst(list).map((item) => item.id), [5, 3, 6, 2, 1, 4]);
});

Deno.test("A wide many-account table shows every counter, the most needed first", () => {
  // Deletions withheld have a column only when some account withheld one.
  const withheld = {
    ...manyAccounts,
    deletions_withheld: 60,
    accounts: [...manyAccounts.accounts, { ...base, account: "umbrella", deletions_withheld: 60 }],
  };
  const [header] = formatReport(withheld, { columns: 400 }).split("\n").slice(2);
  assert.deepEqual(header!.split(/\s+/), [
    "ACCOUNT",
    "STATUS",
    "CAMPAIGNS",
    "SYNCED",
    "FAILED",
    "REJECTED",
    "DURATION",
    "REQUESTS",
    "429",
    "INSERTED",
    "UPDATED",
    "UNCHANGED",
    "SKIPPED",
    "DELETED",
    "RETRIES",
    "TIMEOUTS",
    "REFRESHES",
    "WITHHELD",
    "RUN",
  ]);
});

Deno.test("The one-account summary has a withheld row only when a mass deletion was withheld", () => {
  assert.equal(base.deletions_withheld, 0);
  assert.equal(rows(formatSummary(base)).has("withheld"), false);
  assert.equal(rows(formatSummary({ ...base, deletions_withheld: 60 })).get("withheld"), "60");
});

Deno.test("At 200 columns a many-account table of real run ids shows every column", () => {
  // Every counter, the three of what changed included, and the run id: 196 columns.
  // The demo's shape: accounts of 100 campaigns, run ids as sync makes them, 3-digit counts.
  const account = (name: string, status: RunSummary["status"]) => ({
    ...base,
    run_id: "20261202T010618Z-f2e70eb4",
    account: name,
    status,
    requests: 131,
    duration_ms: 754_000,
  });
  const accounts = ["acme-corp", "globex-int", "initech"].map((name) => account(name, "ok"));
  accounts[1] = { ...accounts[1]!, status: "interrupted" };
  const report = {
    ...account("", "interrupted"),
    campaigns_total: 300,
    synced: 300,
    requests: 393,
    retries: 63,
    accounts,
  };
  const lines = formatReport(report, { columns: 200 }).split("\n");
  for (const line of lines) assert.ok(line.length <= 200, `wider than 200: ${line}`);
  assert.ok(!lines.some((line) => line.includes("more column")), lines.join("\n"));
  assert.match(lines[2]!, /\sREFRESHES\s+RUN$/);
  assert.doesNotMatch(lines[2]!, /WITHHELD/);
});

Deno.test("The summary table says when the platform enforced less than it advertised", () => {
  const honest = formatSummary({ ...base, rate_limit: "100/6s" });
  assert.doesNotMatch(honest, /^rate limit\s/m);
  const lying = formatSummary({ ...base, rate_limit: "10/6s", rate_limit_advertised: "100/6s" });
  assert.equal(rows(lying).get("rate limit"), "10/6s enforced (advertised 100/6s)");
});
