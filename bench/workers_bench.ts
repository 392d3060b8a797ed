/**
 * Workers bench: W `adsync worker` processes drive N accounts at once through the job queue,
 * against the harsh mock (20% 503s and 10% hangs on list requests) in a process of its own, over
 * HTTP, time-scaled (the platform's 10 requests a minute become 10 per `--window-ms`, every other
 * delay scaled the same). Measures requests and 429s at the mock, one account's rate-limit floor
 * against the wall time of the whole run (first request reaching the mock to the last answer),
 * each worker's peak PostgreSQL connections (`pg_stat_activity` by `application_name`, sampled
 * every 200 ms: its pool is named through `PGAPPNAME`, pg-boss's `adsync queue <id>`) and peak
 * RSS, the transactions the database committed per platform request (`xact_commit` of
 * `pg_stat_database`, pg-boss's own included, while the workers ran), and the machine's load. `--kill-after S` kills the first worker with SIGKILL S seconds
 * after the first request: its accounts go over to the others once its heartbeat is silent.
 * Needs a PostgreSQL server: `BENCH_DATABASE_URL` (a database there is created and dropped).
 * `BENCH_WORKER_LOG=FILE` keeps each worker's warnings in `FILE.w1`, `FILE.w2`, ...;
 * `BENCH_MOCK_LOG=FILE` keeps the mock's request log (JSON lines), as `deno task bench` does.
 *
 * ```sh
 * BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   deno run -A bench/workers_bench.ts --accounts 600 --workers 3
 * ```
 * @module
 */
// deno-lint-ignore-file no-console -- a bench prints its report
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { computeFigures } from "./figures.ts";
import { committed } from "./pg_connections.ts";
import { SYNC_V8_FLAGS } from "./many_accounts.ts";
import { type MockProcess, startMockProcess } from "./mock_process.ts";
import { socketBudget } from "../src/platform/host_gate.ts";
import { sampleRss } from "./rss_sampler.ts";
import { sampleWorkerConnections } from "./worker_connections.ts";

const PROJECT_DIR = new URL("..", import.meta.url).pathname;
const COUNT = 10;
/** The target: every account done within this many times one account's floor. */
const WALL_OVER_FLOOR = 1.1;
/** The target: connections one worker holds at most. */
const CONNECTIONS = 20;
/** The target: PostgreSQL transactions per platform request at most. */
const TRANSACTIONS_PER_REQUEST = 0.5;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    accounts: { type: "string", default: "600" },
    workers: { type: "string", default: "3" },
    each: { type: "string" },
    "window-ms": { type: "string", default: "15000" },
    campaigns: { type: "string", default: "20" },
    "kill-after": { type: "string" },
  },
});
const serverUrl = Deno.env.get("BENCH_DATABASE_URL") ?? Deno.env.get("TEST_DATABASE_URL");
if (!serverUrl) throw new Error("Set BENCH_DATABASE_URL to a PostgreSQL server");

const report = await runBench({
  accounts: Number(values.accounts),
  workers: Number(values.workers),
  each: values.each === undefined ? undefined : Number(values.each),
  windowMs: Number(values["window-ms"]),
  campaigns: Number(values.campaigns),
  killAfterMs: values["kill-after"] === undefined
    ? undefined
    : 1_000 * Number(values["kill-after"]),
});
console.log(JSON.stringify(report, null, 2));
Deno.exit(report.missed.length > 0 ? 1 : 0);

interface BenchOptions {
  accounts: number;
  workers: number;
  /** `SYNC_WORKER_ACCOUNTS`; undefined leaves the worker's derived default. */
  each: number | undefined;
  windowMs: number;
  campaigns: number;
  killAfterMs: number | undefined;
}

