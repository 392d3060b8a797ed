import { DatabaseSync } from "node:sqlite";
import { migrate, prepareStatements, toRun } from "./checkpoint_schema.ts";
import { errorMessage } from "../errors.ts";

/** The checkpoint file cannot be opened, is not ours, or refused a write. */
export class CheckpointError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

/** One sync run as the checkpoint remembers it. */
export interface RunRecord {
  runId: string;
  account: string;
  apiUrl: string;
  pageSize: number;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Epoch milliseconds of the last write touching this run. */
  updatedAt: number;
  status: "running" | "ok" | "partial" | "interrupted" | "failed";
  total: number | null;
  pagesTotal: number | null;
  lastError: string | null;
}

/** One fetched page, its records kept exactly as the platform sent them. */
export interface SavedPage {
  page: number;
  records: unknown[];
  total: number;
  hasMore: boolean;
}

/** How a campaign ended up once its row was committed (or refused) in PostgreSQL. */
export type DoneOutcome = "synced" | "rejected";

/** Options for openCheckpoint. */
export interface CheckpointOptions {
  /** Clock for `updatedAt`, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Send times older than this (relative to the newest send) are pruned. @default 86_400_000 */
  sendRetentionMs?: number;
}

/** Durable, resumable progress of sync runs in a local SQLite file. */
export interface Checkpoint {
  /** The file this checkpoint lives in. */
  readonly path: string;
  /** Records a new run with status "running". */
  createRun(
    run: { runId: string; account: string; apiUrl: string; pageSize: number; startedAt: number },
  ): void;
  /** Latest run of this account whose status is not "ok" (running/interrupted/partial/failed). */
  latestUnfinished(account: string): RunRecord | undefined;
  /** The most recent runs of any account, newest first. */
  latestRuns(limit: number): RunRecord[];
  /** One run by id, if known. */
  getRun(runId: string): RunRecord | undefined;
  /** Stores the campaign and page counts the platform announced. */
  setTotals(runId: string, total: number, pagesTotal: number): void;
  /** Stores (or replaces) one fetched page with its raw records. */
  savePage(runId: string, page: SavedPage): void;
  /** Every saved page of a run, ordered by page number. */
  pages(runId: string): SavedPage[];
  /** Marks campaigns as finished in one transaction; marking again changes nothing but the outcome. */
  markDone(runId: string, ids: string[], outcome: DoneOutcome): void;
  /** Every finished campaign id of a run with its outcome. */
  done(runId: string): Map<string, DoneOutcome>;
  /** Records the platform's sync of a campaign whose row is not committed yet (so a resume needs no request). */
  recordSynced(runId: string, id: string, syncedAt: string): void;
  /** Campaigns the platform synced whose rows were never committed, with their `synced_at`. */
  syncedPending(runId: string): Map<string, string>;
  /** Records a campaign that failed; it stays out of done() so a resume retries it. */
  markFailed(runId: string, id: string, reason: string): void;
  /** Sets a run's final (or interrupted) status. */
  finishRun(runId: string, status: RunRecord["status"], lastError?: string | null): void;
  /** Records one rate-limited request sent at `at` (epoch ms), before the request leaves. */
  recordSend(account: string, at: number): void;
  /** Send times of this account at or after `since`, ascending. */
  recentSends(account: string, since: number): number[];
  /** Forgets this account's send times before `before`. */
  pruneSends(account: string, before: number): void;
  /** Counts of saved pages and finished, rejected and failed campaigns of a run. */
  progress(runId: string): { pagesDone: number; synced: number; rejected: number; failed: number };
  /** Closes the file; the checkpoint cannot be used afterwards. */
  close(): void;
}

const BUSY_TIMEOUT_MS = 5_000;
/** recordSend prunes old send times once every this many inserts, to keep it one INSERT. */
const PRUNE_EVERY = 100;

