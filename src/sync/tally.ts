/**
 * Where one sync stands: its running tally, as progress, the endpoint and the summary show it.
 * The tally keeps the counts; the listing's size is the pager's.
 */
export interface SyncProgress {
  /** Campaigns the listing holds; `null` until the platform has said. */
  total: number | null;
  /** Pages the listing spans; `null` until the platform has said. */
  pagesTotal: number | null;
  /** Pages fetched now or read back from the checkpoint. */
  pagesDone: number;
  /** Campaigns known but not finished yet (waiting, in flight or waiting for their commit). */
  queued: number;
  synced: number;
  /** Committed rows inserted, updated (their data changed) or left unchanged, resumes included. */
  inserted: number;
  updated: number;
  unchanged: number;
  /** Campaigns already done before a resume. */
  skipped: number;
  failed: number;
  rejected: number;
  /** Stored campaigns marked deleted because the complete listing no longer holds them. */
  deleted: number;
  /**
   * Stored campaigns left live although the complete listing lacks them: over half of the
   * account's live ones, a mass deletion refused without `--allow-mass-delete`.
   */
  withheld: number;
}

/**
 * The tally's own counts: a sync's progress less the listing's size, and what the stop signal
 * left undone (queued campaigns and pages), which a resume continues.
 */
type Counts = Omit<SyncProgress, "total" | "pagesTotal"> & { undone: number };

/** What committed rows changed: the counts a store write reports. */
export type ChangeCounts = Pick<SyncProgress, "inserted" | "updated" | "unchanged">;

/**
 * The sync's counters, changed only through named transitions: a campaign is `queue`d, then
 * ends `synced`, `failed` or `leftUndone`; `skip`, `reject` and `miss` count campaigns that
 * never queue; `changed` says what committed rows changed. A transition out of `queued` that
 * has nothing queued is a programming error.
 */
export interface Tally {
  pageDone(): void;
  /** A listed campaign that needs work. */
  queue(count?: number): void;
  /** Queued → synced: its row is committed. */
  synced(count: number): void;
  /** What committed rows changed: this run's writes, or those of its life before a resume. */
  changed(counts: ChangeCounts): void;
  /** Queued → failed: the platform would not sync it. */
  failed(count?: number): void;
  /** Queued → undone: the stop signal came first; a resume continues it. */
  leftUndone(count?: number): void;
  /** A page that stopping left unfetched. */
  pageUndone(): void;
  /** A listed campaign finished before a resume. */
  skip(count?: number): void;
  /** A record refused by validation. */
  reject(count: number): void;
  /** Campaigns the listing promised and no page delivered; they count as failed. */
  miss(count: number): void;
  /** Stored campaigns marked deleted. */
  deleted(count: number): void;
  /** Stored campaigns not marked deleted: a mass deletion refused. */
  withheld(count: number): void;
  /** The tally's own counts (a copy): the progress less the listing's size, and the undone. */
  snapshot(): Counts;
}

/** Creates a tally with every count at zero. */
export function createTally(): Tally {
  const c: Counts = {
    pagesDone: 0,
    queued: 0,
    synced: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    rejected: 0,
    deleted: 0,
    withheld: 0,
    undone: 0,
  };
  const dequeue = (count: number, to: "synced" | "failed" | "undone") => {
    if (!(count >= 0 && count <= c.queued)) {
      throw new RangeError(`Cannot move ${count} campaigns to ${to}: ${c.queued} queued`);
    }
    c.queued -= count;
    c[to] += count;
  };
  const add = (key: keyof Counts, count: number) => {
    if (!(count >= 0)) throw new RangeError(`Cannot count ${count} ${key}`);
    c[key] += count;
  };
  return {
    pageDone: () => add("pagesDone", 1),
    queue: (count = 1) => add("queued", count),
    synced: (count) => dequeue(count, "synced"),
    changed: ({ inserted, updated, unchanged }) => {
      add("inserted", inserted);
      add("updated", updated);
      add("unchanged", unchanged);
    },
    failed: (count = 1) => dequeue(count, "failed"),
    leftUndone: (count = 1) => dequeue(count, "undone"),
    pageUndone: () => add("undone", 1),
    skip: (count = 1) => add("skipped", count),
    reject: (count) => add("rejected", count),
    miss: (count) => add("failed", count),
    deleted: (count) => add("deleted", count),
    withheld: (count) => add("withheld", count),
    snapshot: () => ({ ...c }),
  };
}
