/**
 * `deno task bench --accounts N`: the mock serving N clients in its own process, an accounts
 * file of N accounts, and the real CLI (`main.ts sync --accounts-file F --json`) as a subprocess
 * whose peak memory and CPU time are sampled. Reports requests sent vs needed, 429s per client,
 * one account's rate-limit floor against the whole run's wall time, the sync's peak RSS (and
 * per account), CPU seconds per 1,000 requests and, with a server, the peak PostgreSQL
 * connections; optionally with CPU and disk load beside it (bench/load.ts).
 * @module
 */
// deno-lint-ignore-file no-console -- part of the bench's entry point: its output is the interface
import { resolve } from "node:path";
import { computeFigures, type RunFigures, slowest, whereTimeWent } from "./figures.ts";
import { type Load, startLoad } from "./load.ts";
import { lines, startMockProcess } from "./mock_process.ts";
import { sampleConnections } from "./pg_connections.ts";
import { sampleRss } from "./rss_sampler.ts";

/** Options of {@linkcode runManyAccountsBench}. */
export interface ManyAccountsOptions {
  /** How many accounts (mock clients). */
  accounts: number;
  /** The rate window: 60 s at the real pace. @default 3_000 (60 s scaled 20x down) */
  windowMs?: number;
  /** Campaigns per client. @default 100 */
  campaigns?: number;
  /** The mock's seed. @default 1 */
  seed?: number;
  /** A `postgres://` URL; undefined syncs into the embedded PGlite. @default undefined */
  databaseUrl?: string;
  /** Where to save the mock's request log (JSON lines), for a closer look. @default undefined */
  mockLogFile?: string;
  /** More flags for the mock, such as `--hang-rate 0`. @default [] */
  mockArgs?: string[];
  /** Run a busy loop per core and a disk writer beside the sync. @default false */
  load?: boolean;
}

/** The targets a run must meet; `efficiency` is the target, `efficiencyBound` the hard floor. */
export const TARGETS = Object.freeze({
  efficiency: 0.95,
  efficiencyBound: 0.9,
  peakRssMb: 1024,
  pgConnections: 20,
});

const COUNT = 10;
/** The V8 flags deno.json's `sync` and `worker` tasks run with (see the README's capacity planning). */
export const SYNC_V8_FLAGS = "--v8-flags=--heap-growing-percent=100";
const PASSWORD_ENV = "BENCH_AD_PLATFORM_PASSWORD";
const EMAIL = "bench@adsync.local";
const PROJECT_DIR = new URL("../", import.meta.url);

/**
 * The sync's V8 flags: the tasks' by default; none with `BENCH_PLAIN_DENO=1` (the memory of a
 * plain `deno run`); `BENCH_V8_FLAGS` (comma-separated, as `--v8-flags` takes them) for an ablation.
 */
function v8Flags(): string[] {
  if (Deno.env.get("BENCH_PLAIN_DENO") === "1") return [];
  const flags = Deno.env.get("BENCH_V8_FLAGS");
  return [flags ? `--v8-flags=${flags}` : SYNC_V8_FLAGS];
}

/** Runs the bench, prints one human line and one JSON line, and returns the exit code. */
export async function runManyAccountsBench(options: ManyAccountsOptions): Promise<number> {
  const report = await runManyAccounts(options);
  if ("error" in report) {
    console.log(report.error);
    return 1;
  }
  const { missed } = report;
  console.log(
    `${report.accounts} accounts: sent ${report.requests_sent} requests (needed ` +
      `${report.requests_needed}), ${report.http_429} x 429 (${
        Object.keys(report.http_429_by_client).length
      } clients), floor ${report.floor_ms} ms, wall ${report.wall_ms} ms, efficiency ` +
      `${report.efficiency} (target >= ${TARGETS.efficiency}, bound ${TARGETS.efficiencyBound}), ` +
      `peak RSS ${report.peak_rss_mb} MB (<= ${TARGETS.peakRssMb}; ${report.rss_per_account_mb} ` +
      `MB per account), CPU ${report.cpu_seconds} s (${report.cpu_s_per_1000_requests} s per ` +
      `1,000 requests), peak PostgreSQL connections ${report.peak_pg_connections ?? "n/a"} ` +
      `(<= ${TARGETS.pgConnections}), load ${report.load ? "on" : "off"} (load average ` +
      `${report.load_average_1m}), status ${report.status}` +
      (missed.length > 0 ? `; missed: ${missed.join(", ")}` : ""),
  );
  console.log(JSON.stringify(report));
  if (report.efficiency < TARGETS.efficiency && report.slowest) {
    console.error(whereTimeWent({ ...report, slowest: report.slowest }));
  }
  return missed.length > 0 ? 1 : 0;
}