/** Opens (creating if needed) the checkpoint at `path`, or throws CheckpointError. */
export function openCheckpoint(path: string, options: CheckpointOptions = {}): Checkpoint {
  const { now = Date.now, sendRetentionMs = 86_400_000 } = options;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new CheckpointError(`Cannot open checkpoint ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  try {
    // The first statement reads the file header: a file that is not SQLite fails here.
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL, not FULL: in WAL mode NORMAL survives kill -9 and any crash of ours (a commit is
    // in the OS's hands when it returns); only a power loss or OS crash can drop the last
    // commits, which costs redone requests, never data (upserts are idempotent). FULL's fsync
    // per write stalled the event loop between the limiter stamping a burst of requests and
    // their leaving, so they reached the platform late enough to collide with the next window.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    const problem = migrate(db);
    if (problem !== undefined) throw new CheckpointError(problem);
  } catch (error) {
    db.close();
    const reason = error instanceof CheckpointError ? error.message : errorMessage(error);
    throw new CheckpointError(`Cannot open checkpoint ${path}: ${reason}`, { cause: error });
  }

  const s = prepareStatements(db);

  /** Runs `fn` as one IMMEDIATE transaction; any failure becomes a CheckpointError. */
  const write = (action: string, fn: () => void): void => {
    try {
      db.exec("BEGIN IMMEDIATE");
      fn();
      db.exec("COMMIT");
    } catch (error) {
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
      throw new CheckpointError(`Cannot ${action} in checkpoint ${path}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  };
  const touch = (runId: string) => {
    if (s.touch.run(now(), runId).changes === 0) throw new Error(`unknown run ${runId}`);
  };
  let sendsSincePrune = 0;

  return {
    path,
    createRun(run) {
      write(`create run ${run.runId}`, () => {
        const { runId, account, apiUrl, pageSize, startedAt } = run;
        s.insertRun.run(runId, account, apiUrl, pageSize, startedAt, now());
      });
    },
    latestUnfinished: (account) => toRun(s.unfinished.get(account)),
    latestRuns: (limit) => s.latest.all(limit).map((row) => toRun(row)!),
    getRun: (runId) => toRun(s.getRun.get(runId)),
    setTotals(runId, total, pagesTotal) {
      write(`set totals of run ${runId}`, () => {
        if (s.totals.run(total, pagesTotal, now(), runId).changes === 0) {
          throw new Error(`unknown run ${runId}`);
        }
      });
    },
    savePage(runId, page) {
      write(`save page ${page.page} of run ${runId}`, () => {
        const records = JSON.stringify(page.records);
        s.savePage.run(runId, page.page, records, page.total, page.hasMore ? 1 : 0);
        touch(runId);
      });
    },
    pages: (runId) =>
      s.pages.all(runId).map((row) => ({
        page: Number(row.page),
        records: JSON.parse(String(row.records)) as unknown[],
        total: Number(row.total),
        hasMore: Number(row.has_more) === 1,
      })),
    markDone(runId, ids, outcome) {
      write(`mark ${ids.length} campaigns ${outcome} in run ${runId}`, () => {
        for (const id of ids) {
          s.markDone.run(runId, id, outcome);
          s.unfail.run(runId, id);
        }
        touch(runId);
      });
    },
    done(runId) {
      const rows = s.done.all(runId);
      return new Map(rows.map((row) => [String(row.campaign_id), row.outcome as DoneOutcome]));
    },
    recordSynced(runId, id, syncedAt) {
      write(`record campaign ${id} synced in run ${runId}`, () => {
        s.recordSynced.run(runId, id, syncedAt);
        touch(runId);
      });
    },
    syncedPending(runId) {
      const rows = s.syncedPending.all(runId);
      return new Map(rows.map((row) => [String(row.campaign_id), String(row.synced_at)]));
    },
    markFailed(runId, id, reason) {
      write(`mark campaign ${id} failed in run ${runId}`, () => {
        s.markFailed.run(runId, id, reason);
        touch(runId);
      });
    },
    finishRun(runId, status, lastError = null) {
      write(`finish run ${runId}`, () => {
        if (s.finish.run(status, lastError, now(), runId).changes === 0) {
          throw new Error(`unknown run ${runId}`);
        }
      });
    },
    recordSend(account, at) {
      write("record a request", () => void s.recordSend.run(account, at));
      if (++sendsSincePrune >= PRUNE_EVERY) {
        sendsSincePrune = 0;
        write("prune old requests", () => void s.pruneSends.run(account, at - sendRetentionMs));
      }
    },
    recentSends: (account, since) => s.recentSends.all(account, since).map((row) => Number(row.at)),
    pruneSends(account, before) {
      write("prune old requests", () => void s.pruneSends.run(account, before));
    },
    progress(runId) {
      const row = s.progress.get(runId) ?? {};
      return {
        pagesDone: Number(row.pages_done ?? 0),
        synced: Number(row.synced ?? 0),
        rejected: Number(row.rejected ?? 0),
        failed: Number(row.failed ?? 0),
      };
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
