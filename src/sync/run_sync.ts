import { getLogger } from "@logtape/logtape";
import pLimit from "p-limit";
import type postgres from "postgres";
import type { Clock } from "../clock.ts";
import { AuthError, errorMessage } from "../errors.ts";
import type { PlatformClient } from "../platform/platform_client.ts";
import type { Campaign, SyncedCampaign } from "../platform/schemas.ts";
import { insertRejects, upsertCampaigns } from "../store/campaign_store.ts";
import { createDatabaseGuard, type DatabaseGuard } from "../store/database_guard.ts";
import type { Checkpoint, SavedPage } from "../store/checkpoint.ts";
import { createBatcher } from "./batcher.ts";
import { createCatalog, type Drift, pageCount, type Reject } from "./catalog.ts";

const log = getLogger(["adsync", "sync"]);

/** What one account's sync needs: where to read, where to write, where to remember. */
export interface SyncJob {
  runId: string;
  account: string;
  client: PlatformClient;
  sql: postgres.Sql;
  checkpoint: Checkpoint;
  /** Deadlines and outage retries of the writes. @default the guard's defaults, cut by the wire */
  guard?: DatabaseGuard;
}

/** Options for {@linkcode startSync}. */
export interface SyncOptions {
  /** Records per page requested. @default 10 */
  pageSize?: number;
  /** Hard cap on pages fetched, whatever `total` says. @default 1000 */
  maxPages?: number;
  /** Campaign syncs in flight or waiting for a slot at once. @default 10 */
  concurrency?: number;
  /** Rows per upsert transaction at most. @default 100 */
  batchSize?: number;
  /** Longest a synced row waits for its transaction, in ms. @default 250 */
  batchWaitMs?: number;
  /** Timer source for batching. @default systemClock */
  clock?: Clock;
  /** Stops starting work: waits end, nothing new is sent. @default never */
  signal?: AbortSignal;
  /** Cuts requests already sent. @default signal */
  wireSignal?: AbortSignal;
}

/** Where a sync stands, for progress and the summary. */
export interface SyncProgress {
  total: number | null;
  pagesTotal: number | null;
  pagesDone: number;
  synced: number;
  skipped: number;
  failed: number;
  rejected: number;
  /** Campaigns known but not finished yet (queued, waiting or in flight). */
  queued: number;
}

/** How a sync ended. */
export interface SyncResult extends SyncProgress {
  drift: Drift;
  /** Work left undone because the stop signal fired; a resume continues it. */
  interrupted: boolean;
  /** The error that ended the run early (authentication refused, database lost). */
  fatal: unknown;
}

/**
 * Syncs every campaign of one account: lists pages (stopping at `total`), validates each record,
 * syncs each new campaign at the platform and upserts it in batches, checkpointing as it goes.
 * Picks up whatever the checkpoint already holds for `job.runId`.
 */
