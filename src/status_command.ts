import type { Config } from "./config.ts";
import { type Checkpoint, openCheckpoint } from "./store/checkpoint.ts";
import { openPgCheckpoint } from "./store/pg_checkpoint.ts";
import { recentRuns } from "./store/run_history.ts";
import { openDatabase } from "./store/database.ts";
import { acquireRunLock } from "./store/run_lock.ts";
import type { RunRecord as HistoryRow } from "./sync/run_summary.ts";
import { checkpointPath } from "./sync/state_dir.ts";
import { errorMessage } from "./errors.ts";
import { accountQueueStates, formatQueueState, type QueueState } from "./queue/queue_state.ts";

/** One run as `status` shows it: the checkpoint's progress joined with its `sync_runs` row. */
export interface RunStatus {
  run_id: string;
  account: string;
  status: string;
  started_at: string;
  updated_at: string;
  pages_done: number;
  pages_total: number | null;
  campaigns_total: number | null;
  synced: number;
  rejected: number;
  failed: number;
  requests: number | null;
  duration_ms: number | null;
  last_error: string | null;
  /** Campaigns not marked deleted: a mass deletion refused (see `--allow-mass-delete`). */
  deletions_withheld: number;
  /** The account's job in the workers' queue: queued, running, retrying, failed, done; null without one. */
  queue_state?: QueueState["state"] | null;
  /** The worker running the account's job now. */
  queue_worker?: string | null;
}

/** How many of the latest runs to search for each configured account's latest one. */
const RUNS_SEARCHED_PER_ACCOUNT = 50;

/**
 * Describes the latest runs of the state dir: progress from the checkpoint, counts from
 * `sync_runs` when the database can be read (the embedded one only while no sync holds it).
 * With several accounts configured, one row per account: its latest run.
 */
export async function runStatusCommand(config: Readonly<Config>, limit = 10): Promise<string> {
  const path = checkpointPath(config.stateDir);
  const exists = await Deno.stat(path).then(() => true, () => false);
  // Workers keep their runs in the server: without a local checkpoint, read theirs.
  if (!exists && config.databaseUrl) return await workersStatus(config, limit);
  if (!exists) {
    return config.json ? "[]" : `No runs yet: ${path} does not exist.`;
  }
  const notes: string[] = [];
  let lock: { release(): void } | undefined;
  try {
    lock = acquireRunLock(config.stateDir);
  } catch {
    notes.push("A sync is running now.");
  }
  try {
    const accounts = config.accounts.length > 1 ? config.accounts.map((a) => a.clientId) : [];
    const searched = accounts.length > 0 ? accounts.length * RUNS_SEARCHED_PER_ACCOUNT : limit;
    const history = await readHistory(config, lock !== undefined, searched).catch((error) => {
      notes.push(`Run history unavailable: ${errorMessage(error)}`);
      return [] as HistoryRow[];
    });
    const open = () => openCheckpoint(path);
    const rows = await readCheckpoint(open, searched, history, lock !== undefined, accounts);
    const queue = await readQueueStates(config, rows.map((row) => row.account)).catch((error) => {
      notes.push(`Queue state unavailable: ${errorMessage(error)}`);
      return new Map<string, QueueState>();
    });
    if (queue.size > 0) {
      for (const row of rows) {
        const state = queue.get(row.account);
        row.queue_state = state?.state ?? null;
        row.queue_worker = state?.worker ?? null;
      }
    }
    if (accounts.length > 0) {
      const never = accounts.filter((account) => !rows.some((row) => row.account === account));
      if (never.length > 0) notes.push(`No run yet of: ${never.join(", ")}`);
    }
    if (config.json) return JSON.stringify(rows);
    return [formatTable(rows), ...notes].join("\n");
  } finally {
    lock?.release();
  }
}

