import { DatabaseSync } from "node:sqlite";
import { migrateCheckpoint, prepareStatements, toRun } from "./checkpoint_schema.ts";
import type { Checkpoint, DoneOutcome } from "./checkpoint_types.ts";
import { AdsyncError, errorMessage } from "../errors.ts";
import { type Clock, systemClock } from "../clock.ts";
import { createGroupCommit } from "./group_commit.ts";

export type {
  Checkpoint,
  DoneOutcome,
  RunProgress,
  RunRecord,
  SavedPage,
} from "./checkpoint_types.ts";

/** The checkpoint file cannot be opened, is not ours, or refused a write. */
export class CheckpointError extends AdsyncError {
  constructor(message: string, options?: ErrorOptions) {
    super("CHECKPOINT_UNAVAILABLE", message, options);
    this.name = "CheckpointError";
  }
}

/** Options for openCheckpoint. */
export interface CheckpointOptions {
  /** Clock for `updatedAt`, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Timers of the group commit (writes gather up to 20 ms). @default systemClock */
  clock?: Clock;
  /** Send times older than this (relative to the newest send) are pruned. @default 86_400_000 */
  sendRetentionMs?: number;
}

const BUSY_TIMEOUT_MS = 5_000;
/**
 * Writes a group aims to gather, and the longest a write waits for its group: a send leaves only
 * once its record committed, and this many milliseconds are nothing to a window of seconds.
 */
const GROUP_TARGET_WRITES = 64;
const GROUP_MAX_WAIT_MS = 20;

/** One write of a group: its statements, run inside the group's transaction. */
interface Write {
  fn: () => void;
}
/** recordSend prunes old send times once every this many inserts, to keep it one INSERT. */
const PRUNE_EVERY = 100;

