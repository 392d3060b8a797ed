/**
 * The rate limit the platform advertises, read from its answers' headers, and taught to the
 * account's limiter: adopted within the configured ceiling (or followed, with `rate_limit: auto`),
 * recalled from the last run, and lowered for the run when a 429 shows the platform enforcing less
 * than it claims.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { formatRateLimit, type RateLimit } from "../duration.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import type { RateLimitSource } from "../run_summary.ts";
import { type Parameters, parseList } from "structured-headers";
import { LATE_ARRIVAL_SHARE } from "./tuning.ts";

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
  const names = ["limit", "remaining", "reset"];
  if (!names.some((name) => headers.has(`x-ratelimit-${name}`))) return undefined;
  return readXRateLimit(headers, now);
}

function readIetf(policy: string | null, state: string | null, now: number): AdvertisedLimit {
  const result: AdvertisedLimit = { style: "ietf", remaining: [], garbage: [] };
  let best: RateLimit | undefined;
  for (const params of parameters(policy)) {
    const q = whole(params?.get("q"), 1);
    const w = whole(params?.get("w"), 1);
    if (q === undefined || (params?.has("w") && w === undefined)) {
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
  for (const params of parameters(state)) {
    const r = whole(params?.get("r"), 0);
    const t = params?.has("t") ? whole(params.get("t"), 0) : 0;
    if (r === undefined || t === undefined) {
      result.garbage.push(`RateLimit: ${state}`);
      continue;
    }
    result.remaining.push({ remaining: r, resetAt: now + t * 1_000 });
  }
  result.garbage = [...new Set(result.garbage)];
  return result;
}

/**
 * The parameters of each item of a structured-field list (RFC 8941); one `undefined` when the
 * value cannot be read, or is empty: the whole field is then ignored.
 */
function parameters(value: string | null): (Parameters | undefined)[] {
  if (value === null) return [];
  try {
    const items = parseList(value);
    if (items.length > 0) return items.map(([, params]) => params);
  } catch {
    // Unreadable: reported as garbage.
  }
  return [undefined];
}

