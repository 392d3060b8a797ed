import { basename, dirname, join } from "node:path";
import type { RunSummary } from "../sync/run_summary.ts";

/** One row of request outcomes. */
export interface RequestCount {
  endpoint: "token" | "list" | "sync";
  /** `"200"`, `"429"`, `"503"`, `"timeout"`, `"network"`… */
  status: string;
  count: number;
}

/** Everything the metrics file says about one account's last run. */
export interface MetricsSnapshot {
  summary: RunSummary;
  account: string;
  requests: RequestCount[];
  /** When a run last finished with status `ok` (Unix seconds); `null` if never. */
  lastSuccessUnix: number | null;
}

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

const STATUSES: RunSummary["status"][] = ["ok", "partial", "interrupted", "failed"];

/**
 * Renders every account's snapshot in the Prometheus text exposition format (version 0.0.4):
 * each metric once, with one series per account (labelled `account`).
 */
export function renderMetrics(accounts: readonly MetricsSnapshot[]): string {
  const each = (value: (m: MetricsSnapshot) => number): Sample[] =>
    accounts.map((m): Sample => [{ account: m.account }, value(m)]);
  const blocks = [
    metric(
      "campaigns_listed",
      "gauge",
      "Campaigns the platform listed in the last run.",
      each((m) => m.summary.campaigns_total),
    ),
    metric(
      "campaigns_synced",
      "gauge",
      "Campaigns synced in the last run.",
      each((m) => m.summary.synced),
    ),
    metric(
      "campaigns_skipped",
      "gauge",
      "Campaigns already done before a resume.",
      each((m) => m.summary.skipped),
    ),
    metric(
      "campaigns_failed",
      "gauge",
      "Campaigns that failed in the last run.",
      each((m) => m.summary.failed),
    ),
    metric(
      "campaigns_rejected",
      "gauge",
      "Campaigns refused by validation in the last run.",
      each((m) => m.summary.rejected),
    ),
    metric(
      "campaigns_deleted",
      "gauge",
      "Stored campaigns marked deleted in the last run: the platform no longer lists them.",
      each((m) => m.summary.deleted ?? 0),
    ),
    metric(
      "requests_total",
      "counter",
      "Requests to the platform in the last run, by endpoint and outcome.",
      accounts.flatMap((m) => requestSamples(m.account, m.requests)),
    ),
    metric(
      "rate_limited_total",
      "counter",
      "429 answers in the last run.",
      each((m) => m.summary.rate_limited),
    ),
    metric(
      "retries_total",
      "counter",
      "Requests repeated in the last run.",
      each((m) => m.summary.retries),
    ),
    metric(
      "timeouts_total",
      "counter",
      "Requests that timed out in the last run.",
      each((m) => m.summary.timeouts),
    ),
    metric(
      "token_refreshes_total",
      "counter",
      "Access tokens fetched in the last run.",
      each((m) => m.summary.token_refreshes),
    ),
    metric(
      "run_duration_seconds",
      "gauge",
      "Duration of the last run.",
      each((m) => m.summary.duration_ms / 1_000),
    ),
    metric(
      "run_status",
      "gauge",
      "1 for the status the last run ended with, 0 for the others.",
      accounts.flatMap((m) =>
        STATUSES.map((status): Sample => [
          { account: m.account, status },
          status === m.summary.status ? 1 : 0,
        ])
      ),
    ),
    metric(
      "last_success_timestamp_seconds",
      "gauge",
      "Unix time of the last run that synced every campaign; 0 if none.",
      each((m) => m.lastSuccessUnix ?? 0),
    ),
  ];
  return blocks.join("");
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

/** Escapes a label value: backslash, double quote and newline. */
function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function requestSamples(account: string, rows: RequestCount[]): Sample[] {
  // Two rows for one endpoint and status would be a duplicate series: add them up.
  const totals = new Map<string, Sample>();
  for (const { endpoint, status, count } of rows) {
    const key = `${endpoint}\n${status}`;
    const sample = totals.get(key);
    if (sample) sample[1] += count;
    else totals.set(key, [{ account, endpoint, status }, count]);
  }
  return [...totals.values()];
}

function metric(name: string, type: "gauge" | "counter", help: string, samples: Sample[]): string {
  const full = `adsync_${name}`;
  let text = `# HELP ${full} ${help}\n# TYPE ${full} ${type}\n`;
  for (const [labels, value] of samples) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
    text += `${full}{${pairs.join(",")}} ${formatValue(value)}\n`;
  }
  return text;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return String(value);
}