/** Opens (creating if needed) the checkpoint at `path`, or throws CheckpointError. */
export function openCheckpoint(path: string, options: CheckpointOptions = {}): Checkpoint {
  const { now = Date.now, sendRetentionMs = 86_400_000, clock = systemClock } = options;
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
    const problem = migrateCheckpoint(db);
    if (problem !== undefined) throw new CheckpointError(problem);
  } catch (error) {
    db.close();
    const reason = error instanceof CheckpointError ? error.message : errorMessage(error);
    throw new CheckpointError(`Cannot open checkpoint ${path}: ${reason}`, { cause: error });
  }

  const s = prepareStatements(db);

  // The runs touched in the transaction under way: a group holds many writes of one run, and they
  // all run at the same moment, so its `updated_at` is set once a transaction.
  const touched = new Set<string>();
  const { write, flush } = groupedWriter(db, path, clock, () => touched.clear());
  /** Runs a read; a failure (a closed file, say) becomes a rejected CheckpointError. */
  const read = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      const reason = errorMessage(error);
      return Promise.reject(
        new CheckpointError(`Cannot read checkpoint ${path}: ${reason}`, { cause: error }),
      );
    }
  };
  const touch = (runId: string) => {
    if (touched.has(runId)) return;
    if (s.touch.run(now(), runId).changes === 0) throw new Error(`unknown run ${runId}`);
    touched.add(runId);
  };
  let sendsSincePrune = 0;

  return {
    where: path,
    createRun(run) {
      return write(`create run ${run.runId}`, () => {
        const { runId, account, apiUrl, pageSize, startedAt } = run;
        s.insertRun.run(runId, account, apiUrl, pageSize, startedAt, now());
      });
    },
    latestUnfinished: (account) => read(() => toRun(s.unfinished.get(account))),
    latestRuns: (limit) => read(() => s.latest.all(limit).map((row) => toRun(row)!)),
    getRun: (runId) => read(() => toRun(s.getRun.get(runId))),
    setPageLimit(runId, limit) {
      return write(`set the page size of run ${runId}`, () => {
        if (s.pageLimit.run(limit, now(), runId).changes === 0) {
          throw new Error(`unknown run ${runId}`);
        }
      });
    },
    setTotals(runId, total, pagesTotal) {
      return write(`set totals of run ${runId}`, () => {
        if (s.totals.run(total, pagesTotal, now(), runId).changes === 0) {
          throw new Error(`unknown run ${runId}`);
        }
      });
    },
    savePage(runId, page) {
      return write(`save page ${page.page} of run ${runId}`, () => {
        const records = JSON.stringify(page.records);
        s.savePage.run(runId, page.page, records, page.total, page.hasMore ? 1 : 0);
        touch(runId);
      });
    },
    pages: (runId) =>
      read(() =>
        s.pages.all(runId).map((row) => ({
          page: Number(row.page),
          records: JSON.parse(String(row.records)) as unknown[],
          total: Number(row.total),
          hasMore: Number(row.has_more) === 1,
        }))
      ),
    markDone(runId, ids, outcome, changes) {
      return write(`mark ${ids.length} campaigns ${outcome} in run ${runId}`, () => {
        for (const id of ids) {
          s.markDone.run(runId, id, outcome, changes?.get(id) ?? null);
          s.unfail.run(runId, id);
        }
        touch(runId);
      });
    },
    done: (runId) =>
      read(() => {
        const rows = s.done.all(runId);
        return new Map(rows.map((row) => [String(row.campaign_id), row.outcome as DoneOutcome]));
      }),
    recordSynced(runId, id, syncedAt) {
      return write(`record campaign ${id} synced in run ${runId}`, () => {
        s.recordSynced.run(runId, id, syncedAt);
        touch(runId);
      });
    },
    syncedPending: (runId) =>
      read(() => {
        const rows = s.syncedPending.all(runId);
        return new Map(rows.map((row) => [String(row.campaign_id), String(row.synced_at)]));
      }),
    markFailed(runId, id, reason) {
      return write(`mark campaign ${id} failed in run ${runId}`, () => {
        s.markFailed.run(runId, id, reason);
        touch(runId);
      });
    },
    finishRun(runId, status, lastError = null) {
      return write(`finish run ${runId}`, () => {
        if (s.finish.run(status, lastError, now(), runId).changes === 0) {
          throw new Error(`unknown run ${runId}`);
        }
      });
    },
    recordSend(account, at) {
      const recorded = write("record a request", () => void s.recordSend.run(account, at));
      if (++sendsSincePrune < PRUNE_EVERY) return recorded;
      sendsSincePrune = 0;
      return recorded.then(() =>
        write("prune old requests", () => void s.pruneSends.run(account, at - sendRetentionMs))
      );
    },
    recentSends: (account, since) =>
      read(() => s.recentSends.all(account, since).map((row) => Number(row.at))),
    pruneSends(account, before) {
      return write("prune old requests", () => void s.pruneSends.run(account, before));
    },
    progress: (runId) =>
      read(() => {
        const row = s.progress.get(runId) ?? {};
        return {
          pagesDone: Number(row.pages_done ?? 0),
          synced: Number(row.synced ?? 0),
          rejected: Number(row.rejected ?? 0),
          failed: Number(row.failed ?? 0),
          inserted: Number(row.inserted ?? 0),
          updated: Number(row.updated ?? 0),
          unchanged: Number(row.unchanged ?? 0),
        };
      }),
    async close() {
      // Writes still gathering commit first: each caller was promised durability.
      await flush();
      if (db.isOpen) db.close();
    },
  };
}

/**
 * The checkpoint's writes, grouped: writes made close together (every account of the process
 * records its sends and syncs here) commit in one IMMEDIATE transaction, since a commit costs far
 * more than its statements. A group that fails is rolled back and its writes run one transaction
 * each, so a write fails only for itself, with a CheckpointError naming its `action`.
 */
function groupedWriter(db: DatabaseSync, path: string, clock: Clock, onBegin: () => void): {
  write(action: string, fn: () => void): Promise<void>;
  flush(): Promise<void>;
} {
  /** Runs `writes` in one transaction: undefined when it committed, else the error. */
  const transaction = (writes: readonly Write[]): unknown => {
    try {
      db.exec("BEGIN IMMEDIATE");
      onBegin();
      for (const { fn } of writes) fn();
      db.exec("COMMIT");
      return undefined;
    } catch (error) {
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
      return error;
    }
  };
  const group = createGroupCommit<Write, unknown>((writes) => {
    const failed = writes.length > 1 ? transaction(writes) : true;
    return Promise.resolve(
      failed === undefined ? writes.map(() => undefined) : writes.map((w) => transaction([w])),
    );
  }, { clock, targetRows: GROUP_TARGET_WRITES, maxWaitMs: GROUP_MAX_WAIT_MS });
  return {
    async write(action, fn) {
      const error = await group.submit({ fn });
      if (error === undefined) return;
      const reason = errorMessage(error);
      throw new CheckpointError(`Cannot ${action} in checkpoint ${path}: ${reason}`, {
        cause: error,
      });
    },
    flush: () => group.flush(),
  };
}
