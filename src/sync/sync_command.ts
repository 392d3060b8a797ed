import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import type { Config } from "../config.ts";
import { type Account, createAccount } from "../platform/account.ts";
import { createPlatformClient } from "../platform/platform_client.ts";
import { outcomeRows } from "../platform/request_stats.ts";
import { withRunContext } from "../report/logging.ts";
import { renderMetrics, writeMetricsFile } from "../report/metrics.ts";
import { type ProgressSnapshot, startProgress } from "../report/progress.ts";
import { recordRunEnd, recordRunStart } from "../store/run_history.ts";
import type { Checkpoint } from "../store/checkpoint.ts";
import { openDatabase } from "../store/database.ts";
import { createDatabaseGuard, type DatabaseGuardOptions } from "../store/database_guard.ts";
import { migrate } from "../store/migrations.ts";
import { NO_DRIFT } from "./catalog.ts";
import { chooseRun, newRunId } from "./run_selection.ts";
import { startSync, type SyncProgress, type SyncResult } from "./run_sync.ts";
import { openStateDir } from "./state_dir.ts";
import { summarize, type SyncSummary } from "./summary.ts";
import { errorMessage } from "../errors.ts";

const log = getLogger(["adsync", "run"]);

/** What the sync command needs from its caller besides the config. */
export interface SyncCommandOptions {
  /** The fetch to reach the platform with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source. @default systemClock */
  clock?: Clock;
  /** Stops starting work (first Ctrl-C, SIGTERM, `--max-duration`). @default never */
  signal?: AbortSignal;
  /** Cuts requests on the wire (grace period over, second Ctrl-C). @default signal */
  wireSignal?: AbortSignal;
  /** Called with every new token, for log redaction. @default no-op */
  onToken?: (token: string) => void;
  /** How to show progress. @default "off" */
  progress?: "tty" | "log" | "off";
  /** Deadline of one database operation and outage bound. @default the guard's: 30 s, 1 min */
  database?: Pick<DatabaseGuardOptions, "timeoutMs" | "outageMs">;
}

/**
 * Runs one sync of the configured account: takes the state dir's lock, picks a new or resumed
 * run, migrates the database, syncs, and records the summary in `sync_runs`, the checkpoint and
 * the metrics file. Throws only for what prevents a run from starting (lock, database).
 */
export async function runSyncCommand(
  config: Readonly<Config>,
  options: SyncCommandOptions = {},
): Promise<SyncSummary> {
  const { clock = systemClock } = options;
  const startedAt = clock.now();
  const state = await openStateDir(config.stateDir, {
    embeddedDatabase: config.databaseUrl === undefined,
  });
  try {
    const db = await openDatabase({ url: config.databaseUrl, stateDir: config.stateDir });
    try {
      // Every wait on the database has a deadline; after the grace period only a short one.
      const guard = createDatabaseGuard(db.label, {
        timeoutMs: config.databaseTimeoutMs,
        outageMs: config.databaseOutageMs,
        ...options.database,
        clock,
        signal: options.wireSignal ?? options.signal,
      });
      await guard.once("apply the migrations to", () => migrate(db.sql));
      const { runId, resumed, note } = pickRun(config, state.checkpoint, startedAt);
      return await withRunContext({ run_id: runId, account: config.clientId }, async () => {
        if (note) log.warn(note);
        log.info(resumed ? "Resuming run {runId}" : "Starting run {runId}", { runId });
        const start = { runId, account: config.clientId, apiUrl: config.apiUrl };
        await guard.retrying(
          "record the run start in",
          () => recordRunStart(db.sql, { ...start, startedAt: new Date(startedAt) }),
        );
        const account = openAccount(config, state.checkpoint, options, startedAt);
        const result = await syncAccount(config, account, {
          runId,
          sql: db.sql,
          guard,
          checkpoint: state.checkpoint,
          options,
        });
        const summary = summarize(runId, account, result, clock.now() - startedAt);
        state.checkpoint.finishRun(runId, summary.status, summary.last_error ?? null);
        const end = { ...summary, lastError: summary.last_error };
        await guard.once("record the run end in", () => recordRunEnd(db.sql, end)).catch((error) =>
          log.error("Cannot record the run in sync_runs: {error}", { error: errorMessage(error) })
        );
        if (config.metricsFile) {
          await writeMetrics(config.metricsFile, summary, account, state.checkpoint);
        }
        return summary;
      });
    } finally {
      await db.close();
    }
  } finally {
    state.close();
  }
}

