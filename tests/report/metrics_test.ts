import assert from "node:assert/strict";
import { addRuns, renderMetrics, writeMetricsFile } from "../../src/report/metrics.ts";
import type { AccountOutcome } from "../../src/run_summary.ts";
import { RUN_SUMMARY } from "../_fixtures.ts";
import { parsePrometheus, valueOf } from "./_prometheus.ts";

const base: AccountOutcome = {
  account: "acme",
  summary: {
    ...RUN_SUMMARY,
    status: "partial",
    synced: 95,
    failed: 3,
    rejected: 2,
    deleted: 4,
    duration_ms: 754_250,
  },
  requests: [
    { endpoint: "token", status: "200", count: 1 },
    { endpoint: "list", status: "200", count: 10 },
    { endpoint: "list", status: "503", count: 3 },
    { endpoint: "list", status: "timeout", count: 2 },
    { endpoint: "sync", status: "200", count: 100 },
  ],
  lastSuccessUnix: 1_700_000_000,
};

Deno.test("The metrics text parses as Prometheus text and holds the run's numbers", async () => {
  const samples = parsePrometheus(await renderMetrics([base]));
  assert.ok(samples.every((s) => s.name.startsWith("adsync_") && s.labels.account === "acme"));
  assert.equal(valueOf(samples, "adsync_campaigns_synced"), 95);
  assert.equal(valueOf(samples, "adsync_campaigns_failed"), 3);
  assert.equal(valueOf(samples, "adsync_campaigns_rejected"), 2);
  assert.equal(valueOf(samples, "adsync_campaigns_deleted"), 4);
  assert.equal(valueOf(samples, "adsync_campaigns_inserted"), 3);
  assert.equal(valueOf(samples, "adsync_campaigns_updated"), 5);
  assert.equal(valueOf(samples, "adsync_campaigns_unchanged"), 92);
  assert.equal(
    valueOf(samples, "adsync_last_run_requests", { endpoint: "list", status: "503" }),
    3,
  );
  assert.equal(
    valueOf(samples, "adsync_last_run_requests", { endpoint: "sync", status: "200" }),
    100,
  );
  assert.equal(valueOf(samples, "adsync_last_run_rate_limited"), 0);
  assert.equal(valueOf(samples, "adsync_last_run_retries"), 21);
  assert.equal(valueOf(samples, "adsync_last_run_token_refreshes"), 1);
  assert.equal(valueOf(samples, "adsync_run_duration_seconds"), 754.25);
  assert.equal(valueOf(samples, "adsync_run_status", { status: "partial" }), 1);
  assert.equal(valueOf(samples, "adsync_run_status", { status: "ok" }), 0);
  assert.equal(valueOf(samples, "adsync_last_success_timestamp_seconds"), 1_700_000_000);
});

