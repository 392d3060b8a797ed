import { getLogger } from "@logtape/logtape";
import pLimit from "p-limit";
import { type Clock, systemClock } from "../clock.ts";
import type { Config } from "../config.ts";
import { errorFields } from "../errors.ts";
import { createHostGates } from "../platform/host_gate.ts";
import { watchLoopLag } from "../platform/lateness.ts";
import type { HttpEndpoint } from "../report/http_endpoint.ts";
import { renderMetrics, writeMetricsFile } from "../report/metrics.ts";
import { combineProgress, startProgress } from "../report/progress.ts";
import type { Checkpoint } from "../store/checkpoint.ts";
import { type Database, openDatabase } from "../store/database.ts";
import { createDatabaseGuard, type DatabaseGuard } from "../store/database_guard.ts";
import { createRunHistoryWriter } from "../store/run_history_writer.ts";
import { createCampaignWriter } from "../store/campaign_writer.ts";
import { createAccountLeases } from "../store/lease_keeper.ts";
import { migrate } from "../store/migrations.ts";
import { runAccount } from "./account_run.ts";
import type { AccountOutcome, SyncReport, SyncSummary } from "../run_summary.ts";
import type { AccountRun, RunContext, RunEnvironment, SharedResources } from "./account_types.ts";
import { startSyncEndpoint } from "./sync_endpoint.ts";
import { openStateDir } from "./state_dir.ts";
import { totalize } from "./totals.ts";

const log = getLogger(["adsync", "run"]);

/** What the sync command needs from its caller besides the config: every run's environment, and more. */
export interface SyncCommandOptions extends RunEnvironment {
  /** How to show progress. @default "off" */
  progress?: "tty" | "log" | "off";
  /**
   * Called once the setup is done and the accounts start, unless `signal` fired before: then no
   * run starts and the report lists no account. @default no-op
   */
  onStart?: () => void;
}

/** One account as the command follows it. */
interface Tracked {
  account: string;
  done: boolean;
  /** Its run, once chosen. */
  run?: AccountRun;
  /** Its run, once ended, as the live metrics show it. */
  ended?: AccountOutcome;
}

/**
 * Syncs every account of `config.accounts`: sets up once what the process shares (the state
 * dir's lock and checkpoint, one database pool, the migrations), then runs the accounts
 * concurrently (all at once unless `config.accountConcurrency` says fewer), and writes the
 * metrics file.
 * A stop before the accounts start returns an interrupted report that lists no account.
 * One account's failure is its own summary's status and never stops the others. Throws only
 * for what prevents any run from starting (lock, database).
 */
export async function runSyncCommand(
  config: Readonly<Config>,
  options: SyncCommandOptions = {},
): Promise<SyncReport> {
  const { clock = systemClock } = options;
  const startedAt = clock.now();
  const state = await openStateDir(config.stateDir, {
    embeddedDatabase: config.databaseUrl === undefined,
  });
  try {
    const { db, guard } = await openGuardedDatabase(config, {
      url: config.databaseUrl,
      poolSize: poolSizeFor(config.accounts.length),
      clock,
      signal: options.wireSignal ?? options.signal,
    });
    try {
      // A stop during the setup (creating the embedded database can take seconds) starts nothing.
      if (options.signal?.aborted) {
        return { ...totalize([], clock.now() - startedAt), status: "interrupted" };
      }
      options.onStart?.();
      const shared = shareResources(config, { db, guard, checkpoint: state.checkpoint }, clock);
      const { progress: _, onStart: __, ...environment } = options;
      const context = { ...shared, ...environment, clock };
      const stopWatching = watchLoopLag(shared.hostGates.noteStall);
      const tracked: Tracked[] = config.accounts.map((a) => ({ account: a.clientId, done: false }));
      const endpoint = serveEndpoint(config, db, tracked);
      const progress = showProgress(tracked, options, clock);
      let outcomes: AccountOutcome<SyncSummary>[];
      try {
        outcomes = await runAccounts(config, context, tracked);
      } finally {
        progress?.stop();
        stopWatching();
        shared.hostGates.close();
        await endpoint?.close();
      }
      const report = totalize(outcomes.map((o) => o.summary), clock.now() - startedAt);
      if (config.metricsFile) await writeMetrics(config.metricsFile, outcomes, state.checkpoint);
      return report;
    } finally {
      await db.close();
    }
  } finally {
    await state.close();
  }
}

/** Runs every account's plan, `config.accountConcurrency` at once, each tracked as it goes. */
function runAccounts(
  config: Readonly<Config>,
  context: RunContext & { clock: Clock },
  tracked: Tracked[],
): Promise<AccountOutcome<SyncSummary>[]> {
  const { clock } = context;
  const slot = pLimit(config.accountConcurrency);
  if (config.accounts.length > 1) {
    log.info("Syncing {count} accounts, {concurrency} at once", {
      count: config.accounts.length,
      concurrency: Math.min(config.accountConcurrency, config.accounts.length),
    });
  }
  return Promise.all(config.plans.map((plan, i) => {
    const track = tracked[i]!;
    return slot(async () => {
      track.run = await runAccount(plan, context);
      return await track.run.done;
    }).then((outcome) => ended(track, outcome, clock)).finally(() => track.done = true);
  }));
}