export function startSync(
  job: SyncJob,
  options: SyncOptions = {},
): { progress(): SyncProgress; done: Promise<SyncResult> } {
  const { pageSize = 10, maxPages = 1000, concurrency = 10, clock } = options;
  const { runId, account, client, sql, checkpoint } = job;
  const fatal = new AbortController();
  const present = (...list: (AbortSignal | undefined)[]) => list.filter((s) => s !== undefined);
  const stop = AbortSignal.any(present(fatal.signal, options.signal));
  const wire = AbortSignal.any(present(fatal.signal, options.wireSignal ?? options.signal));
  const signals = { signal: stop, wireSignal: wire };
  const guard = job.guard ?? createDatabaseGuard("PostgreSQL", { clock, signal: wire });
  const catalog = createCatalog(pageSize);
  const done = checkpoint.done(runId);
  const pendingSynced = checkpoint.syncedPending(runId);
  const state = { synced: 0, skipped: 0, failed: 0, rejected: 0, queued: 0, pagesDone: 0 };
  let pagesTotal: number | null = null;
  let unfinished = 0;
  let fatalError: unknown;
  const pool = pLimit(concurrency);
  const tasks: Promise<unknown>[] = [];

  function failRun(error: unknown): void {
    fatalError ??= error;
    fatal.abort(error);
  }

  /** A write that failed for good: fatal, unless a stop came first (the checkpoint keeps it). */
  function writeFailed(error: unknown): void {
    if (!options.signal?.aborted) return failRun(error);
    unfinished++;
    log.warn("{error}", { error: errorMessage(error) });
  }

  const batcher = createBatcher<SyncedCampaign>(async (rows) => {
    const write = () => upsertCampaigns(sql, account, rows);
    await guard.retrying(`write ${rows.length} campaigns to`, write);
    checkpoint.markDone(runId, rows.map((row) => row.id), "synced");
    state.synced += rows.length;
    state.queued -= rows.length;
    log.debug("Committed {count} campaigns", { count: rows.length });
  }, { clock, maxSize: options.batchSize, maxWaitMs: options.batchWaitMs, onError: writeFailed });

  async function storeRejects(rejects: Reject[]): Promise<void> {
    state.rejected += rejects.length;
    const fresh = rejects.filter((reject) => !done.has(reject.key));
    for (const reject of fresh) {
      log.warn("Rejected {key}: {reason}", { key: reject.key, reason: reject.reason });
    }
    if (fresh.length === 0) return;
    const rows = fresh.map((reject) => ({ runId, account, ...reject }));
    await guard.retrying(
      `store ${rows.length} rejected records in`,
      () => insertRejects(sql, rows),
    );
    checkpoint.markDone(runId, fresh.map((reject) => reject.key), "rejected");
  }

  async function syncOne(campaign: Campaign): Promise<void> {
    if (stop.aborted) return void unfinished++;
    try {
      const syncedAt = await client.syncCampaign(campaign.id, signals);
      checkpoint.recordSynced(runId, campaign.id, syncedAt);
      batcher.add({ ...campaign, synced_at: syncedAt });
    } catch (error) {
      if (stop.aborted) return void unfinished++;
      if (error instanceof AuthError) return failRun(error);
      state.failed++;
      state.queued--;
      const reason = errorMessage(error);
      checkpoint.markFailed(runId, campaign.id, reason);
      log.error("Cannot sync campaign {id}: {reason}", { id: campaign.id, reason });
    }
  }

  function accept(page: SavedPage): void {
    state.pagesDone++;
    const { campaigns, rejects } = catalog.add(page);
    if (rejects.length > 0) tasks.push(storeRejects(rejects).catch(writeFailed));
    for (const campaign of campaigns) {
      if (done.get(campaign.id) === "synced") {
        state.skipped++;
        continue;
      }
      state.queued++;
      const syncedAt = pendingSynced.get(campaign.id);
      if (syncedAt !== undefined) batcher.add({ ...campaign, synced_at: syncedAt });
      else tasks.push(pool(() => syncOne(campaign)));
    }
  }

  async function fetchPage(page: number): Promise<SavedPage | undefined> {
    if (stop.aborted) return void unfinished++;
    try {
      const body = await client.listCampaigns(page, pageSize, signals);
      const { total, has_more } = body.pagination;
      const hasMore = has_more ?? page * pageSize < total;
      const saved = { page, records: body.data, total, hasMore };
      checkpoint.savePage(runId, saved);
      log.info("Fetched page {page} ({records} records)", { page, records: body.data.length });
      return saved;
    } catch (error) {
      if (stop.aborted) return void unfinished++;
      if (error instanceof AuthError) return void failRun(error);
      const reason = errorMessage(error);
      log.error("Cannot fetch page {page}: {reason}", { page, reason });
      if (page === 1) failRun(error);
      return undefined;
    }
  }

  function planPages(saved: ReadonlySet<number>): void {
    const total = catalog.total!;
    pagesTotal = pageCount(total, pageSize, maxPages);
    checkpoint.setTotals(runId, total, pagesTotal);
    if (Math.ceil(total / pageSize) > maxPages) {
      log.warn("Total of {total} needs more than the {maxPages}-page cap; stopping at the cap", {
        total,
        maxPages,
      });
    }
    for (let page = 1; page <= pagesTotal; page++) {
      if (saved.has(page)) continue;
      tasks.push(
        fetchPage(page).then((fetched) => {
          if (fetched) accept(fetched);
          else if (!stop.aborted) state.failed += recordsOnPage(page, total, pageSize);
        }),
      );
    }
  }

  async function run(): Promise<SyncResult> {
    const saved = checkpoint.pages(runId).filter((page) => page.page <= maxPages);
    for (const page of saved) accept(page);
    if (catalog.total === undefined) {
      const first = await fetchPage(1);
      if (first) {
        accept(first);
        saved.push(first);
      }
    }
    if (catalog.total !== undefined) planPages(new Set(saved.map((page) => page.page)));
    for (let settled = 0; settled < tasks.length;) {
      const batch = tasks.slice(settled);
      await Promise.all(batch);
      settled += batch.length;
    }
    await batcher.drain().catch(writeFailed);
    const drift = catalog.drift(pagesTotal ?? Infinity);
    state.failed += drift.missing;
    logDrift(drift);
    return {
      ...progress(),
      drift,
      interrupted: fatalError === undefined && unfinished > 0,
      fatal: fatalError,
    };
  }

  function progress(): SyncProgress {
    return { ...state, total: catalog.total ?? null, pagesTotal };
  }

  return { progress, done: run() };
}

function recordsOnPage(page: number, total: number, pageSize: number): number {
  return Math.max(0, Math.min(pageSize, total - (page - 1) * pageSize));
}

function logDrift(drift: Drift): void {
  if (drift.duplicates > 0) {
    log.warn("The listing repeated {duplicates} ids ({conflicting} with other content)", {
      ...drift,
    });
  }
  if (drift.missing > 0) {
    log.warn("The listing promised {missing} more campaigns than its pages held", { ...drift });
  }
  if (drift.hasMoreMismatches > 0 || drift.totalChanges > 0) {
    log.info(
      "has_more disagreed with total on {hasMoreMismatches} pages; total changed {totalChanges} times",
      {
        ...drift,
      },
    );
  }
}
