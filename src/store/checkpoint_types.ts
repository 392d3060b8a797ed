/** The checkpoint's shapes, shared by the store and its schema. */

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
  /** The page size the platform capped `limit` to, once learnt; pages are planned with it. */
  pageLimit: number | null;
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
  /** Stores the page size learnt from the platform's cap, so a resume plans the same pages. */
  setPageLimit(runId: string, limit: number): void;
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