async function runBench(options: BenchOptions) {
  const { accounts, windowMs, campaigns } = options;
  const scale = windowMs / 60_000;
  const ids = Array.from({ length: accounts }, (_, i) => `acct_${String(i + 1).padStart(4, "0")}`);
  const dir = await Deno.makeTempDir({ prefix: "adsync_bench_" });
  const mockLogFile = Deno.env.get("BENCH_MOCK_LOG");
  const mock = await startMockProcess({
    logFile: resolve(mockLogFile ?? `${dir}/mock.jsonl`),
    args: [
      ...["--rate-limit", `${COUNT}/${windowMs}ms`, "--seed", "1"],
      ...["--sync-delay", `${Math.round(2_000 * scale)}ms`, "--campaigns", String(campaigns)],
    ],
  });
  const name = `adsync_bench_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
  await admin`create database ${admin(name)}`;
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  try {
    const file = `${dir}/accounts.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ accounts: ids.map((client_id) => ({ client_id })) }),
    );
    const env = workerEnv(options, { apiUrl: mock.url, databaseUrl: url.href, file, dir });
    console.error(
      `${options.workers} workers, ${accounts} accounts x ${campaigns} campaigns, ` +
        `${COUNT}/${windowMs}ms, mock at ${mock.url}...`,
    );
    const run = await runWorkers(options, env, url.href, name, mock);
    await mock.close(); // reads its log
    const figures = computeFigures(
      mock.log,
      { count: COUNT, windowMs },
      new Map(ids.map((id) => [id, campaigns])),
    );
    return summarize(options, figures, run);
  } finally {
    await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function workerEnv(
  options: BenchOptions,
  at: { apiUrl: string; databaseUrl: string; file: string; dir: string },
): Record<string, string> {
  const scale = options.windowMs / 60_000;
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    AD_PLATFORM_API_URL: at.apiUrl,
    AD_PLATFORM_EMAIL: "admin@mixoads.com",
    AD_PLATFORM_PASSWORD: "SuperSecret123!",
    AD_PLATFORM_RATE_LIMIT: `${COUNT}/${options.windowMs}ms`,
    AD_PLATFORM_PAGE_SIZE: "100",
    AD_PLATFORM_REQUEST_TIMEOUT: `${Math.round(15_000 * scale)}ms`,
    AD_PLATFORM_LIST_TIMEOUT: `${Math.round(5_000 * scale)}ms`,
    SYNC_RETRY_BACKOFF: `${Math.max(1, Math.round(500 * scale))}ms`,
    SYNC_RETRY_BACKOFF_MAX: `${Math.round(10_000 * scale)}ms`,
    DATABASE_URL: at.databaseUrl,
    SYNC_ACCOUNTS_FILE: at.file,
    SYNC_STATE_DIR: at.dir,
    // A short heartbeat only where a worker is killed, so its jobs fail over sooner; otherwise the
    // default, as a user runs it.
    ...(options.killAfterMs === undefined ? {} : { SYNC_WORKER_HEARTBEAT: "10s" }),
    // The workers and the mock share this machine's open-files limit: each worker's requests in
    // flight take a socket on both sides, so together they keep within the mock's budget.
    AD_PLATFORM_MAX_IN_FLIGHT: String(Math.floor(socketBudget() / options.workers)),
    ...(options.each === undefined ? {} : { SYNC_WORKER_ACCOUNTS: String(options.each) }),
    LOG_LEVEL: "warning",
    LOG_FORMAT: "json",
  };
}

/** Enqueues every account, starts the workers, and waits until every job completed. */
async function runWorkers(
  options: BenchOptions,
  env: Record<string, string>,
  url: string,
  database: string,
  mock: Pick<MockProcess, "firstLogged">,
) {
  // BENCH_INSPECT=HOST:PORT opens the first worker's inspector, for bench/cpu_profile.ts.
  const inspect = Deno.env.get("BENCH_INSPECT");
  const cli = (command: string, extra: Record<string, string> = {}) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", SYNC_V8_FLAGS],
        ...(inspect && extra.SYNC_WORKER_ID === "w1" ? [`--inspect=${inspect}`] : []),
        ...["main.ts", command],
      ],
      cwd: PROJECT_DIR,
      env: { ...env, ...extra },
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  const enqueued = await cli("enqueue").output();
  if (!enqueued.success) throw new Error(new TextDecoder().decode(enqueued.stderr));
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const committedBefore = await committed(sql);
  let own = 1; // the bench's own statements on `sql`, left out of the workers' transactions
  const workers = Array.from({ length: options.workers }, (_, i) => {
    const id = `w${i + 1}`;
    const child = cli("worker", { SYNC_WORKER_ID: id, PGAPPNAME: `adsync pool ${id}` }).spawn();
    // Warnings only; kept in BENCH_WORKER_LOG.<id> when that is set.
    const log = Deno.env.get("BENCH_WORKER_LOG");
    const sink = log
      ? Deno.openSync(`${log}.${id}`, { write: true, create: true, truncate: true }).writable
      : new WritableStream();
    void child.stderr.pipeTo(sink).catch(() => {});
    return { id, child, rss: sampleRss(child.pid) };
  });
  const connections = sampleWorkerConnections(sql, database);
  let killed: string | undefined;
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const first = options.killAfterMs === undefined ? undefined : mock.firstLogged();
      const due = options.killAfterMs !== undefined && first && killed === undefined &&
        Date.now() - first.at >= options.killAfterMs;
      if (due) {
        workers[0]!.child.kill("SIGKILL");
        killed = workers[0]!.id;
      }
      own++;
      const [row] = await sql`select count(*) filter (where state = 'completed')::int as done,
        count(*) filter (where state = 'failed')::int as failed
        from pgboss.job where name = 'adsync-account-sync'`;
      if (row!.done + row!.failed >= options.accounts) {
        const split = await sql<{ worker: string; n: number }[]>`
          select output->>'worker' as worker, count(*)::int as n from pgboss.job
          where name = 'adsync-account-sync' and state = 'completed' group by 1 order by 1`;
        const jobsByWorker = Object.fromEntries(split.map((r) => [r.worker, r.n]));
        const ended = await finish(workers, connections, {
          killed,
          failed: row!.failed,
          jobsByWorker,
        });
        // The workers are gone: their backends have reported their counts, or do in a moment.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const ownTotal = own + connections.samples() + 1;
        return { ...ended, transactions: await committed(sql) - committedBefore - ownTotal };
      }
    }
  } finally {
    connections.stop();
    await sql.end();
  }
}

