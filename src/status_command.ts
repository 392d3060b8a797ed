import type { Config } from "./config.ts";
import { type Checkpoint, openCheckpoint } from "./store/checkpoint.ts";
import type { RunRecord } from "./store/checkpoint_types.ts";
import { openPgCheckpoint } from "./store/pg_checkpoint.ts";
import { recentRuns, type RunHistoryRow } from "./store/run_history.ts";
import { type Database, openDatabase } from "./store/database.ts";
import { EmbeddedBusyError } from "./store/embedded_lock.ts";
import { acquireRunLock } from "./store/run_lock.ts";
import { checkpointPath } from "./sync/state_dir.ts";
import { accountQueueStates } from "./queue/queue_state.ts";
import { wrap } from "./report/summary_table.ts";
import { type AccountStatus, formatStatusTable, type RunSource } from "./report/status_table.ts";

export type { AccountStatus, RunSource } from "./report/status_table.ts";

/** Runs searched in a checkpoint for each account's latest. */
const RUNS_SEARCHED = 1_000;

/** Accounts outside the accounts file named in the note about them; the rest are counted. */
const OTHERS_NAMED = 5;

/** What one source of runs gave: each account's latest run, as a row. */
type Found = Map<string, AccountStatus>;

/** Options of {@linkcode runStatusCommand}. */
export interface StatusCommandOptions {
  /** The terminal's width, which the table and its notes fit. @default Infinity */
  columns?: number;
}

/**
 * One truth per account from the state dir and the database the settings point at: its latest
 * run (from this state dir's checkpoint, or from the server's, where workers keep theirs), with
 * counts from `sync_runs` and its job in the queue. A database that cannot be read is an error.
 */
export async function runStatusCommand(
  config: Readonly<Config>,
  options: StatusCommandOptions = {},
): Promise<string> {
  const { columns = Infinity } = options;
  const notes: string[] = [];
  const local = await readLocalRuns(config, notes);
  const server = config.databaseUrl ? await readServer(config, [...local.keys()]) : undefined;
  const latest = new Map(local);
  // The newest run of each account wins, whichever source holds it.
  for (const row of [...(server?.runs.values() ?? []), ...(server?.elsewhere ?? [])]) {
    const mine = latest.get(row.account);
    if (!mine || (mine.started_at ?? "") < (row.started_at ?? "")) latest.set(row.account, row);
  }
  const accounts = listedAccounts(config, [...latest.keys(), ...(server?.queue.keys() ?? [])]);
  if (accounts.others.length > 0) notes.push(othersNote(accounts.others));
  const rows = accounts.listed.map((account) => {
    const row = latest.get(account) ?? neverRun(account);
    if (!server) return row;
    const state = server.queue.get(account);
    const queue = {
      queue_worker: state?.worker ?? null,
      queue_until: state?.until ?? null,
      queue_reason: state?.reason ?? null,
    };
    return { ...row, queue_state: state?.state ?? null, ...queue };
  });
  if (config.json) return JSON.stringify(rows);
  const where = [`sync: ${checkpointPath(config.stateDir)}`];
  if (server) where.push(`worker, sync_runs and queue: ${server.label}`);
  if (rows.length === 0) return `No runs yet (looked in ${where.join("; ")}).`;
  return [
    formatStatusTable(rows, { withQueue: server !== undefined, columns }),
    "",
    // Paths stay whole on their line, to be copied; the notes wrap.
    `Runs from ${where.join("; ")}.`,
    ...notes.flatMap((line) => wrap(line, columns, "")),
  ].join("\n");
}

/**
 * The accounts to list: with an accounts file, the file's, in its order (an account known only
 * from past runs or the queue is another setup's, named in a note); without one, every account
 * found.
 */
function listedAccounts(config: Readonly<Config>, found: string[]) {
  if (!config.accountsFile) return { listed: [...new Set(found)], others: [] };
  const listed = config.accounts.map((a) => a.clientId);
  const inFile = new Set(listed);
  return { listed, others: [...new Set(found)].filter((account) => !inFile.has(account)) };
}

/** The note naming the accounts with runs or jobs that the accounts file lacks. */
function othersNote(others: string[]): string {
  const shown = others.slice(0, OTHERS_NAMED);
  const more = others.length > shown.length ? ` and ${others.length - shown.length} more` : "";
  return `Not in the accounts file, with runs or jobs: ${shown.join(", ")}${more} ` +
    "(status --json without SYNC_ACCOUNTS_FILE lists every account).";
}

/** The latest run of each account in this state dir's checkpoint, if there is one. */
async function readLocalRuns(config: Readonly<Config>, notes: string[]): Promise<Found> {
  const path = checkpointPath(config.stateDir);
  if (!(await Deno.stat(path).then(() => true, () => false))) return new Map();
  let lock: { release(): void } | undefined;
  try {
    lock = acquireRunLock(config.stateDir);
  } catch {
    notes.push(
      config.databaseUrl
        ? "A sync is running now on this state dir."
        : "A sync is running now on this state dir; it holds the embedded database (one opener " +
          "at a time), so the counts and limits of finished runs (REQUESTS, LIMIT, and --json's " +
          "requests and duration_ms) are unknown until it ends.",
    );
  }
  try {
    const history = config.databaseUrl || lock ? await readEmbeddedHistory(config, notes) : [];
    return await latestPerAccount(() => openCheckpoint(path), history, "sync", !!lock);
  } finally {
    lock?.release();
  }
}

/** What status says when another opener (`sql`, `db serve`) holds the embedded database. */
const WAITING_COUNTS = "REQUESTS and LIMIT (and --json's requests and duration_ms, kept in the " +
  "embedded database's sync_runs) show once it is free: the embedded database has one opener at " +
  "a time.";

