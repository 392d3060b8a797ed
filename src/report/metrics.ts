import { basename, dirname, join } from "node:path";
import { Counter, Gauge, Registry } from "prom-client";
import { parseRateLimit } from "../duration.ts";
import { RUN_COUNTERS, RUN_STATUSES, type RunCounter } from "../run_counters.ts";
import type { AccountOutcome, RequestCount } from "../run_summary.ts";

/** Every metric name starts with this. */
export const METRIC_PREFIX = "adsync_";

/** Options of {@linkcode createRunMetrics} and {@linkcode renderMetrics}. */
export interface RunMetricsOptions {
  /** Labels put first on every series, such as the worker's name. @default {} */
  labels?: Readonly<Record<string, string>>;
}

/** The metrics of each account's last run, registered once and updated before each reading. */
export interface RunMetrics {
  /** Replaces every series with those of `accounts` (one series per account). */
  update(accounts: readonly AccountOutcome[]): void;
}

/** The counters of every run since the process started, for a live endpoint. */
export interface RunTotalsMetrics {
  /** Sets every series to `totals` (per account, every run added up: see `addRuns`). */
  update(totals: readonly AccountOutcome[]): void;
}

type Labels = Record<string, string>;
type Family = { metric: Gauge | Counter; samples: (m: AccountOutcome, own: Labels) => Sample[] };
type Sample = [labels: Labels, value: number];

/**
 * The name of a counter's last-run gauge: a gauge's own name; `requests_total` (what a run did)
 * becomes `last_run_requests`, since a series that restarts with every run is no counter.
 */
export function lastRunMetric(counter: Pick<RunCounter, "metric" | "type">): string {
  return counter.type === "counter"
    ? `last_run_${counter.metric.replace(/_total$/, "")}`
    : counter.metric;
}

/**
 * Registers on `registry` the metrics of each account's last run, all gauges: one family per
 * counter of {@linkcode RUN_COUNTERS} (named by {@linkcode lastRunMetric}; requests broken down by
 * endpoint and outcome), the duration, the status, the error it ended with (by `error_code`) and
 * the time of the last success, each series labelled `account`.
 */
export function createRunMetrics(registry: Registry, options: RunMetricsOptions = {}): RunMetrics {
  const family = familyOn(registry, options.labels ?? {});
  const families = [
    ...RUN_COUNTERS.map((counter) =>
      counterFamily(
        family,
        "gauge",
        lastRunMetric(counter),
        counter.type === "counter" ? `${counter.help} In the last run.` : counter.help,
        counter,
      )
    ),
    ...outcomeFamilies(family),
    family(
      "gauge",
      "rate_limit_requests",
      "Requests the account's rate-limit window allows in its last run, labelled by where the limit came from.",
      ["source"],
      (m, own) => limitSamples(m, own, (limit) => limit.count),
    ),
    family(
      "gauge",
      "rate_limit_window_seconds",
      "Length of the account's rate-limit window in its last run, labelled by where the limit came from.",
      ["source"],
      (m, own) => limitSamples(m, own, (limit) => limit.windowMs / 1_000),
    ),
    family(
      "gauge",
      "advertised_limit_overridden",
      "1 when the platform's 429s showed it enforces less than it advertised, and the account's last run kept to what it enforced (adsync_rate_limit_requests{source=\"enforced\"}); else 0.",
      [],
      (m, own) => [[own, m.summary.rate_limit_source === "enforced" ? 1 : 0]],
    ),
    family(
      "gauge",
      "last_success_timestamp_seconds",
      "Unix time of the last run that synced every campaign; 0 if none.",
      [],
      (m, own) => [[own, m.lastSuccessUnix ?? 0]],
    ),
  ];
  return { update: (accounts) => fill(families, accounts, options.labels ?? {}) };
}

/** How the last run ended: its duration, its status, and the error it ended with. */
function outcomeFamilies(family: ReturnType<typeof familyOn>): Family[] {
  return [
    family("gauge", "run_duration_seconds", "Duration of the last run.", [], (m, own) => [
      [own, m.summary.duration_ms / 1_000],
    ]),
    family(
      "gauge",
      "run_status",
      "1 for the status the last run ended with, 0 for the others.",
      ["status"],
      (m, own) =>
        RUN_STATUSES.map((status): Sample => [
          { ...own, status },
          status === m.summary.status ? 1 : 0,
        ]),
    ),
    family(
      "gauge",
      "last_run_error",
      "1 when the account's last run ended with an error, labelled by the error's stable error_code; 0, with no error_code, when it did not.",
      ["error_code"],
      errorSamples,
    ),
  ];
}