function readXRateLimit(headers: Headers, now: number): AdvertisedLimit {
  const result: AdvertisedLimit = { style: "x-ratelimit", remaining: [], garbage: [] };
  const read = (name: string, min: number, max: number) => {
    const value = headers.get(`x-ratelimit-${name}`);
    if (value === null) return undefined;
    const parsed = whole(/^\s*\d{1,15}\s*$/.test(value) ? Number(value) : NaN, min, max);
    if (parsed === undefined) result.garbage.push(`X-RateLimit-${name}: ${value}`);
    return parsed;
  };
  const limit = read("Limit", 1, 1e9);
  const remaining = read("Remaining", 0, 1e9);
  const resetEpoch = read("Reset", 0, 1e11);
  // The platform's clock says how far off the reset is; ours says when that is here.
  const serverNow = Date.parse(headers.get("date") ?? "");
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

/** `value` if it is a whole number from `min` to `max` (a year of milliseconds). */
function whole(value: unknown, min: number, max = MAX_SECONDS * 1_000): number | undefined {
  const ok = typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
  return ok ? value : undefined;
}

/*
 * What a platform enforces, told from a 429 under a limit it advertised: the count of the
 * account's requests it accepted in the window before the refusal.
 */
/** One of the account's rate-limited requests as the platform may have counted it. */
export interface SentRequest {
  /** When it left (epoch ms, our clock). */
  at: number;
  /** The platform answered it 429: it was not counted. */
  refused: boolean;
}

/**
 * The count per `limit.windowMs` the platform enforces, told from its refusal of the request
 * sent at `refusedAt` (`sent` holds it, marked refused): the requests not refused that left
 * within the window before it, or since then up to `now` (sent together, any may have arrived
 * first; one refused later is no longer counted when its own 429 is read), never below 1.
 *
 * Returns `undefined` when the refusal does not contradict `limit`: the requests not refused in
 * the window, with those that left up to {@linkcode LATE_ARRIVAL_SHARE} of a window before it
 * (which a late arrival would have kept in the platform's window), reach `limit.count`. Such a
 * 429 is one of timing, which the limiter's margin answers, not a wrong limit.
 *
 * @example
 * ```ts
 * const sent = [{ at: 0, refused: false }, { at: 5, refused: false }, { at: 6, refused: true }];
 * enforcedCount(sent, 6, 20, { count: 100, windowMs: 6_000 }); // 2
 * ```
 */
export function enforcedCount(
  sent: readonly SentRequest[],
  refusedAt: number,
  now: number,
  limit: RateLimit,
): number | undefined {
  const from = refusedAt - limit.windowMs;
  const lateFrom = from - limit.windowMs * LATE_ARRIVAL_SHARE;
  let accepted = 0;
  let justBefore = 0;
  for (const request of sent) {
    if (request.refused) continue;
    if (request.at > from && request.at <= now) accepted++;
    else if (request.at > lateFrom && request.at <= from) justBefore++;
  }
  if (accepted + justBefore >= limit.count) return undefined;
  return Math.max(1, accepted);
}

const log = getLogger(["adsync", "limits"]);

/** Options for {@linkcode createLimitLearner}. */
export interface LimitLearnerOptions {
  /**
   * Follow whatever the platform advertises (`rate_limit: "auto"`); otherwise the limiter's
   * starting limit is a ceiling, and only a stricter advertised limit is adopted. @default false
   */
  auto?: boolean;
  /** Our clock, to place the advertised resets. @default systemClock */
  clock?: Clock;
  /**
   * Send times (epoch ms) of the account's earlier runs still in the platform's window: what it
   * accepted before this run, so a 429 they explain lowers nothing. @default []
   */
  history?: readonly number[];
}

/** Teaches an account's limiter what the platform's answers advertise. */
export interface LimitLearner {
  /** Reads one answer's headers (any status) and adjusts the limiter. */
  observe(headers: Headers): void;
  /**
   * Notes a rate-limited request leaving at `at` (epoch ms); call the returned function with the
   * status of its answer, after {@linkcode observe} read its headers. A 429 under an advertised
   * limit lowers the limit to what the platform accepted in the window before it (see
   * {@linkcode enforcedCount}), and no later advertisement raises it back during the run.
   */
  sent(at: number): (status: number) => void;
  /**
   * Starts from the limit the platform advertised to the last run, as if page 1 had just said it:
   * its window outlives our runs, and page 1 may have to wait for it. With `enforced`, that run
   * found the platform enforcing less: start from that, and keep to it while the platform
   * advertises the same claim (a new claim is believed until a 429 disproves it).
   */
  recall(advertised: RateLimit, enforced?: RateLimit): void;
  /** Where the limit in force came from. */
  readonly source: RateLimitSource;
  /** The advertised limit the platform did not enforce, once a 429 showed it (source `enforced`). */
  readonly disproved: RateLimit | undefined;
}

/** Where the limit comes from before the platform advertised one: the setting, or its default. */
export function startingSource(auto: boolean): RateLimitSource {
  return auto ? "default" : "configured";
}

/** The limit learnt from the platform's refusals, and the claim they disproved. */
interface Enforced {
  limit: RateLimit;
  claim: RateLimit;
  /** Recalled from an earlier run: given up when the platform advertises another claim. */
  recalled: boolean;
}

/**
 * Creates the learner of one account's limiter: it adopts an advertised quota and window
 * (within the configured ceiling unless `auto`), trusts `remaining`/`reset` when stricter than
 * the limiter's own count, except on an answer carrying `Retry-After`, which takes precedence;
 * lowers an advertised limit a 429 disproves, to what the platform accepted (a ceiling for the
 * rest of the run); logs each change of limit once, the first disproof and unreadable header
 * values once per account.
 */
export function createLimitLearner(
  limiter: RateLimiter,
  options: LimitLearnerOptions = {},
): LimitLearner {
  const { auto = false, clock = systemClock, history = [] } = options;
  const ceiling = limiter.limit;
  let source = startingSource(auto);
  let warned = false;
  /** The longest window read from `X-RateLimit-*` answers so far: they carry none of their own. */
  let learntWindowMs = 0;
  /** The latest limit the platform advertised. */
  let claim: RateLimit | undefined;
  let enforced: Enforced | undefined;
  /** The account's requests of the last window and a little more, oldest first. */
  const recent: SentRequest[] = [...history].sort((a, b) => a - b)
    .map((at) => ({ at, refused: false }));

  function adopt(next: RateLimit, nextSource: RateLimitSource, advertised: RateLimit): void {
    const current = limiter.limit;
    source = nextSource;
    if (sameLimit(next, current)) return;
    limiter.adopt(next);
    log.info("Rate limit now {limit} ({source}), was {previous}", {
      limit: formatRateLimit(next),
      source: nextSource,
      previous: formatRateLimit(current),
      advertised: formatRateLimit(advertised),
    });
  }

  function consider(advertised: RateLimit): void {
    claim = advertised;
    if (enforced?.recalled && !sameLimit(enforced.claim, advertised)) enforced = undefined;
    const allowed = auto || stricter(advertised, ceiling);
    const next = allowed ? advertised : ceiling;
    if (enforced && stricter(enforced.limit, next)) adopt(enforced.limit, "enforced", advertised);
    else adopt(next, allowed ? "advertised" : "configured", advertised);
  }

  /** A 429 for the request sent at `at`: lowers an advertised limit it disproves. */
  function refused(at: number): void {
    if (source !== "advertised" && source !== "enforced") return;
    const current = limiter.limit;
    const count = enforcedCount(recent, at, clock.now(), current);
    if (count === undefined) return;
    const limit = { count, windowMs: current.windowMs };
    const disproved = enforced?.claim ?? claim ?? current;
    if (!enforced || enforced.recalled) {
      log.warn(
        "The platform advertises {advertised} but enforces about {enforced}: keeping to that for the rest of the run",
        { advertised: formatRateLimit(disproved), enforced: formatRateLimit(limit) },
      );
    }
    enforced = { limit, claim: disproved, recalled: false };
    adopt(limit, "enforced", disproved);
  }

  return {
    observe(headers) {
      const advertised = readAdvertisedLimit(headers, clock.now());
      if (!advertised) return;
      if (advertised.garbage.length > 0 && !warned) {
        warned = true;
        log.warn("Ignoring rate-limit headers that cannot be read: {values}", {
          values: advertised.garbage.map((value) => value.slice(0, 200)),
        });
      }
      if (advertised.limit) {
        const { count, windowMs } = advertised.limit;
        if (advertised.style === "x-ratelimit" && windowMs !== undefined) {
          learntWindowMs = Math.max(learntWindowMs, windowMs);
        }
        const window = advertised.style === "ietf" ? windowMs : learntWindowMs || undefined;
        consider({ count, windowMs: window ?? limiter.limit.windowMs });
      }
      if (headers.has("retry-after")) return;
      for (const { remaining, resetAt } of advertised.remaining) {
        limiter.trustRemaining(remaining, resetAt);
      }
    },
    sent(at) {
      // Only what a refusal's window can still count is kept: a few objects an account.
      const horizon = at - limiter.limit.windowMs * (1 + LATE_ARRIVAL_SHARE);
      const kept = recent.findIndex((request) => request.at > horizon);
      recent.splice(0, kept < 0 ? recent.length : kept);
      const request: SentRequest = { at, refused: false };
      recent.push(request);
      return (status) => {
        if (status !== 429) return;
        request.refused = true;
        refused(at);
      };
    },
    recall(advertised, before) {
      if (before && stricter(before, advertised)) {
        enforced = { limit: { ...before }, claim: { ...advertised }, recalled: true };
      }
      consider(advertised);
    },
    get source() {
      return source;
    },
    get disproved() {
      return source === "enforced" ? enforced?.claim : undefined;
    },
  };
}

function sameLimit(a: RateLimit, b: RateLimit): boolean {
  return a.count === b.count && a.windowMs === b.windowMs;
}

/** Whether `a` allows fewer requests per second than `b` (or as many in smaller bursts). */
export function stricter(a: RateLimit, b: RateLimit): boolean {
  const rateA = a.count * b.windowMs;
  const rateB = b.count * a.windowMs;
  return rateA < rateB || (rateA === rateB && a.count < b.count);
}