/** `sync_runs` of the settings' database; none, with a note, while another has it open. */
async function readEmbeddedHistory(config: Readonly<Config>, notes: string[]) {
  try {
    return await withDatabase(config, (db) => readHistory(db));
  } catch (error) {
    if (!(error instanceof EmbeddedBusyError)) throw error;
    notes.push(`${error.message}.`, WAITING_COUNTS);
    return [];
  }
}

/** The workers' runs (the checkpoint in the server) and every account's job in the queue. */
async function readServer(config: Readonly<Config>, known: readonly string[]) {
  return await withDatabase(config, async (db) => {
    const history = await readHistory(db);
    const open = () => openPgCheckpoint(db.sql, { where: db.label });
    const runs = await latestPerAccount(open, history, "worker", false).catch((error) => {
      if (isMissingTable(error)) return new Map() as Found;
      throw error;
    });
    const accounts = [
      ...new Set([...config.accounts.map((a) => a.clientId), ...known, ...runs.keys()]),
    ];
    const queue = await accountQueueStates(db.sql, accounts);
    return { runs, queue, label: db.label, elsewhere: fromHistory(history) };
  });
}

async function withDatabase<T>(config: Readonly<Config>, fn: (db: Database) => Promise<T>) {
  const db = await openDatabase({
    url: config.databaseUrl,
    stateDir: config.stateDir,
    opener: "status",
  });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** `sync_runs`, where the counts of finished runs live; none before the first migration. */
async function readHistory(db: Database): Promise<RunHistoryRow[]> {
  try {
    return await recentRuns(db.sql, RUNS_SEARCHED);
  } catch (error) {
    if (isMissingTable(error)) return [];
    throw error;
  }
}

/** PostgreSQL's "undefined table": nothing was ever written there (or through a wrapper's cause). */
function isMissingTable(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === "42P01") return true;
  }
  return false;
}

/** Each account's latest run in one checkpoint, as a row. */
async function latestPerAccount(
  open: () => Checkpoint,
  history: RunHistoryRow[],
  source: RunSource,
  noSyncRunning: boolean,
): Promise<Found> {
  const checkpoint = open();
  try {
    const found: Found = new Map();
    const latest = new Map<string, RunRecord>();
    for (const run of await checkpoint.latestRuns(RUNS_SEARCHED)) {
      if (!latest.has(run.account)) latest.set(run.account, run);
    }
    for (const run of latest.values()) {
      const progress = await checkpoint.progress(run.runId);
      const row = history.find((h) => h.run_id === run.runId);
      // A local run still marked running while nobody holds the lock died without a word.
      const status = run.status === "running" && noSyncRunning ? "interrupted" : run.status;
      found.set(run.account, {
        account: run.account,
        run_id: run.runId,
        status,
        source,
        started_at: new Date(run.startedAt).toISOString(),
        updated_at: new Date(run.updatedAt).toISOString(),
        pages_done: progress.pagesDone,
        pages_total: run.pagesTotal,
        campaigns_total: run.total,
        synced: progress.synced,
        rejected: progress.rejected,
        failed: progress.failed,
        requests: row?.requests ?? null,
        duration_ms: row?.duration_ms ?? null,
        last_error: run.lastError,
        ...fromSummary(row),
      });
    }
    return found;
  } finally {
    await checkpoint.close();
  }
}

/**
 * Each account's latest run in `sync_runs`, as a row: a sync that ran from another state dir
 * (another machine) is known there only. Checkpoint rows of the same run win over these.
 */
function fromHistory(history: RunHistoryRow[]): AccountStatus[] {
  const seen = new Set<string>();
  const rows: AccountStatus[] = [];
  for (const run of history) {
    if (!run.account || seen.has(run.account)) continue;
    seen.add(run.account);
    const at = (date: Date | null) => date?.toISOString() ?? null;
    rows.push({
      ...neverRun(run.account),
      run_id: run.run_id,
      status: run.status ?? "running",
      source: "sync_runs",
      started_at: at(run.started_at),
      updated_at: at(run.finished_at ?? run.started_at),
      campaigns_total: run.campaigns_total,
      synced: run.synced ?? 0,
      rejected: run.rejected ?? 0,
      failed: run.failed ?? 0,
      requests: run.requests,
      duration_ms: run.duration_ms,
      last_error: run.last_error,
      ...fromSummary(run),
    });
  }
  return rows;
}

/**
 * What a finished run's summary recorded beyond the counts: the limit in force and the deletions
 * withheld (runs of older versions recorded neither).
 */
function fromSummary(
  row: RunHistoryRow | undefined,
): Pick<
  AccountStatus,
  "rate_limit" | "rate_limit_source" | "rate_limit_advertised" | "deletions_withheld"
> {
  const text = (value: unknown) => typeof value === "string" ? value : null;
  const withheld = row?.summary?.deletions_withheld;
  return {
    rate_limit: text(row?.summary?.rate_limit),
    rate_limit_source: text(row?.summary?.rate_limit_source),
    rate_limit_advertised: text(row?.summary?.rate_limit_advertised),
    deletions_withheld: typeof withheld === "number" ? withheld : 0,
  };
}

function neverRun(account: string): AccountStatus {
  return {
    account,
    run_id: null,
    status: "never run",
    source: null,
    started_at: null,
    updated_at: null,
    pages_done: 0,
    pages_total: null,
    campaigns_total: null,
    synced: 0,
    rejected: 0,
    failed: 0,
    requests: null,
    duration_ms: null,
    last_error: null,
    rate_limit: null,
    rate_limit_source: null,
    rate_limit_advertised: null,
    deletions_withheld: 0,
  };
}
