import { getLogger } from "@logtape/logtape";
import type postgres from "postgres";
import type { PlatformClient } from "../platform/platform_client.ts";
import { insertRejects, upsertCampaigns } from "../store/campaign_store.ts";
import type { CampaignWriter } from "../store/campaign_writer.ts";
import type { Checkpoint } from "../store/checkpoint.ts";
import { createDatabaseGuard, type DatabaseGuard } from "../store/database_guard.ts";
import { markDeleted } from "../store/deletions.ts";
import { type Catalog, createCatalog, type Drift } from "./catalog.ts";
import { type Listing, recordsOnPage, runPager } from "./pager.ts";
import { type CampaignSink, createPipeline, type PipelineOptions } from "./pipeline.ts";
import { createTally, type SyncProgress } from "./tally.ts";

const log = getLogger(["adsync", "sync"]);

/** What one account's sync needs: where to read, where to write, where to remember. */
export interface SyncJob {
  runId: string;
  account: string;
  client: PlatformClient;
  sql: postgres.Sql;
  checkpoint: Checkpoint;
  /** Deadlines and outage retries of every write. @default a guard with its defaults, cut by the wire signal */
  guard?: DatabaseGuard;
  /**
   * The process's group writer of campaign upserts, shared by its accounts. @default none: each
   * batch is its own statement on `sql`
   */
  campaigns?: CampaignWriter;
}

/** Options for {@linkcode startSync}. */
export interface SyncOptions extends Omit<PipelineOptions, "onFatal"> {
  /** Records per page requested; a smaller cap the platform applies is learnt. @default 100 */
  pageSize?: number;
  /** Hard cap on pages fetched, whatever `total` says. @default 1000 */
  maxPages?: number;
  /** Pages fetched at once after the first. @default 2 */
  lookahead?: number;
  /** Mark deleted even when more than half of the account's live campaigns would go. @default false */
  allowMassDelete?: boolean;
}

/** How a sync ended. */
export interface SyncResult extends SyncProgress {
  drift: Drift;
  /** Work left undone because the stop signal fired; a resume continues it. */
  interrupted: boolean;
  /** The error that ended the run early (authentication refused, database lost). */
  fatal: unknown;
}

/** What the checkpoint holds of `runId` (nothing, for a new run): where its sync resumes. */
async function resumePoint(checkpoint: Checkpoint, runId: string) {
  const [saved, run, done, pendingSynced, before] = await Promise.all([
    checkpoint.pages(runId),
    checkpoint.getRun(runId),
    checkpoint.done(runId),
    checkpoint.syncedPending(runId),
    checkpoint.progress(runId),
  ]);
  return { saved, run, done, pendingSynced, before };
}

/**
 * Where an account's rows go: the process's group writer when there is one (else its own
 * statements), and its rejects, each through the database guard.
 */
function campaignSink(job: SyncJob, guard: DatabaseGuard): CampaignSink {
  const { account, sql } = job;
  return {
    upsert: (rows) =>
      job.campaigns?.upsert(account, rows) ?? guard.retrying(
        `write ${rows.length} campaigns to`,
        () => upsertCampaigns(sql, account, rows),
      ),
    reject: (rejects) =>
      guard.retrying(
        `store ${rejects.length} rejected records in`,
        () => insertRejects(sql, rejects),
      ),
  };
}

/**
 * Syncs every campaign of one account: a pager lists the pages, a catalog validates and
 * deduplicates their records, a pipeline syncs each new campaign at the platform and upserts it
 * in batches, checkpointing as it goes; after a complete listing, stored campaigns it no longer
 * holds are marked deleted. Picks up whatever the checkpoint already holds for `job.runId`, the
 * changes its commits made included: resolves once that is read (and rejects if it cannot be),
 * with the sync under way.
 */
