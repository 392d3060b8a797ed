import { DatabaseSync } from "node:sqlite";
import { migrateCheckpoint, prepareReads, toRun } from "./checkpoint_schema.ts";
import type { Checkpoint, DoneOutcome } from "./checkpoint_types.ts";
import { AdsyncError, errorMessage } from "../errors.ts";
import { type Clock, systemClock } from "../clock.ts";
import { createGroupCommit } from "./group_commit.ts";
import type { Step, WriterReply, WriterRequest } from "./checkpoint_worker.ts";
import { workerRequests } from "./worker_requests.ts";

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

  const s = prepareReads(db);
  const writer = groupedWriter(path, clock);
  const { write } = writer;
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
  /** A write's last step: the run's `updated_at`; an unknown run fails the write. */
  const touch = (runId: string): Step => ({
    statement: "touch",
    params: [now(), runId],
    run: runId,
  });
  let sendsSincePrune = 0;

  return {
    where: path,
    createRun(run) {
      const { runId, account, apiUrl, pageSize, startedAt } = run;
      const params = [runId, account, apiUrl, pageSize, startedAt, now()];
      return write(`create run ${runId}`, [{ statement: "insertRun", params }]);
    },
    latestUnfinished: (account) => read(() => toRun(s.unfinished.get(account))),
    latestRuns: (limit) => read(() => s.latest.all(limit).map((row) => toRun(row)!)),
    getRun: (runId) => read(() => toRun(s.getRun.get(runId))),
    setPageLimit(runId, limit) {
      return write(`set the page size of run ${runId}`, [
        { statement: "pageLimit", params: [limit, now(), runId], run: runId },
      ]);
    },
    setTotals(runId, total, pagesTotal) {
      const params = [total, pagesTotal, now(), runId];
      return write(`set totals of run ${runId}`, [
        { statement: "totals", params, run: runId },
      ]);
    },
    savePage(runId, page) {
      const records = JSON.stringify(page.records);
      const params = [runId, page.page, records, page.total, page.hasMore ? 1 : 0];
      return write(`save page ${page.page} of run ${runId}`, [
        { statement: "savePage", params },
        touch(runId),
      ]);
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
      const steps = ids.flatMap((id): Step[] => [
        { statement: "markDone", params: [runId, id, outcome, changes?.get(id) ?? null] },
        { statement: "unfail", params: [runId, id] },
      ]);
      return write(`mark ${ids.length} campaigns ${outcome} in run ${runId}`, [
        ...steps,
        touch(runId),
      ]);
    },
    done: (runId) =>
      read(() => {
        const rows = s.done.all(runId);
        return new Map(rows.map((row) => [String(row.campaign_id), row.outcome as DoneOutcome]));
      }),
    recordSynced(runId, id, syncedAt) {
      return write(`record campaign ${id} synced in run ${runId}`, [
        { statement: "recordSynced", params: [runId, id, syncedAt] },
        touch(runId),
      ]);
    },
    syncedPending: (runId) =>
      read(() => {
        const rows = s.syncedPending.all(runId);
        return new Map(rows.map((row) => [String(row.campaign_id), String(row.synced_at)]));
      }),
    markFailed(runId, id, reason) {
      return write(`mark campaign ${id} failed in run ${runId}`, [
        { statement: "markFailed", params: [runId, id, reason] },
        touch(runId),
      ]);
    },
    finishRun(runId, status, lastError = null) {
      const params = [status, lastError, now(), runId];
      return write(`finish run ${runId}`, [
        { statement: "finish", params, run: runId },
      ]);
    },
    recordSend(account, at) {
      const recorded = write("record a request", [
        { statement: "recordSend", params: [account, at] },
      ]);
      if (++sendsSincePrune < PRUNE_EVERY) return recorded;
      sendsSincePrune = 0;
      return recorded.then(() =>
        write("prune old requests", [
          { statement: "pruneSends", params: [account, at - sendRetentionMs] },
        ])
      );
    },
    recentSends: (account, since) =>
      read(() => s.recentSends.all(account, since).map((row) => Number(row.at))),
    pruneSends(account, before) {
      return write("prune old requests", [{ statement: "pruneSends", params: [account, before] }]);
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
      await writer.close();
      if (db.isOpen) db.close();
    },
  };
}

/**
 * The checkpoint's writes, grouped, on the writer's thread (src/store/checkpoint_worker.ts):
 * writes made close together (every account of the process records its sends and syncs here)
 * commit in one IMMEDIATE transaction, since a commit costs far more than its statements. A
 * write fails for itself only, with a CheckpointError naming its `action`; it resolves once its
 * transaction committed.
 */
function groupedWriter(path: string, clock: Clock): {
  write(action: string, steps: Step[]): Promise<void>;
  close(): Promise<void>;
} {
  // Started by the first write: a process that only reads (`status`) needs no writer.
  let thread: { worker: Worker; ask: Ask; opened: Promise<WriterReply> } | undefined;
  const start = () => {
    if (thread) return thread;
    const worker = new Worker(new URL("./checkpoint_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const ask = askInOrder(worker);
    const opened = ask({ type: "open", path, busyTimeoutMs: BUSY_TIMEOUT_MS });
    return thread = { worker, ask, opened };
  };
  let closed: Promise<void> | undefined;
  const group = createGroupCommit<Step[], string | undefined>(async (writes) => {
    // A write after `close()` fails, as it did on a closed database; it must not wait forever.
    if (closing) return writes.map(() => "the checkpoint is closed");
    let started: ReturnType<typeof start>;
    try {
      started = start();
    } catch (error) {
      return writes.map(() => `its writer cannot start: ${errorMessage(error)}`);
    }
    const { ask, opened } = started;
    const open = await opened;
    if (open.type === "failed") {
      return writes.map(() => `its writer cannot open it: ${open.message}`);
    }
    const reply = await ask({ type: "write", writes });
    if (reply.type === "written") return reply.errors;
    return writes.map(() => reply.type === "failed" ? reply.message : "its writer ended");
  }, { clock, targetRows: GROUP_TARGET_WRITES, maxWaitMs: GROUP_MAX_WAIT_MS });
  let closing = false;
  return {
    async write(action, steps) {
      const reason = await group.submit(steps);
      if (reason === undefined) return;
      throw new CheckpointError(`Cannot ${action} in checkpoint ${path}: ${reason}`, {
        cause: new Error(reason),
      });
    },
    close: () =>
      closed ??= (async () => {
        // Writes still gathering commit first: each caller was promised durability.
        await group.flush();
        closing = true;
        if (!thread) return;
        await thread.ask({ type: "close" });
        thread.worker.terminate();
      })(),
  };
}

/** Asks the writer something; it answers each request, in order. */
type Ask = (request: WriterRequest) => Promise<WriterReply>;

/**
 * Sends the writer one request after the other. A writer that died (its module failed to load,
 * say) fails every write, never the process: what it was asked and what it is asked after.
 */
function askInOrder(worker: Worker): Ask {
  const failed = (message: string): WriterReply => ({ type: "failed", message });
  return workerRequests<WriterRequest, WriterReply>(worker, failed).ask;
}