/** What every account of the sync shares: the database, the checkpoint, the host gates, the leases. */
function shareResources(
  config: Readonly<Config>,
  opened: { db: Database; guard: DatabaseGuard; checkpoint: Checkpoint },
  clock: Clock,
): SharedResources {
  const { db, guard, checkpoint } = opened;
  return {
    config,
    sql: db.sql,
    guard,
    checkpoint,
    hostGates: createHostGates({ maxInFlight: config.maxInFlight }),
    runs: createRunHistoryWriter(db.sql, guard, { clock }),
    campaigns: createCampaignWriter(db.sql, guard, { clock }),
    // In a server, workers may drive the same accounts: each run holds its account's lease.
    leases: db.kind === "server"
      ? createAccountLeases(db.sql, guard, {
        holder: syncHolder(),
        isGone: isGoneSync,
        ttlMs: config.workerHeartbeatMs,
        clock,
      })
      : undefined,
  };
}

/** How a sync names itself as an account's lease holder: `sync on <host>-<pid>`. */
function syncHolder(): string {
  return `sync on ${Deno.hostname()}-${Deno.pid}`;
}

/**
 * True for a sync of this machine that no longer runs (killed, or stopped while the database was
 * away and could not release its leases). A reused pid counts as running: its leases then lapse.
 */
function isGoneSync(holder: string): boolean {
  const match = /^sync on (.+)-(\d+)$/.exec(holder);
  if (!match || match[1] !== Deno.hostname() || Number(match[2]) === Deno.pid) return false;
  try {
    Deno.statSync(`/proc/${match[2]}`);
    return false;
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/**
 * Connections to a PostgreSQL server for `accounts` accounts: 4 up to 40 accounts, then one more
 * per 10 accounts, at most 20 (reached at 200 accounts), well inside a server's default 100
 * connections: the accounts' upserts, sends and lease renewals are group-committed per process
 * (src/store/group_commit.ts), so the statements do not grow with the accounts; each account's
 * start and end are a few statements of its own.
 */
export function poolSizeFor(accounts: number): number {
  return Math.min(20, Math.max(4, Math.ceil(accounts / 10)));
}

/**
 * Opens the database every account of a process shares, with its guard (every wait on it has a
 * deadline; once `signal` fires, only a short one), and applies the migrations.
 */
export async function openGuardedDatabase(
  config: Readonly<Config>,
  options: { url: string | undefined; poolSize: number; clock: Clock; signal?: AbortSignal },
): Promise<{ db: Database; guard: DatabaseGuard }> {
  const { url, poolSize, clock, signal } = options;
  const db = await openDatabase({ url, stateDir: config.stateDir, poolSize, opener: "sync" });
  try {
    const guard = createDatabaseGuard(db.label, {
      timeoutMs: config.databaseTimeoutMs,
      outageMs: config.databaseOutageMs,
      clock,
      signal,
    });
    await guard.once("apply the migrations to", () => migrate(db.sql));
    return { db, guard };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** The live endpoint, when `--http-port` asks for one. */
function serveEndpoint(
  config: Readonly<Config>,
  db: Database,
  tracked: readonly Tracked[],
): HttpEndpoint | undefined {
  return startSyncEndpoint(config, {
    accounts: () =>
      tracked.map((t) => ({ running: t.run !== undefined && !t.done, snapshot: t.run?.progress })),
    finished: () => tracked.flatMap((t) => t.ended ? [t.ended] : []),
    sql: db.sql,
    label: db.label,
  });
}

/** Keeps an ended account's run for the live metrics; a run that ended ok is its last success. */
function ended<T extends AccountOutcome>(track: Tracked, outcome: T, clock: Clock): T {
  const lastSuccessUnix = outcome.summary.status === "ok" ? Math.floor(clock.now() / 1_000) : null;
  track.ended = { ...outcome, lastSuccessUnix };
  return outcome;
}

/** The live progress line: one account's own, or all accounts added up. */
function showProgress(tracked: Tracked[], options: SyncCommandOptions, clock: Clock) {
  const mode = options.progress ?? "off";
  if (mode === "off") return undefined;
  const single = tracked.length === 1 ? tracked[0] : undefined;
  return startProgress({
    mode,
    clock,
    snapshot: () =>
      single
        ? single.run?.progress() ?? combineProgress([{ done: single.done, snapshot: undefined }])
        : combineProgress(tracked.map((t) => ({ done: t.done, snapshot: t.run?.progress() }))),
    log: (line) =>
      log.info("Progress: {line}", {
        line,
        // One account's progress lines carry its run, as its other lines do.
        ...(single?.run?.runId ? { run_id: single.run.runId, account: single.account } : {}),
      }),
  });
}

/** How many of the latest runs to search for each account's last success. */
const RUNS_SEARCHED_PER_ACCOUNT = 50;

async function writeMetrics(
  path: string,
  outcomes: readonly AccountOutcome<SyncSummary>[],
  checkpoint: Checkpoint,
): Promise<void> {
  const recent = await checkpoint.latestRuns(RUNS_SEARCHED_PER_ACCOUNT * outcomes.length);
  const text = await renderMetrics(outcomes.map((outcome) => {
    const { account } = outcome;
    const lastOk = recent.find((run) => run.account === account && run.status === "ok");
    return { ...outcome, lastSuccessUnix: lastOk ? Math.floor(lastOk.updatedAt / 1_000) : null };
  }));
  await writeMetricsFile(path, text).catch((error) =>
    log.error("Cannot write the metrics file {path}: {error}", { path, ...errorFields(error) })
  );
}