export async function startSync(
  job: SyncJob,
  options: SyncOptions = {},
): Promise<{ progress(): SyncProgress; done: Promise<SyncResult> }> {
  const { pageSize = 100, maxPages = 1000, allowMassDelete = false } = options;
  const { runId, account, client, checkpoint } = job;
  const { saved, run, done, pendingSynced, before } = await resumePoint(checkpoint, runId);
  const fatal = new AbortController();
  const present = (...list: (AbortSignal | undefined)[]) => list.filter((s) => s !== undefined);
  const stop = AbortSignal.any(present(fatal.signal, options.signal));
  const wire = AbortSignal.any(present(fatal.signal, options.wireSignal ?? options.signal));
  let fatalError: unknown;
  const failRun = (error: unknown) => {
    fatalError ??= error;
    fatal.abort(error);
  };
  const guard = job.guard ??
    createDatabaseGuard("PostgreSQL", { clock: options.clock, signal: wire });
  const tally = createTally();
  tally.changed(before);
  const catalog = createCatalog(pageSize);
  const pipeline = createPipeline({
    runId,
    account,
    client,
    checkpoint,
    done,
    pendingSynced,
    tally,
    sink: campaignSink(job, guard),
  }, {
    concurrency: options.concurrency,
    batchSize: options.batchSize,
    batchWaitMs: options.batchWaitMs,
    clock: options.clock,
    signal: stop,
    wireSignal: wire,
    onFatal: failRun,
  });
  const pager = runPager({
    runId,
    client,
    checkpoint,
    saved: saved.filter((page) => page.page <= maxPages),
    savedPageLimit: run?.pageLimit ?? null,
    onPage(page, size) {
      tally.pageDone();
      pipeline.take(catalog.add(page, size));
    },
  }, { pageSize, maxPages, lookahead: options.lookahead, signal: stop, wireSignal: wire });

  async function finish(): Promise<SyncResult> {
    const listing = await pager.done;
    if (listing.fatal !== undefined) failRun(listing.fatal);
    await pipeline.drain();
    const missed = countMissing(listing, catalog.listed, maxPages);
    tally.miss(missed.onFailedPages + missed.unlisted);
    const drift = { ...catalog.drift(), missing: missed.unlisted, truncated: listing.truncated };
    logDrift(drift, listing);
    const undone = tally.snapshot().undone + listing.undone;
    const interrupted = fatalError === undefined && undone > 0;
    const complete = !interrupted && fatalError === undefined &&
      isComplete(listing, catalog, tally.snapshot(), drift);
    if (complete) {
      await guard.once("mark deleted campaigns in", () => markGone(catalog.ids())).catch(failRun);
    }
    return { ...progress(), drift, interrupted, fatal: fatalError };
  }

  async function markGone(ids: string[]): Promise<void> {
    const outcome = await markDeleted(job.sql, account, ids, { allowMassDelete });
    tally.deleted(outcome.deleted);
    tally.withheld(outcome.withheld);
    if (outcome.withheld > 0) {
      log.warn(
        "Not marking {withheld} of {live} stored campaigns deleted: the listing lacks more than " +
          "half of them; pass --allow-mass-delete if the platform really deleted them",
        { ...outcome },
      );
    } else if (outcome.deleted > 0) {
      log.info("Marked {deleted} campaigns deleted: the platform no longer lists them", {
        ...outcome,
      });
    }
  }

  function progress(): SyncProgress {
    const { undone: _, ...counts } = tally.snapshot();
    return { ...counts, total: pager.total, pagesTotal: pager.pagesTotal };
  }

  return { progress, done: finish() };
}

/** The requests a sync has left: the pages not fetched, and the campaigns not done, listed or not. */
export function requestsLeft(p: SyncProgress): number {
  const campaignsDone = p.synced + p.skipped + p.failed + p.rejected;
  const unlisted = p.total === null ? 0 : p.total - campaignsDone - p.queued;
  return (p.pagesTotal ?? 0) - p.pagesDone + p.queued + Math.max(0, unlisted);
}

/** Campaigns a listing promised and no page delivered; the run counts them failed. */
export interface MissingCampaigns {
  /** The records the pages that could not be fetched would have held. */
  onFailedPages: number;
  /** Once every page is in: what the promised `total` (within the page cap) had that no page held. */
  unlisted: number;
}

/**
 * What a listing of `listed` records left missing: the campaigns of pages that could not be
 * fetched and, once every page is in, those the listing promised and no page held. The promise
 * is the smallest `total` any page reported, so a `total` that later pages contradict never
 * turns into failures. Nothing is missing from a listing that never started or was stopped.
 */
export function countMissing(listing: Listing, listed: number, maxPages: number): MissingCampaigns {
  const { total, pageSize, failedPages } = listing;
  if (total === null || listing.fatal !== undefined) return { onFailedPages: 0, unlisted: 0 };
  let onFailedPages = 0;
  for (const page of failedPages) onFailedPages += recordsOnPage(page, total, pageSize);
  if (failedPages.length > 0 || listing.undone > 0) return { onFailedPages, unlisted: 0 };
  return { onFailedPages, unlisted: Math.max(0, Math.min(total, maxPages * pageSize) - listed) };
}

/**
 * Whether the run saw the account's whole listing, exactly: every page fetched, nothing missing
 * or failed, every record valid, and a listing that never shifted under it (a changed `total`
 * or a repeated id means offsets moved, so some live campaign may have gone unseen).
 */
export function isComplete(
  listing: Listing,
  catalog: Pick<Catalog, "listed" | "anonymousRejects">,
  counts: Pick<SyncProgress, "failed" | "rejected">,
  drift: Drift,
): boolean {
  const { failed, rejected } = counts;
  return listing.total !== null && listing.failedPages.length === 0 && !listing.endedEarly &&
    listing.total <= (listing.pagesTotal ?? 0) * listing.pageSize &&
    catalog.listed === listing.total && catalog.anonymousRejects === 0 && failed === 0 &&
    rejected === 0 && drift.missing === 0 && drift.duplicates === 0 &&
    drift.totalChanges === 0 && drift.truncated === 0;
}

function logDrift(drift: Drift, listing: Listing): void {
  if (drift.duplicates > 0) {
    log.warn("The listing repeated {duplicates} ids ({conflicting} with other content)", {
      ...drift,
    });
  }
  if (drift.missing > 0) {
    log.warn("The listing promised {missing} more campaigns than its pages held", { ...drift });
  }
  if (drift.truncated > 0) {
    log.warn("Pages held {truncated} records more than the limit asked for; they were cut", {
      ...drift,
    });
  }
  if (listing.endedEarly) {
    log.warn("An empty page ended the listing before its total of {total}", { ...listing });
  }
  if (drift.hasMoreMismatches > 0 || drift.totalChanges > 0) {
    log.info(
      "has_more disagreed with total on {hasMoreMismatches} pages; total changed {totalChanges} times",
      { ...drift },
    );
  }
}
