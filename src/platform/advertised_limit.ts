import type { RateLimit } from "../duration.ts";

/**
 * What one answer says of the account's rate limit, read from the IETF httpapi draft's
 * `RateLimit-Policy` / `RateLimit` fields or GitHub-style `X-RateLimit-*` headers.
 */
export interface AdvertisedLimit {
  /** Which header family said it. */
  style: "ietf" | "x-ratelimit";
  /**
   * The quota and window the limiter should mirror, when advertised. With several IETF policies,
   * the one with the shortest window (the smallest quota of those): a longer one (a daily quota)
   * would let bursts through that the short one refuses; its `remaining` still holds us back. `X-RateLimit-*` carries no window: `windowMs`
   * is read only from an answer that opens a window (remaining = limit - 1), as the time to its
   * reset rounded up to a whole second; otherwise it is undefined.
   */
  limit?: { count: number; windowMs?: number };
  /** What each policy says is left: requests still allowed and when (epoch ms, our clock) that changes. */
  remaining: { remaining: number; resetAt: number }[];
  /** Header values that could not be read (`name: value`), ignored. */
  garbage: string[];
}

const MAX_SECONDS = 366 * 24 * 3_600;

/**
 * Reads the advertised limit from an answer's headers; `undefined` when it carries none.
 * `now` is our clock; an epoch `X-RateLimit-Reset` is compared with the answer's `Date` header
 * (the platform's clock), or with `now` when the answer has no readable `Date`.
 *
 * @example
 * ```ts
 * const headers = new Headers({ "RateLimit-Policy": '"default";q=100;w=60' });
 * readAdvertisedLimit(headers, Date.now())?.limit; // { count: 100, windowMs: 60_000 }
 * ```
 */
export function readAdvertisedLimit(headers: Headers, now: number): AdvertisedLimit | undefined {
  const policy = headers.get("ratelimit-policy");
  const state = headers.get("ratelimit");
  if (policy !== null || state !== null) return readIetf(policy, state, now);
  const limit = headers.get("x-ratelimit-limit");
  const remaining = headers.get("x-ratelimit-remaining");
  const reset = headers.get("x-ratelimit-reset");
  if (limit === null && remaining === null && reset === null) return undefined;
  return readXRateLimit({ limit, remaining, reset }, headers.get("date"), now);
}

function readIetf(policy: string | null, state: string | null, now: number): AdvertisedLimit {
  const result: AdvertisedLimit = { style: "ietf", remaining: [], garbage: [] };
  let best: RateLimit | undefined;
  for (const item of policy === null ? [] : parseList(policy)) {
    const q = wholeParam(item, "q", 1);
    const w = wholeParam(item, "w", 1);
    if (!item || q === undefined || (item.params.has("w") && w === undefined)) {
      result.garbage.push(`RateLimit-Policy: ${policy}`);
      continue;
    }
    // The draft's default window is the policy's own; without one, a quota alone says too little.
    if (w === undefined) continue;
    const candidate = { count: q, windowMs: w * 1_000 };
    const shorter = best === undefined || candidate.windowMs < best.windowMs ||
      (candidate.windowMs === best.windowMs && candidate.count < best.count);
    if (shorter) best = candidate;
  }
  if (best) result.limit = best;
  for (const item of state === null ? [] : parseList(state)) {
    const r = wholeParam(item, "r", 0);
    const t = item?.params.has("t") ? wholeParam(item, "t", 0) : 0;
    if (!item || r === undefined || t === undefined) {
      result.garbage.push(`RateLimit: ${state}`);
      continue;
    }
    result.remaining.push({ remaining: r, resetAt: now + t * 1_000 });
  }
  result.garbage = [...new Set(result.garbage)];
  return result;
}

function readXRateLimit(
  values: { limit: string | null; remaining: string | null; reset: string | null },
  date: string | null,
  now: number,
): AdvertisedLimit {
  const result: AdvertisedLimit = { style: "x-ratelimit", remaining: [], garbage: [] };
  const read = (name: string, value: string | null, min: number, max: number) => {
    if (value === null) return undefined;
    const parsed = parseWhole(value, min, max);
    if (parsed === undefined) result.garbage.push(`X-RateLimit-${name}: ${value}`);
    return parsed;
  };
  const limit = read("Limit", values.limit, 1, 1e9);
  const remaining = read("Remaining", values.remaining, 0, 1e9);
  const resetEpoch = read("Reset", values.reset, 0, 1e11);
  // The platform's clock says how far off the reset is; ours says when that is here.
  const serverNow = date === null ? NaN : Date.parse(date);
  const resetInMs = resetEpoch === undefined
    ? undefined
    : Math.max(0, resetEpoch * 1_000 - (Number.isNaN(serverNow) ? now : serverNow));
  if (limit !== undefined) {
    const opensWindow = remaining === limit - 1 && resetInMs !== undefined && resetInMs > 0;
    result.limit = {
      count: limit,
      windowMs: opensWindow ? Math.ceil(resetInMs / 1_000) * 1_000 : undefined,
    };
  }
  if (remaining !== undefined && resetInMs !== undefined) {
    result.remaining.push({ remaining, resetAt: now + resetInMs });
  }
  return result;
}

/** One item of a structured-field list (RFC 8941): its bare value and its parameters. */
interface Item {
  value: string;
  params: Map<string, string>;
}

/**
 * Splits an RFC 8941 list into items, each `value;key=value;...`; `undefined` marks an item that
 * is not well formed. Commas and semicolons inside a quoted string belong to the string.
 */
export function parseList(text: string): (Item | undefined)[] {
  return split(text, ",").map(parseItem);
}

const BARE_ITEM = /^("(?:[^"\\]|\\.)*"|[A-Za-z*][\w:/.*%!#$&'+^`|~-]*|-?\d+(?:\.\d+)?)$/;
const PARAMETER = /^([a-z*][a-z0-9_.*-]*)(?:=(.+))?$/;

function parseItem(member: string): Item | undefined {
  const [value = "", ...params] = split(member, ";").map((part) => part.trim());
  if (!BARE_ITEM.test(value)) return undefined;
  const item: Item = { value: value.replace(/^"|"$/g, ""), params: new Map() };
  for (const param of params) {
    const match = PARAMETER.exec(param);
    if (!match) return undefined;
    item.params.set(match[1]!, match[2] ?? "?1");
  }
  return item;
}

/** Splits on `separator` outside double-quoted strings. */
function split(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === "\\") {
      current += char + (text[++i] ?? "");
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function wholeParam(item: Item | undefined, key: string, min: number): number | undefined {
  const value = item?.params.get(key);
  return value === undefined ? undefined : parseWhole(value, min, MAX_SECONDS * 1_000);
}

function parseWhole(text: string, min: number, max: number): number | undefined {
  if (!/^\s*\d{1,15}\s*$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}