/** Resumes the run the checkpoint offers, or records a new one; says why when it does not resume. */
function pickRun(
  config: Readonly<Config>,
  checkpoint: Checkpoint,
  now: number,
): { runId: string; resumed: boolean; note?: string } {
  const choice = chooseRun(checkpoint, {
    resume: config.resume,
    account: config.clientId,
    apiUrl: config.apiUrl,
    pageSize: config.pageSize,
    maxAgeMs: config.resumeMaxAgeMs,
    now,
  });
  if (choice.kind === "resume") return { runId: choice.run.runId, resumed: true };
  const runId = newRunId(now);
  const { clientId: account, apiUrl, pageSize } = config;
  checkpoint.createRun({ runId, account, apiUrl, pageSize, startedAt: now });
  return { runId, resumed: false, note: choice.note };
}

/** The account, its limiter primed with the sends the platform's window still remembers. */
function openAccount(
  config: Readonly<Config>,
  checkpoint: Checkpoint,
  options: SyncCommandOptions,
  now: number,
): Account {
  const { clientId } = config;
  return createAccount({
    baseUrl: config.apiUrl,
    clientId,
    credentials: { email: config.email, password: config.password },
    rateLimit: config.rateLimit,
    fetch: options.fetch,
    clock: options.clock,
    timeoutMs: config.requestTimeoutMs,
    maxAttempts: config.maxAttempts,
    history: checkpoint.recentSends(clientId, now - config.rateLimit.windowMs - 1_000),
    onSend: (at) => checkpoint.recordSend(clientId, at),
    onToken: options.onToken,
  });
}

async function syncAccount(
  config: Readonly<Config>,
  account: Account,
  job: {
    runId: string;
    sql: Parameters<typeof startSync>[0]["sql"];
    guard: Parameters<typeof startSync>[0]["guard"];
    checkpoint: Checkpoint;
    options: SyncCommandOptions;
  },
): Promise<SyncResult> {
  const { options } = job;
  const clock = options.clock ?? systemClock;
  const client = createPlatformClient(account, {
    fetch: options.fetch,
    clock,
    timeoutMs: config.requestTimeoutMs,
    maxAttempts: config.maxAttempts,
  });
  try {
    await account.tokens.get(options.signal); // wrong credentials end the run before any work
  } catch (error) {
    return emptyResult(options.signal?.aborted ? { interrupted: true } : { fatal: error });
  }
  const sync = startSync({ ...job, account: account.clientId, client }, {
    pageSize: config.pageSize,
    maxPages: config.maxPages,
    allowMassDelete: config.allowMassDelete,
    concurrency: config.concurrency,
    clock,
    signal: options.signal,
    wireSignal: options.wireSignal,
  });
  const mode = options.progress ?? "off";
  const progress = mode === "off" ? undefined : startProgress({
    mode,
    clock,
    snapshot: () => progressSnapshot(sync.progress(), account, clock.now()),
    log: (line) => log.info("Progress: {line}", { line }),
  });
  try {
    return await sync.done;
  } finally {
    progress?.stop();
  }
}

/** The progress line's view of a sync; the ETA comes from the limiter's own schedule. */
export function progressSnapshot(p: SyncProgress, account: Account, now: number): ProgressSnapshot {
  const requestsLeft = (p.pagesTotal ?? 0) - p.pagesDone + p.queued;
  return {
    pagesDone: p.pagesDone,
    pagesTotal: p.pagesTotal,
    campaignsDone: p.synced + p.skipped + p.failed + p.rejected,
    campaignsTotal: p.total,
    inFlight: account.stats.inFlight,
    rateWaitMs: account.limiter.waitedMs,
    retries: account.stats.retries,
    etaMs: p.pagesTotal === null
      ? null
      : Math.max(0, account.limiter.finishTimeFor(requestsLeft) - now),
  };
}

function emptyResult(end: { interrupted?: boolean; fatal?: unknown }): SyncResult {
  return {
    total: null,
    pagesTotal: null,
    pagesDone: 0,
    synced: 0,
    skipped: 0,
    failed: 0,
    rejected: 0,
    deleted: 0,
    queued: 0,
    drift: NO_DRIFT,
    interrupted: end.interrupted ?? false,
    fatal: end.fatal,
  };
}

async function writeMetrics(
  path: string,
  summary: SyncSummary,
  account: Account,
  checkpoint: Checkpoint,
): Promise<void> {
  const lastOk = checkpoint.latestRuns(50).find((run) =>
    run.account === summary.account && run.status === "ok"
  );
  const text = renderMetrics({
    summary,
    account: summary.account,
    requests: outcomeRows(account.stats),
    lastSuccessUnix: lastOk ? Math.floor(lastOk.updatedAt / 1_000) : null,
  });
  await writeMetricsFile(path, text).catch((error) =>
    log.error("Cannot write the metrics file {path}: {error}", { path, error: errorMessage(error) })
  );
}
