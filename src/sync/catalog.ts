import { type Campaign, campaignSchema, describeIssues } from "../platform/schemas.ts";
import type { SavedPage } from "../store/checkpoint.ts";

/** A record refused by validation, kept with its raw payload. */
export interface RefusedRecord {
  /** The checkpoint key: the campaign id, or its place when it has no usable id. */
  key: string;
  campaignId: string | null;
  reason: string;
  payload: unknown;
}

/** Where the listing disagreed with itself. */
export interface Drift {
  /** Ids listed again on a later page (the first copy is kept). */
  duplicates: number;
  /** Of those, copies whose content differed from the first. */
  conflicting: number;
  /** Records `total` promised that no page delivered. */
  missing: number;
  /** Pages whose `has_more` disagreed with `total`. */
  hasMoreMismatches: number;
  /** Pages whose `total` differed from the first page's. */
  totalChanges: number;
  /** Records cut from pages that held more than the `limit` asked for. */
  truncated: number;
}

/** What the pages alone tell of the drift: everything but what went missing or was truncated. */
export type ListingDrift = Omit<Drift, "missing" | "truncated">;

/** A listing that agreed with itself. */
export const NO_DRIFT: Readonly<Drift> = Object.freeze({
  duplicates: 0,
  conflicting: 0,
  missing: 0,
  hasMoreMismatches: 0,
  totalChanges: 0,
  truncated: 0,
});

/** What a page adds: campaigns not seen before and records refused. */
export interface PageAdditions {
  campaigns: Campaign[];
  rejects: RefusedRecord[];
}

/** The pages' records so far: validated, deduplicated, with the listing's drift. */
export interface Catalog {
  /**
   * Validates a page's records; returns only what is new. Idempotent per page. `pageSize` is
   * the size the listing is planned with (the learnt cap), for the `has_more` check.
   */
  add(page: SavedPage, pageSize?: number): PageAdditions;
  /** The total the first page reported, if a page was added. */
  readonly total: number | undefined;
  /** How the pages disagreed so far; the run adds what went missing and what was truncated. */
  drift(): ListingDrift;
  /** Every valid campaign id listed so far. */
  ids(): string[];
  /** Records listed so far: distinct valid campaigns plus rejects. */
  readonly listed: number;
  /** Rejects whose record had no usable id (so the listing's ids are not all known). */
  readonly anonymousRejects: number;
}

/** Number of pages that hold `total` records at `pageSize`, bounded by `maxPages`. */
export function pageCount(total: number, pageSize: number, maxPages: number): number {
  return Math.min(maxPages, Math.max(1, Math.ceil(total / pageSize)));
}

/** Creates an empty catalog for pages of `pageSize`. */
export function createCatalog(pageSize: number): Catalog {
  // Each id listed, with a digest of its record to tell a conflicting copy: a few dozen bytes a
  // campaign, where the record itself is hundreds and ten thousand accounts list a million.
  const seen = new Map<string, number>();
  const pages = new Set<number>();
  let total: number | undefined;
  let rejected = 0;
  let anonymous = 0;
  const drift = { duplicates: 0, conflicting: 0, hasMoreMismatches: 0, totalChanges: 0 };

  function check(page: SavedPage, size: number): void {
    total ??= page.total;
    if (page.total !== total) drift.totalChanges++;
    const expectMore = page.page * size < total;
    if (page.hasMore !== expectMore) drift.hasMoreMismatches++;
  }

  return {
    add(page, size = pageSize) {
      const additions: PageAdditions = { campaigns: [], rejects: [] };
      if (pages.has(page.page)) return additions;
      pages.add(page.page);
      check(page, size);
      page.records.forEach((record, index) => {
        const rawId = (record as { id?: unknown } | null)?.id;
        const id = typeof rawId === "string" && rawId !== "" ? rawId : null;
        const parsed = campaignSchema.safeParse(record);
        if (!parsed.success) {
          rejected++;
          if (id === null) anonymous++;
          additions.rejects.push({
            key: id ?? `page ${page.page} #${index + 1}`,
            campaignId: id,
            reason: describeIssues(parsed.error),
            payload: record,
          });
          return;
        }
        const fingerprint = digest(parsed.data);
        const earlier = seen.get(parsed.data.id);
        if (earlier !== undefined) {
          drift.duplicates++;
          if (earlier !== fingerprint) drift.conflicting++;
          return;
        }
        seen.set(parsed.data.id, fingerprint);
        additions.campaigns.push(parsed.data);
      });
      return additions;
    },
    get total() {
      return total;
    },
    drift: () => ({ ...drift }),
    ids: () => [...seen.keys()],
    get listed() {
      return seen.size + rejected;
    },
    get anonymousRejects() {
      return anonymous;
    },
  };
}

/**
 * A 53-bit digest of a record's validated content (cyrb53): equal records, equal digests; two
 * different ones share one about once in 2^53, and only the count of conflicting copies would
 * miss it. This count needs no cryptographic hash, and `node:crypto` costs a native call a record.
 */
function digest(record: Campaign): number {
  const text = JSON.stringify(record);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
