import assert from "node:assert/strict";
import { type AccountStatus, formatStatusTable } from "../../src/report/status_table.ts";

const row: AccountStatus = {
  account: "acme",
  run_id: "20261202T010618Z-f2e70eb4",
  status: "failed",
  source: "sync",
  started_at: "2026-12-02T01:06:18.000Z",
  updated_at: "2026-12-02T01:06:39.123Z",
  pages_done: 0,
  pages_total: null,
  campaigns_total: null,
  synced: 0,
  rejected: 0,
  failed: 0,
  requests: 0,
  duration_ms: 12,
  last_error: "Cannot log in to http://localhost:3001 for account acme: connection refused",
  rate_limit: "10/60s",
  rate_limit_source: "default",
  deletions_withheld: 0,
};

Deno.test("The status table shows one row per account, its error under it", () => {
  const lines = formatStatusTable([row]).split("\n");
  assert.match(
    lines[0]!,
    /^ACCOUNT\s+STATUS\s+SOURCE\s+CAMPAIGNS\s+FAILED\s+LIMIT\s+UPDATED\s+RUN$/,
  );
  assert.match(
    lines[1]!,
    /^acme\s+failed\s+sync\s+0\/\?\s+0\s+10\/60s default\s+2026-12-02 01:06:39Z\s+20261202T/,
  );
  assert.equal(lines[2], `  error: ${row.last_error}`);
});

Deno.test("With a server, a QUEUE column; an account that never ran is a row of its own", () => {
  const never: AccountStatus = {
    ...row,
    account: "globex",
    run_id: null,
    status: "never run",
    source: null,
    updated_at: null,
    last_error: null,
    queue_state: "queued",
    queue_worker: null,
    rate_limit: null,
    rate_limit_source: null,
  };
  const running = { ...row, status: "running", last_error: null, queue_state: "running" as const };
  const text = formatStatusTable([{ ...running, queue_worker: "w1" }, never], { withQueue: true });
  assert.match(text, /^ACCOUNT\s+STATUS\s+SOURCE\s+QUEUE\s+CAMPAIGNS/);
  assert.match(text, /^acme\s+running\s+sync\s+running on w1\s/m);
  assert.match(text, /^globex\s+never run\s+-\s+queued\s+-\s+-\s+-\s+-\s+-$/m);
});

Deno.test("A refused mass deletion is a note under its account's row", () => {
  const withheld = { ...row, status: "ok", last_error: null, deletions_withheld: 20 };
  const lines = formatStatusTable([withheld]).split("\n");
  assert.equal(lines.length, 3);
  assert.match(
    lines[2]!,
    /^ {2}note: 20 deletions withheld \(mass deletion\): --allow-mass-delete/,
  );
});

Deno.test("At 80 columns the status table fits: the least needed columns go, errors wrap", () => {
  const queued = {
    ...row,
    account: "globex",
    status: "interrupted",
    source: "sync_runs" as const,
    rate_limit_source: "advertised",
    queue_state: "running" as const,
    queue_worker: "w7",
    last_error: `${row.last_error} (is the platform running? check AD_PLATFORM_API_URL)`,
  };
  const text = formatStatusTable([row, queued], { withQueue: true, columns: 80 });
  const lines = text.split("\n");
  for (const line of lines) assert.ok(line.length <= 80, `wider than 80: ${line}`);
  assert.match(lines[0]!, /^ACCOUNT\s+STATUS\s+QUEUE\s+CAMPAIGNS\s+FAILED\s+UPDATED$/);
  assert.match(text, /^globex\s+interrupted\s+running on w7\s/m);
  assert.match(text, /^ {2}error: Cannot log in to http:\/\/localhost:3001 for account acme:/m);
  assert.equal(lines.at(-1), "(3 more columns with --json or wider)");
  const wide = formatStatusTable([row, queued], { withQueue: true, columns: 200 }).split("\n");
  assert.match(
    wide[0]!,
    /^ACCOUNT\s+STATUS\s+SOURCE\s+QUEUE\s+CAMPAIGNS\s+FAILED\s+LIMIT\s+UPDATED\s+RUN$/,
  );
  assert.ok(!wide.some((line) => line.includes("more column")));
});

Deno.test("The LIMIT column says when the platform enforced less than it advertised", () => {
  const enforced = {
    ...row,
    status: "ok",
    last_error: null,
    rate_limit: "10/6s",
    rate_limit_source: "enforced",
    rate_limit_advertised: "100/6s",
  };
  assert.match(
    formatStatusTable([enforced]),
    /^acme\s+ok\s+sync\s+0\/\?\s+0\s+10\/6s enforced \(advertised 100\/6s\)\s+2026/m,
  );
});
