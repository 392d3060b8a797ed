import { getLogger } from "@logtape/logtape";
import { AuthError, errorCode, errorMessage } from "../errors.ts";
import type { CallSignals, PlatformClient } from "../platform/platform_client.ts";
import type { Checkpoint, SavedPage } from "../store/checkpoint.ts";

const log = getLogger(["adsync", "pager"]);

/** Options for {@linkcode runPager}. */
export interface PagerOptions {
  /** Records per page asked for; a smaller cap the platform applies is learnt. @default 100 */
  pageSize?: number;
  /** Hard cap on pages fetched, whatever `total` says. @default 1000 */
  maxPages?: number;
  /** Pages fetched at once after the first; bounds what a lying `total` can cost. @default 2 */
  lookahead?: number;
  /** Stops fetching: nothing new is sent. @default never */
  signal?: AbortSignal;
  /** Cuts requests already sent. @default signal */
  wireSignal?: AbortSignal;
}

/** What the pager works with: one run of one account. */
export interface PagerJob {
  runId: string;
  client: Pick<PlatformClient, "listCampaigns">;
  checkpoint: Pick<Checkpoint, "savePage" | "setPageLimit" | "setTotals">;
  /** Pages the checkpoint already holds for this run; they are not fetched again. */
  saved: readonly SavedPage[];
  /** The page size learnt by an earlier attempt of this run, if any. */
  savedPageLimit: number | null;
  /** Receives every page, saved ones first, with the page size the listing is planned with. */
  onPage(page: SavedPage, pageSize: number): void;
}

/** How the listing went. */
export interface Listing {
  /** Records a page held, as planned (the learnt cap, or the size asked for). */
  pageSize: number;
  /** The smallest `total` any page reported, or null when no page arrived. */
  total: number | null;
  /** Pages planned from `total`, the learnt size, the page cap and the listing's end. */
  pagesTotal: number | null;
  /** Pages (other than the first) that could not be fetched. */
  failedPages: number[];
  /** Records cut from pages that held more than `limit`. */
  truncated: number;
  /** An empty page ended the listing before `total` said it would. */
  endedEarly: boolean;
  /** Pages left unfetched because the stop signal fired. */
  undone: number;
  /** Why the listing could not start (page 1 failed, credentials refused). */
  fatal?: unknown;
}

/** The pager's live view, for progress. */
export interface Pager {
  readonly pagesTotal: number | null;
  readonly total: number | null;
  done: Promise<Listing>;
}

/**
 * Lists an account's campaigns page by page: fetches page 1, learns the platform's cap on
 * `limit` from it, then fetches the remaining pages in order with at most `lookahead` in flight,
 * re-planning as pages arrive, so a later page's smaller `total` or an empty page ends the
 * listing without fetching what a lying `total` promised.
 */