async function finish(
  workers: { id: string; child: Deno.ChildProcess; rss: ReturnType<typeof sampleRss> }[],
  connections: ReturnType<typeof sampleWorkerConnections>,
  end: { killed: string | undefined; failed: number; jobsByWorker: Record<string, number> },
) {
  const rss: Record<string, number> = {};
  for (const worker of workers) rss[worker.id] = Math.round((await worker.rss.stop()) / 1024);
  for (const worker of workers) {
    if (worker.id !== end.killed) worker.child.kill("SIGTERM");
  }
  await Promise.all(workers.map((worker) => worker.child.status));
  return { peakRssMb: rss, peakConnections: connections.peaks(), ...end };
}

function summarize(
  options: BenchOptions,
  figures: ReturnType<typeof computeFigures>,
  run: Awaited<ReturnType<typeof runWorkers>>,
) {
  const wallOverFloor = Number((figures.wall_ms / figures.floor_ms).toFixed(3));
  const perRequest = Number((run.transactions / Math.max(1, figures.requests_sent)).toFixed(3));
  const perWorker = Object.entries(run.peakConnections).filter(([k]) => k !== "all_workers");
  const missed = [
    ...(figures.http_429 > 0 ? ["0 x 429"] : []),
    ...(run.failed > 0 ? ["every job completed"] : []),
    ...(perWorker.some(([, n]) => n > CONNECTIONS)
      ? [`<= ${CONNECTIONS} connections per worker`]
      : []),
    ...(options.killAfterMs === undefined && wallOverFloor > WALL_OVER_FLOOR
      ? [`wall <= ${WALL_OVER_FLOOR} x floor`]
      : []),
    ...(perRequest > TRANSACTIONS_PER_REQUEST
      ? [`<= ${TRANSACTIONS_PER_REQUEST} PostgreSQL transactions per request`]
      : []),
    ...(figures.clients.length !== options.accounts
      ? [`requests from all ${options.accounts}`]
      : []),
  ];
  return {
    accounts: options.accounts,
    workers: options.workers,
    worker_accounts: options.each ?? "derived (unset)",
    window_ms: options.windowMs,
    campaigns_per_account: options.campaigns,
    requests_sent: figures.requests_sent,
    requests_needed: figures.requests_needed,
    http_429: figures.http_429,
    floor_ms: figures.floor_ms,
    wall_ms: figures.wall_ms,
    wall_over_floor: wallOverFloor,
    client_end_ms: figures.client_end_ms,
    // When accounts sent their first request, after the run's first: the queue's hand-out.
    client_start_ms: spread(figures.clients.map((c) => c.start_offset_ms)),
    slowest: slowestClient(figures),
    jobs_failed: run.failed,
    jobs_completed_by_worker: run.jobsByWorker,
    killed: run.killed ?? null,
    peak_connections: run.peakConnections,
    pg_transactions_per_request: perRequest,
    peak_rss_mb: run.peakRssMb,
    load_average: Deno.loadavg(),
    missed,
  };
}

/** p50, p90 and max of `values`. */
function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), max: sorted.at(-1) ?? 0 };
}

/** The account that ended last: when it started, its listing, its forced retries. */
function slowestClient(figures: ReturnType<typeof computeFigures>) {
  const last = figures.clients.reduce<(typeof figures.clients)[number] | undefined>(
    (worst, c) =>
      !worst || c.start_offset_ms + c.wall_ms > worst.start_offset_ms + worst.wall_ms ? c : worst,
    undefined,
  );
  if (!last) return null;
  const { client, start_offset_ms, wall_ms, listing_ms, forced, sent } = last;
  return { client, start_offset_ms, wall_ms, listing_ms, forced, sent };
}