/** The runs of the workers, from the checkpoint in the server, with each account's queue state. */
async function workersStatus(config: Readonly<Config>, limit: number): Promise<string> {
  const db = await openDatabase({ url: config.databaseUrl, stateDir: config.stateDir });
  try {
    const accounts = config.accounts.length > 1 ? config.accounts.map((a) => a.clientId) : [];
    const searched = accounts.length > 0 ? accounts.length * RUNS_SEARCHED_PER_ACCOUNT : limit;
    const history = await recentRuns(db.sql, searched).catch(() => [] as HistoryRow[]);
    const open = () => openPgCheckpoint(db.sql, { where: db.label });
    // A run marked running in the server may well be running on a worker: shown as it is.
    const rows = await readCheckpoint(open, searched, history, false, accounts).catch(
      () => [] as RunStatus[],
    );
    const queue = await accountQueueStates(db.sql, rows.map((row) => row.account));
    for (const row of rows) {
      row.queue_state = queue.get(row.account)?.state ?? null;
      row.queue_worker = queue.get(row.account)?.worker ?? null;
    }
    if (config.json) return JSON.stringify(rows);
    const never = accounts.filter((account) => !rows.some((row) => row.account === account));
    const notes = never.length > 0 ? [`No run yet of: ${never.join(", ")}`] : [];
    return [formatTable(rows), ...notes].join("\n");
  } finally {
    await db.close();
  }
}

/** Each account's job in the workers' queue; only a server database holds one. */
async function readQueueStates(
  config: Readonly<Config>,
  accounts: readonly string[],
): Promise<Map<string, QueueState>> {
  if (!config.databaseUrl || accounts.length === 0) return new Map();
  const db = await openDatabase({ url: config.databaseUrl, stateDir: config.stateDir });
  try {
    return await accountQueueStates(db.sql, [...new Set(accounts)]);
  } finally {
    await db.close();
  }
}

async function readHistory(
  config: Readonly<Config>,
  lockHeld: boolean,
  limit: number,
): Promise<HistoryRow[]> {
  if (!config.databaseUrl && !lockHeld) return []; // the embedded database belongs to the sync
  const db = await openDatabase({ url: config.databaseUrl, stateDir: config.stateDir });
  try {
    return await recentRuns(db.sql, limit);
  } catch {
    return []; // not migrated yet: no history
  } finally {
    await db.close();
  }
}

/** The checkpoint's latest runs; with `accounts`, the latest run of each, in their order. */
async function readCheckpoint(
  open: () => Checkpoint,
  limit: number,
  history: HistoryRow[],
  noSyncRunning: boolean,
  accounts: readonly string[],
): Promise<RunStatus[]> {
  const checkpoint = open();
  try {
    const latest = await checkpoint.latestRuns(limit);
    const runs = accounts.length === 0
      ? latest
      : accounts.flatMap((account) => latest.find((run) => run.account === account) ?? []);
    return await Promise.all(runs.map(async (run) => {
      const progress = await checkpoint.progress(run.runId);
      const row = history.find((h) => h.run_id === run.runId);
      // A run still marked running while nobody holds the lock died without a word (kill -9).
      const status = run.status === "running" && noSyncRunning ? "interrupted" : run.status;
      return {
        run_id: run.runId,
        account: run.account,
        status,
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
        deletions_withheld: row?.summary?.deletions_withheld ?? 0,
      };
    }));
  } finally {
    await checkpoint.close();
  }
}

function formatTable(rows: RunStatus[]): string {
  if (rows.length === 0) return "No runs yet.";
  const of = (done: number, total: number | null) => `${done}/${total ?? "?"}`;
  const queued = rows.some((r) => r.queue_state !== undefined);
  const queueCell = (r: RunStatus) =>
    queued
      ? [
        formatQueueState(
          r.queue_state
            ? { state: r.queue_state, worker: r.queue_worker ?? null, tries: 0 }
            : undefined,
        ) || "-",
      ]
      : [];
  const table = [
    [
      "RUN",
      "ACCOUNT",
      "STATUS",
      ...(queued ? ["QUEUE"] : []),
      "PAGES",
      "CAMPAIGNS",
      "REJECTED",
      "FAILED",
      "UPDATED",
      "ERROR",
    ],
    ...rows.map((r) => [
      r.run_id,
      r.account,
      r.status,
      ...queueCell(r),
      of(r.pages_done, r.pages_total),
      of(r.synced + r.rejected, r.campaigns_total),
      String(r.rejected),
      String(r.failed),
      r.updated_at.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      r.last_error ??
        (r.deletions_withheld ? `${r.deletions_withheld} deletions withheld (mass deletion)` : ""),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n");
}
