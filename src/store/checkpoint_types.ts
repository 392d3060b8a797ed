/** The checkpoint's shapes, shared by the store and its schema. */
import type { RunStatus } from "../run_counters.ts";
import type { CampaignChange } from "./campaign_store.ts";

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
  status: "running" | RunStatus;
  total: number | null;
  pagesTotal: number | null;
  /** The page size the platform capped `limit` to, once learnt; pages are planned with it. */
  pageLimit: number | null;
  lastError: string | null;
}

/**
 * Maps a stored run row (SQLite's `runs` or PostgreSQL's `checkpoint_runs`, where bigints arrive as
 * strings) to a RunRecord.
 */
export function runFromRow(row: Record<string, unknown>): RunRecord {
  const nullableNumber = (value: unknown) =>
    value === null || value === undefined ? null : Number(value);
  return {
    runId: String(row.run_id),
    account: String(row.account),
    apiUrl: String(row.api_url),
    pageSize: Number(row.page_size),
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
    status: row.status as RunRecord["status"],
    total: nullableNumber(row.total),
    pagesTotal: nullableNumber(row.pages_total),
    pageLimit: nullableNumber(row.page_limit),
    lastError: row.last_error === null || row.last_error === undefined
      ? null
      : String(row.last_error),
  };
}

/** One fetched page, its records kept exactly as the platform sent them. */
export interface SavedPage {
  page: number;
  records: unknown[];
  total: number;
  hasMore: boolean;
}

/**
 * Counts of one run's saved pages and finished, rejected and failed campaigns, and of what its
 * committed rows changed (campaigns an older version committed count in `synced` only).
 */
export interface RunProgress {
  pagesDone: number;
  synced: number;
  rejected: number;
  failed: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

/** How a campaign ended up once its row was committed (or refused) in PostgreSQL. */
export type DoneOutcome = "synced" | "rejected";

/**
 * Durable, resumable progress of sync runs: a local SQLite file for `sync`, PostgreSQL for
 * workers. Every method resolves once its write is durable (all of a call's statements commit
 * together; calls made close together may share the transaction) and rejects with a
 * CheckpointError otherwise, a failed call taking no other down with it.
 */
export interface Checkpoint {
  /** Where this checkpoint lives, for messages: the file's path, or "PostgreSQL at host/db". */
  readonly where: string;
  /** Records a new run with status "running". */
  createRun(
    run: { runId: string; account: string; apiUrl: string; pageSize: number; startedAt: number },
  ): Promise<void>;
  /**
   * The account's latest run when it is unfinished (running, interrupted, partial or failed);
   * undefined when its latest run ended ok (older unfinished runs are superseded) or it has none.
   */
  latestUnfinished(account: string): Promise<RunRecord | undefined>;
  /** The most recent runs of any account, newest first. */
  latestRuns(limit: number): Promise<RunRecord[]>;
  /** One run by id, if known. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Stores the page size learnt from the platform's cap, so a resume plans the same pages. */
  setPageLimit(runId: string, limit: number): Promise<void>;
  /** Stores the campaign and page counts the platform announced. */
  setTotals(runId: string, total: number, pagesTotal: number): Promise<void>;
  /** Stores (or replaces) one fetched page with its raw records. */
  savePage(runId: string, page: SavedPage): Promise<void>;
  /** Every saved page of a run, ordered by page number. */
  pages(runId: string): Promise<SavedPage[]>;
  /**
   * Marks campaigns as finished in one transaction, with what committing each one's row changed
   * when `changes` tells; marking again changes nothing but the outcome and the change.
   */
  markDone(
    runId: string,
    ids: string[],
    outcome: DoneOutcome,
    changes?: ReadonlyMap<string, CampaignChange>,
  ): Promise<void>;
  /** Every finished campaign id of a run with its outcome. */
  done(runId: string): Promise<Map<string, DoneOutcome>>;
  /** Records the platform's sync of a campaign whose row is not committed yet (so a resume needs no request). */
  recordSynced(runId: string, id: string, syncedAt: string): Promise<void>;
  /** Campaigns the platform synced whose rows were never committed, with their `synced_at`. */
  syncedPending(runId: string): Promise<Map<string, string>>;
  /** Records a campaign that failed; it stays out of done() so a resume retries it. */
  markFailed(runId: string, id: string, reason: string): Promise<void>;
  /** Sets a run's final (or interrupted) status. */
  finishRun(runId: string, status: RunRecord["status"], lastError?: string | null): Promise<void>;
  /** Records one rate-limited request sent at `at` (epoch ms), before the request leaves. */
  recordSend(account: string, at: number): Promise<void>;
  /** Send times of this account at or after `since`, ascending. */
  recentSends(account: string, since: number): Promise<number[]>;
  /** Forgets this account's send times before `before`. */
  pruneSends(account: string, before: number): Promise<void>;
  /** Counts of saved pages, finished, rejected and failed campaigns, and changes of a run. */
  progress(runId: string): Promise<RunProgress>;
  /** Closes what the checkpoint opened (the file); it cannot be used afterwards. */
  close(): Promise<void>;
}