export function runPager(job: PagerJob, options: PagerOptions = {}): Pager {
  const { pageSize: asked = 100, maxPages = 1000, lookahead = 2, signal } = options;
  const signals: CallSignals = { signal, wireSignal: options.wireSignal ?? signal };
  const { runId, client, checkpoint } = job;
  const fetched = new Set<number>();
  const listing: Listing = {
    pageSize: job.savedPageLimit ?? asked,
    total: null,
    pagesTotal: null,
    failedPages: [],
    truncated: 0,
    endedEarly: false,
    undone: 0,
  };
  /** The last page that can hold records: the page before the first empty one. */
  let lastWithData = Infinity;

  function planned(): number {
    if (listing.total === null) return 1;
    const byTotal = Math.max(1, Math.ceil(listing.total / listing.pageSize));
    return Math.min(maxPages, byTotal, Math.max(1, lastWithData));
  }

  async function replan(): Promise<void> {
    const before = listing.pagesTotal;
    listing.pagesTotal = planned();
    if (listing.pagesTotal !== before) {
      await checkpoint.setTotals(runId, listing.total!, listing.pagesTotal);
    }
  }

  function observe(page: SavedPage): void {
    fetched.add(page.page);
    listing.total = Math.min(listing.total ?? Infinity, page.total);
    if (page.records.length === 0 && page.page <= lastWithData) {
      lastWithData = page.page - 1;
      if ((page.page - 1) * listing.pageSize < listing.total) listing.endedEarly = true;
    }
  }

  /** Learns a cap from page 1: a first page that is not the last and holds fewer than asked. */
  async function learn(page: SavedPage): Promise<void> {
    const held = page.records.length;
    if (job.savedPageLimit !== null || held === 0 || held >= asked || held >= page.total) return;
    listing.pageSize = held;
    await checkpoint.setPageLimit(runId, held);
    log.info("The platform caps pages at {held} records (asked for {asked}); planning with it", {
      held,
      asked,
    });
  }

  async function fetchPage(page: number, limit: number): Promise<SavedPage> {
    const body = await client.listCampaigns(page, limit, signals);
    // Cut before anything else touches the records: a huge page costs no validation and no
    // checkpoint JSON while requests the limiter admitted are waiting to leave.
    const { total, has_more } = body.pagination;
    // Never more than `limit`, nor more than this page's own `total` leaves room for.
    const room = recordsOnPage(page, total, limit);
    let records = body.data;
    if (records.length > room) {
      listing.truncated += records.length - room;
      log.warn(
        "Page {page} held {held} records where {room} fit (limit {limit}, total {total}); " +
          "kept the first {room}",
        { page, held: records.length, room, limit, total },
      );
      records = records.slice(0, room);
    }
    const saved = { page, records, total, hasMore: has_more ?? page * limit < total };
    await checkpoint.savePage(runId, saved);
    log.info("Fetched page {page} ({records} records)", { page, records: records.length });
    return saved;
  }

  /** Fetches one planned page; never rejects (an AuthError ends the listing via `listing.fatal`). */
  async function fetchOne(page: number): Promise<void> {
    if (signal?.aborted || listing.fatal !== undefined) return void listing.undone++;
    try {
      const saved = await fetchPage(page, listing.pageSize);
      observe(saved);
      await replan();
      job.onPage(saved, listing.pageSize);
    } catch (error) {
      if (signal?.aborted) return void listing.undone++;
      if (error instanceof AuthError) return void (listing.fatal ??= error);
      log.error("Cannot fetch page {page}: {reason}", {
        page,
        reason: errorMessage(error),
        error_code: errorCode(error),
      });
      listing.failedPages.push(page);
    }
  }

  async function run(): Promise<Listing> {
    for (const page of job.saved) observe(page);
    if (!fetched.has(1)) {
      if (signal?.aborted) return { ...listing, undone: 1 };
      try {
        const first = await fetchPage(1, asked);
        await learn(first);
        observe(first);
        job.onPage(first, listing.pageSize);
      } catch (error) {
        if (signal?.aborted) return { ...listing, undone: 1 };
        log.error("Cannot fetch page 1: {reason}", {
          reason: errorMessage(error),
          error_code: errorCode(error),
        });
        return { ...listing, fatal: error };
      }
    }
    for (const page of job.saved) job.onPage(page, listing.pageSize);
    await replan();
    if (Math.ceil(listing.total! / listing.pageSize) > maxPages) {
      log.warn("Total of {total} needs more than the {maxPages}-page cap; stopping at the cap", {
        total: listing.total,
        maxPages,
      });
    }
    const inFlight = new Set<Promise<void>>();
    for (let page = 2; page <= planned() && listing.fatal === undefined; page++) {
      if (fetched.has(page)) continue;
      while (inFlight.size >= lookahead) await Promise.race(inFlight);
      if (page > planned()) break; // a page that arrived meanwhile moved the end
      const task: Promise<void> = fetchOne(page).finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    await replan();
    return { ...listing };
  }

  const done = run();
  return {
    get pagesTotal() {
      return listing.pagesTotal;
    },
    get total() {
      return listing.total;
    },
    done,
  };
}

/** Records a page of `pageSize` holds when the listing has `total`. */
export function recordsOnPage(page: number, total: number, pageSize: number): number {
  return Math.max(0, Math.min(pageSize, total - (page - 1) * pageSize));
}