/**
 * Registers on `registry` the true counters of a long-running process (a worker's or a sync's
 * live endpoint): each `counter` of {@linkcode RUN_COUNTERS} under its `_total` name, adding up
 * every run of the process, so they only grow while it lives.
 */
export function createRunTotals(
  registry: Registry,
  options: RunMetricsOptions = {},
): RunTotalsMetrics {
  const family = familyOn(registry, options.labels ?? {});
  const families = RUN_COUNTERS.filter((counter) => counter.type === "counter").map((counter) =>
    counterFamily(
      family,
      "counter",
      counter.metric,
      `${counter.help} Every run since the process started.`,
      counter,
    )
  );
  return { update: (totals) => fill(families, totals, options.labels ?? {}) };
}

/** One account's runs added up: the counters and the request rows of both, the rest `next`'s. */
export function addRuns(
  previous: AccountOutcome | undefined,
  next: AccountOutcome,
): AccountOutcome {
  if (!previous) return next;
  const summary = { ...next.summary };
  for (const { key } of RUN_COUNTERS) summary[key] = previous.summary[key] + next.summary[key];
  const requests = new Map<string, RequestCount>();
  for (const row of [...previous.requests, ...next.requests]) {
    const key = `${row.endpoint} ${row.status}`;
    requests.set(key, { ...row, count: (requests.get(key)?.count ?? 0) + row.count });
  }
  return { ...next, summary, requests: [...requests.values()] };
}

/** Declares metric families on `registry`, each labelled with `constant` and `account` first. */
function familyOn(registry: Registry, constant: Labels) {
  return (
    kind: "gauge" | "counter",
    name: string,
    help: string,
    extraLabels: string[],
    samples: Family["samples"],
  ): Family => {
    const config = {
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: [...Object.keys(constant), "account", ...extraLabels],
      registers: [registry],
    };
    return { metric: kind === "gauge" ? new Gauge(config) : new Counter(config), samples };
  };
}

/** The family of one of {@linkcode RUN_COUNTERS}: requests by endpoint and outcome. */
function counterFamily(
  family: ReturnType<typeof familyOn>,
  kind: "gauge" | "counter",
  name: string,
  help: string,
  { key }: RunCounter,
): Family {
  return key === "requests"
    ? family(kind, name, help, ["endpoint", "status"], requestSamples)
    : family(kind, name, help, [], (m, own) => [[own, m.summary[key]]]);
}

/** Replaces every series of `families` with those of `accounts`. */
function fill(families: Family[], accounts: readonly AccountOutcome[], constant: Labels): void {
  for (const { metric, samples } of families) {
    metric.reset();
    for (const snapshot of accounts) {
      for (const [labels, value] of samples(snapshot, { ...constant, account: snapshot.account })) {
        // Request rows of one endpoint and status add up into one series.
        metric.inc(labels, value);
      }
    }
  }
}

/**
 * Renders every account's last run in the Prometheus text exposition format (version 0.0.4):
 * each metric once, with one series per account (labelled `account`).
 */
export function renderMetrics(
  accounts: readonly AccountOutcome[],
  options: RunMetricsOptions = {},
): Promise<string> {
  const registry = new Registry();
  createRunMetrics(registry, options).update(accounts);
  return registry.metrics();
}

/** Writes the file atomically (temp file in the same directory, then rename), as node_exporter's textfile collector requires. */
export async function writeMetricsFile(path: string, text: string): Promise<void> {
  // Not ending in `.prom`, so the collector never reads a half-written file.
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

function limitSamples(
  m: AccountOutcome,
  own: Labels,
  value: (limit: { count: number; windowMs: number }) => number,
): Sample[] {
  const limit = m.summary.rate_limit === undefined
    ? undefined
    : parseRateLimit(m.summary.rate_limit);
  if (!limit) return [];
  return [[{ ...own, source: m.summary.rate_limit_source ?? "configured" }, value(limit)]];
}

/** One series per account: 1 with the code of the error its last run ended with, else 0. */
function errorSamples(m: AccountOutcome, own: Labels): Sample[] {
  const code = m.summary.error_code;
  return [[{ ...own, error_code: code ?? "" }, code === undefined ? 0 : 1]];
}

function requestSamples(m: AccountOutcome, own: Labels): Sample[] {
  return m.requests.map(({ endpoint, status, count }): Sample => [
    { ...own, endpoint, status },
    count,
  ]);
}