/** What {@linkcode runManyAccounts} measured, and the targets it missed. */
export type ManyAccountsReport = Exclude<
  Awaited<ReturnType<typeof runManyAccounts>>,
  { error: string }
>;

/**
 * Runs the bench and returns its report, or why there is none (the sync printed no summary).
 * Prints only a start line on stderr.
 */
export async function runManyAccounts(options: ManyAccountsOptions) {
  const {
    accounts,
    windowMs = 3_000,
    campaigns = 100,
    seed = 1,
    databaseUrl,
    mockLogFile,
    mockArgs = [],
    load = false,
  } = options;
  const scale = windowMs / 60_000;
  const rateLimit = `${COUNT}/${windowMs}ms`;
  const password = crypto.randomUUID();
  const clientIds = Array.from({ length: accounts }, (_, i) => `acct_${pad(i + 1, accounts)}`);
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_bench_" });
  const mock = await startMockProcess({
    logFile: resolve(mockLogFile ?? `${stateDir}/mock.jsonl`),
    args: [
      ...["--rate-limit", rateLimit, "--sync-delay", `${Math.round(2_000 * scale)}ms`],
      ...["--campaigns", String(campaigns), "--seed", String(seed)],
      ...["--email", EMAIL, "--password", password],
      ...mockArgs,
    ],
  });
  try {
    const accountsFile = `${stateDir}/accounts.json`;
    await Deno.writeTextFile(
      accountsFile,
      JSON.stringify({
        defaults: { email: EMAIL, password_env: PASSWORD_ENV, api_url: mock.url },
        accounts: clientIds.map((client_id) => ({ client_id })),
      }),
    );
    console.error(
      `Mock with ${accounts} clients at ${mock.url} (${rateLimit}, seed ${seed}); ` +
        `syncing ${accounts} accounts x ${campaigns} campaigns into ` +
        `${databaseUrl ? "the DATABASE_URL server" : "the embedded PostgreSQL"}...`,
    );
    const loadProcs: Load | undefined = load ? await startLoad() : undefined;
    const connections = databaseUrl ? sampleConnections(databaseUrl) : undefined;
    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...v8Flags(),
        // BENCH_INSPECT=HOST:PORT opens the inspector, for bench/cpu_profile.ts.
        ...(Deno.env.get("BENCH_INSPECT") ? [`--inspect=${Deno.env.get("BENCH_INSPECT")}`] : []),
        ...["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
        "--allow-sys",
        ...["main.ts", "sync", "--accounts-file", accountsFile, "--json"],
      ],
      cwd: PROJECT_DIR,
      env: {
        [PASSWORD_ENV]: password,
        AD_PLATFORM_API_URL: mock.url,
        AD_PLATFORM_RATE_LIMIT: rateLimit,
        AD_PLATFORM_REQUEST_TIMEOUT: `${Math.round(15_000 * scale)}ms`,
        AD_PLATFORM_LIST_TIMEOUT: `${Math.round(5_000 * scale)}ms`,
        SYNC_RETRY_BACKOFF: `${Math.max(1, Math.round(500 * scale))}ms`,
        SYNC_RETRY_BACKOFF_MAX: `${Math.round(10_000 * scale)}ms`,
        SYNC_STATE_DIR: stateDir,
        DATABASE_URL: databaseUrl ?? "",
        LOG_FORMAT: "json",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const rss = sampleRss(child.pid);
    const [out, err, status] = await Promise.all([
      collect(child.stdout),
      collect(child.stderr),
      child.status,
    ]);
    const processMs = Math.round(performance.now() - started);
    const peakKib = await rss.stop();
    const peakConnections = await connections?.stop();
    const loadAverage = Deno.loadavg()[0];
    await loadProcs?.stop();
    // BENCH_SYNC_LOG=FILE keeps the sync's whole log (JSON lines), for a closer look.
    const syncLogFile = Deno.env.get("BENCH_SYNC_LOG");
    if (syncLogFile) await Deno.writeTextFile(syncLogFile, err);
    await mock.close(); // reads its log
    const summary = parseSummary(out);
    if (!summary) {
      return {
        error: `The sync printed no summary (exit ${status.code}); its last lines:\n` +
          tail(`${err}\n${out}`, 20),
      } as const;
    }
    const perAccount = summary.accounts ?? [summary];
    const campaignsByClient = new Map(perAccount.map((a) => [a.account, a.campaigns_total]));
    const figures = computeFigures(mock.log, { count: COUNT, windowMs }, campaignsByClient);
    const report = {
      accounts,
      window_ms: windowMs,
      campaigns_per_account: campaigns,
      ...withoutClients(figures),
      peak_rss_mb: Math.round(peakKib / 1024),
      rss_per_account_mb: Number((peakKib / 1024 / accounts).toFixed(3)),
      rss_samples: rss.samples(),
      cpu_seconds: rss.cpuSeconds(),
      cpu_s_per_1000_requests: Number(
        (rss.cpuSeconds() / Math.max(1, figures.requests_sent) * 1_000).toFixed(3),
      ),
      peak_pg_connections: peakConnections,
      pg_transactions_per_request: connections?.transactions() === undefined
        ? undefined
        : Number((connections.transactions()! / Math.max(1, figures.requests_sent)).toFixed(3)),
      v8_flags: v8Flags()[0] ?? "none",
      load: load ? { cpu_processes: loadProcs!.cpu, disk_processes: loadProcs!.disk } : undefined,
      load_average_1m: loadAverage,
      process_ms: processMs,
      status: summary.status,
      exit_code: status.code,
      accounts_not_ok: Object.fromEntries(
        perAccount.filter((a) => a.status !== "ok").map((
          a,
        ) => [a.account, a.last_error ?? a.status]),
      ),
      clients_seen: figures.clients.length,
      slowest: slowest(figures),
    };
    return { ...report, missed: missedTargets(report, accounts) };
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

/** The targets a report misses, each named. */
function missedTargets(
  report: Omit<RunFigures, "clients"> & {
    peak_rss_mb: number;
    peak_pg_connections?: number;
    status: string;
    clients_seen: number;
  },
  accounts: number,
): string[] {
  const missed: string[] = [];
  if (report.http_429 > 0) missed.push("0 x 429");
  if (report.efficiency < TARGETS.efficiency) missed.push(`efficiency >= ${TARGETS.efficiency}`);
  if (report.peak_rss_mb > TARGETS.peakRssMb) missed.push(`peak RSS <= ${TARGETS.peakRssMb} MB`);
  if ((report.peak_pg_connections ?? 0) > TARGETS.pgConnections) {
    missed.push(`<= ${TARGETS.pgConnections} PostgreSQL connections`);
  }
  if (report.requests_sent > report.requests_needed) missed.push("no request beyond the needed");
  if (report.status !== "ok") missed.push("status ok");
  if (report.clients_seen !== accounts) missed.push(`requests from all ${accounts} accounts`);
  return missed;
}

interface AccountSummary {
  account: string;
  status: string;
  campaigns_total: number;
  last_error?: string;
}

/** The last stdout line, when it is the sync's JSON summary. */
function parseSummary(
  stdout: string,
): AccountSummary & { accounts?: AccountSummary[] } | undefined {
  const last = stdout.trimEnd().split("\n").at(-1) ?? "";
  try {
    const value = JSON.parse(last);
    return typeof value === "object" && value !== null && "status" in value ? value : undefined;
  } catch {
    return undefined;
  }
}

function withoutClients(figures: RunFigures): Omit<RunFigures, "clients"> {
  const { clients: _, ...rest } = figures;
  return rest;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const line of lines(stream)) text += `${line}\n`;
  return text;
}

function tail(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

function pad(n: number, of: number): string {
  return String(n).padStart(Math.max(3, String(of).length), "0");
}