Deno.test("Every metric holds one series per account, labelled by account, under one HELP", async () => {
  const globex: AccountOutcome = {
    ...base,
    account: "globex",
    summary: { ...base.summary, status: "failed", synced: 0, failed: 0 },
    requests: [{ endpoint: "token", status: "401", count: 1 }],
    lastSuccessUnix: null,
  };
  const text = await renderMetrics([base, globex]);
  const samples = parsePrometheus(text);
  assert.equal(text.match(/^# HELP adsync_campaigns_synced /gm)?.length, 1);
  const names = new Set(samples.map((s) => s.name));
  for (const name of names) {
    const accounts = new Set(samples.filter((s) => s.name === name).map((s) => s.labels.account));
    assert.deepEqual([...accounts].sort(), ["acme", "globex"], `${name} covers both accounts`);
  }
  assert.equal(valueOf(samples, "adsync_campaigns_synced", { account: "acme" }), 95);
  assert.equal(valueOf(samples, "adsync_campaigns_synced", { account: "globex" }), 0);
  assert.equal(valueOf(samples, "adsync_run_status", { account: "globex", status: "failed" }), 1);
  assert.equal(
    valueOf(samples, "adsync_last_run_requests", { account: "globex", endpoint: "token" }),
    1,
  );
  assert.equal(
    valueOf(samples, "adsync_last_success_timestamp_seconds", { account: "globex" }),
    0,
  );
});

Deno.test("Request rows for the same endpoint and status are added into one series", async () => {
  const requests = [
    { endpoint: "list" as const, status: "503", count: 2 },
    { endpoint: "list" as const, status: "503", count: 5 },
  ];
  const samples = parsePrometheus(await renderMetrics([{ ...base, requests }]));
  assert.equal(
    valueOf(samples, "adsync_last_run_requests", { endpoint: "list", status: "503" }),
    7,
  );
});

Deno.test("A run that never succeeded reports 0 as its last success time", async () => {
  const samples = parsePrometheus(await renderMetrics([{ ...base, lastSuccessUnix: null }]));
  assert.equal(valueOf(samples, "adsync_last_success_timestamp_seconds"), 0);
});

Deno.test("Label values with backslashes, quotes and newlines are escaped", async () => {
  const account = 'ac\\me "east"\nwest';
  const text = await renderMetrics([{ ...base, account }]);
  assert.ok(text.includes('account="ac\\\\me \\"east\\"\\nwest"'));
  const samples = parsePrometheus(text);
  assert.ok(samples.every((s) => s.labels.account === account));
});

Deno.test("writeMetricsFile replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/adsync.prom`;
    await Deno.writeTextFile(path, "# old content\n");
    const text = await renderMetrics([base]);
    await writeMetricsFile(path, text);
    assert.equal(await Deno.readTextFile(path), text);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["adsync.prom"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeMetricsFile fails without leaving debris when the directory is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      writeMetricsFile(`${dir}/missing/adsync.prom`, "x 1\n"),
      Deno.errors.NotFound,
    );
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("The metrics show each account's rate limit in force and where it came from", async () => {
  const learnt: AccountOutcome = {
    ...base,
    account: "globex",
    summary: { ...base.summary, rate_limit: "20/1s", rate_limit_source: "advertised" },
  };
  const samples = parsePrometheus(await renderMetrics([base, learnt]));
  const labels = { account: "globex", source: "advertised" };
  assert.equal(valueOf(samples, "adsync_rate_limit_requests", labels), 20);
  assert.equal(valueOf(samples, "adsync_rate_limit_window_seconds", labels), 1);
  // A run that never started has no limit: no series rather than a made-up one.
  assert.ok(
    !samples.some((s) => s.name === "adsync_rate_limit_requests" && s.labels.account === "acme"),
  );
});

Deno.test("A metrics file holds only gauges: a run's numbers never pass for Prometheus counters", async () => {
  const text = await renderMetrics([base]);
  assert.doesNotMatch(text, /^# TYPE \S+ counter$/m);
  assert.doesNotMatch(text, /^adsync_\w+_total[{ ]/m, "no _total series describes one run");
  assert.match(text, /^# TYPE adsync_last_run_requests gauge$/m);
});

Deno.test("addRuns adds up one account's runs: counters and request rows, one row per outcome", () => {
  const second: AccountOutcome = {
    ...base,
    summary: { ...base.summary, status: "ok", requests: 5, retries: 1 },
    requests: [{ endpoint: "list", status: "503", count: 4 }],
    lastSuccessUnix: 1_800_000_000,
  };
  const sum = addRuns(addRuns(undefined, base), second);
  assert.equal(sum.summary.requests, base.summary.requests + 5);
  assert.equal(sum.summary.retries, base.summary.retries + 1);
  assert.equal(sum.summary.status, "ok", "the rest is the latest run's");
  assert.deepEqual(sum.requests.find((r) => r.endpoint === "list" && r.status === "503"), {
    endpoint: "list",
    status: "503",
    count: 7,
  });
  assert.equal(sum.requests.length, base.requests.length);
});

Deno.test("The metrics say which accounts' platforms enforced less than they advertised", async () => {
  const enforced: AccountOutcome = {
    ...base,
    account: "globex",
    summary: {
      ...base.summary,
      rate_limit: "10/6s",
      rate_limit_source: "enforced",
      rate_limit_advertised: "100/6s",
    },
  };
  const samples = parsePrometheus(await renderMetrics([base, enforced]));
  assert.equal(valueOf(samples, "adsync_advertised_limit_overridden", { account: "globex" }), 1);
  assert.equal(valueOf(samples, "adsync_advertised_limit_overridden", { account: "acme" }), 0);
  const labels = { account: "globex", source: "enforced" };
  assert.equal(valueOf(samples, "adsync_rate_limit_requests", labels), 10);
});

Deno.test("adsync_last_run_error is 1 under the failed run's error_code, and 0 without one for the rest", async () => {
  const failed: AccountOutcome = {
    ...base,
    account: "globex",
    summary: { ...base.summary, status: "failed", error_code: "AUTH_REFUSED" },
  };
  const text = await renderMetrics([base, failed]);
  const samples = parsePrometheus(text);
  const errors = samples.filter((s) => s.name === "adsync_last_run_error");
  assert.deepEqual(errors.map((s) => [s.labels.account, s.labels.error_code ?? "", s.value]), [
    ["acme", "", 0],
    ["globex", "AUTH_REFUSED", 1],
  ]);
  assert.match(text, /# TYPE adsync_last_run_error gauge/);
  assert.equal(valueOf(samples, "adsync_run_status", { account: "globex", status: "failed" }), 1);
});
