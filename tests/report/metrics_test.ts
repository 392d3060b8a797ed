import assert from "node:assert/strict";
import { type MetricsSnapshot, renderMetrics, writeMetricsFile } from "../../src/report/metrics.ts";

const base: MetricsSnapshot = {
  account: "acme",
  summary: {
    run_id: "run-1",
    status: "partial",
    campaigns_total: 100,
    synced: 95,
    skipped: 0,
    failed: 3,
    rejected: 2,
    deleted: 4,
    deletions_withheld: 0,
    requests: 131,
    rate_limited: 0,
    retries: 21,
    timeouts: 9,
    token_refreshes: 1,
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

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format; throws on any line it does not accept. */
function parsePrometheus(text: string): Sample[] {
  assert.ok(text.endsWith("\n"), "the text ends with a newline");
  const help = new Set<string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (kind === "HELP") help.add(name);
      else {
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/);
        type.set(name, rest);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText = "", valueText] = sample as unknown as [
      string,
      string,
      string,
      string,
    ];
    assert.ok(help.has(name) && type.has(name), `${name} has HELP and TYPE before its samples`);
    const value = /^(NaN|[+-]Inf)$/.test(valueText) ? 0 : Number(valueText);
    assert.ok(valueText !== "" && !Number.isNaN(value), `${valueText} is a number`);
    samples.push({ name, labels: parseLabels(labelText), value: Number(valueText) });
  }
  const series = samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`);
  assert.equal(new Set(series).size, series.length, "no series appears twice");
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/y;
  while (pair.lastIndex < text.length) {
    const match = pair.exec(text);
    assert.ok(match, `bad labels: ${text}`);
    labels[match[1]!] = match[2]!.replace(/\\([\\"n])/g, (_, c) => c === "n" ? "\n" : c);
  }
  return labels;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.equal(found.length, 1, `exactly one ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

Deno.test("The metrics text parses as Prometheus text and holds the run's numbers", () => {
  const samples = parsePrometheus(renderMetrics([base]));
  assert.ok(samples.every((s) => s.name.startsWith("adsync_") && s.labels.account === "acme"));
  assert.equal(valueOf(samples, "adsync_campaigns_synced"), 95);
  assert.equal(valueOf(samples, "adsync_campaigns_failed"), 3);
  assert.equal(valueOf(samples, "adsync_campaigns_rejected"), 2);
  assert.equal(valueOf(samples, "adsync_campaigns_deleted"), 4);
  assert.equal(valueOf(samples, "adsync_requests_total", { endpoint: "list", status: "503" }), 3);
  assert.equal(valueOf(samples, "adsync_requests_total", { endpoint: "sync", status: "200" }), 100);
  assert.equal(valueOf(samples, "adsync_rate_limited_total"), 0);
  assert.equal(valueOf(samples, "adsync_retries_total"), 21);
  assert.equal(valueOf(samples, "adsync_token_refreshes_total"), 1);
  assert.equal(valueOf(samples, "adsync_run_duration_seconds"), 754.25);
  assert.equal(valueOf(samples, "adsync_run_status", { status: "partial" }), 1);
  assert.equal(valueOf(samples, "adsync_run_status", { status: "ok" }), 0);
  assert.equal(valueOf(samples, "adsync_last_success_timestamp_seconds"), 1_700_000_000);
});

Deno.test("Every metric holds one series per account, labelled by account, under one HELP", () => {
  const globex: MetricsSnapshot = {
    ...base,
    account: "globex",
    summary: { ...base.summary, run_id: "run-2", status: "failed", synced: 0, failed: 0 },
    requests: [{ endpoint: "token", status: "401", count: 1 }],
    lastSuccessUnix: null,
  };
  const text = renderMetrics([base, globex]);
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
    valueOf(samples, "adsync_requests_total", { account: "globex", endpoint: "token" }),
    1,
  );
  assert.equal(
    valueOf(samples, "adsync_last_success_timestamp_seconds", { account: "globex" }),
    0,
  );
});

Deno.test("Request rows for the same endpoint and status are added into one series", () => {
  const requests = [
    { endpoint: "list" as const, status: "503", count: 2 },
    { endpoint: "list" as const, status: "503", count: 5 },
  ];
  const samples = parsePrometheus(renderMetrics([{ ...base, requests }]));
  assert.equal(valueOf(samples, "adsync_requests_total", { endpoint: "list", status: "503" }), 7);
});

Deno.test("A run that never succeeded reports 0 as its last success time", () => {
  const samples = parsePrometheus(renderMetrics([{ ...base, lastSuccessUnix: null }]));
  assert.equal(valueOf(samples, "adsync_last_success_timestamp_seconds"), 0);
});

Deno.test("Label values with backslashes, quotes and newlines are escaped", () => {
  const account = 'ac\\me "east"\nwest';
  const text = renderMetrics([{ ...base, account }]);
  assert.ok(text.includes('account="ac\\\\me \\"east\\"\\nwest"'));
  const samples = parsePrometheus(text);
  assert.ok(samples.every((s) => s.labels.account === account));
});

Deno.test("writeMetricsFile replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/adsync.prom`;
    await Deno.writeTextFile(path, "# old content\n");
    const text = renderMetrics([base]);
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
