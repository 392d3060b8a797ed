/** A campaign as the mock generates it. */
export interface MockCampaign {
  id: string;
  name: string;
  status: "active" | "paused" | "ended";
  budget: number;
  impressions: number;
  clicks: number;
  conversions: number;
  created_at: string;
}

/** The `pagination` object of a list answer. */
export interface Pagination {
  page: number;
  limit: number;
  total: number;
  has_more: boolean;
}

/** The pagination quirks of the real platform that the mock can reproduce. */
export interface PaginateOptions {
  /** Compute `has_more` as if the limit were always 10. @default false */
  hasMoreLies?: boolean;
  /** Answer pages past the end with the last page's records. @default false */
  pastEndRecords?: boolean;
  /** Largest `limit` served; a larger one is silently capped to it. @default 100 */
  maxLimit?: number;
}

const STATUSES = ["active", "paused", "ended"] as const;
const ADJECTIVES = [
  "Summer",
  "Winter",
  "Spring",
  "Autumn",
  "Flash",
  "Evergreen",
  "Holiday",
  "Launch",
];
const NOUNS = ["Sale", "Promo", "Awareness", "Retargeting", "Launch", "Giveaway", "Push", "Drive"];
const FIRST_CREATED = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

/** A small seeded PRNG (mulberry32): the same seed gives the same numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The client id of requests without an `X-Client-ID` header. */
export const DEFAULT_CLIENT = "default";

/**
 * Generates `campaign_1`..`campaign_N`; the same seed and client always give the same campaigns.
 * The `default` client gets the seed's campaigns as they always were; any other client gets
 * campaigns of its own: the seed mixed with a hash of the client id, and the client id in every
 * name (`Summer Sale 3 [acme]`), so that a row stored under the wrong account shows. The ids are
 * the same for every client, as separate accounts of a real platform may well have.
 */
export function generateCampaigns(
  count: number,
  seed: number,
  client: string = DEFAULT_CLIENT,
): MockCampaign[] {
  const isDefault = client === DEFAULT_CLIENT;
  const random = mulberry32(isDefault ? seed : (seed ^ fnv1a(client)) >>> 0);
  const suffix = isDefault ? "" : ` [${client}]`;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const campaigns: MockCampaign[] = [];
  for (let n = 1; n <= count; n++) {
    const impressions = Math.floor(random() * 1_000_000);
    const clicks = Math.floor(impressions * random() * 0.1);
    const conversions = Math.floor(clicks * random() * 0.2);
    const createdAt = FIRST_CREATED + Math.floor(random() * 365 * DAY_MS);
    campaigns.push({
      id: `campaign_${n}`,
      name: `${pick(ADJECTIVES)} ${pick(NOUNS)} ${n}${suffix}`,
      status: pick(STATUSES),
      budget: Math.round(random() * 5_000_000) / 100,
      impressions,
      clicks,
      conversions,
      created_at: new Date(createdAt).toISOString(),
    });
  }
  return campaigns;
}

/** The 32-bit FNV-1a hash of a string's UTF-8 bytes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}

/** Cuts one page out of `records`, with the platform's optional pagination quirks. */
export function paginate<T>(
  records: readonly T[],
  page: number,
  limit: number,
  options: PaginateOptions = {},
): { data: T[]; pagination: Pagination } {
  const { hasMoreLies = false, pastEndRecords = false, maxLimit = 100 } = options;
  limit = Math.min(limit, maxLimit);
  const total = records.length;
  const start = (page - 1) * limit;
  let data = records.slice(start, start + limit);
  if (data.length === 0 && pastEndRecords && total > 0) {
    const lastPage = Math.ceil(total / limit);
    data = records.slice((lastPage - 1) * limit);
  }
  const has_more = (hasMoreLies ? page * 10 : page * limit) < total;
  return { data, pagination: { page, limit, total, has_more } };
}

/** Reads `page` (default 1) and `limit` (default 10; `paginate` caps it); `undefined` when invalid. */
export function parsePageQuery(
  params: URLSearchParams,
): { page: number; limit: number } | undefined {
  const page = positiveInteger(params.get("page"), 1);
  const limit = positiveInteger(params.get("limit"), 10);
  if (page === undefined || limit === undefined) return undefined;
  return { page, limit };
}

/** The ids of `records` that are strings, which the sync endpoint accepts. */
export function campaignIds(records: readonly unknown[]): Set<string> {
  const ids = new Set<string>();
  for (const record of records) {
    const id = (record as { id?: unknown } | null)?.id;
    if (typeof id === "string") ids.add(id);
  }
  return ids;
}

function positiveInteger(value: string | null, fallback: number): number | undefined {
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  const parsed = Number(value);
  return parsed >= 1 && Number.isSafeInteger(parsed) ? parsed : undefined;
}
