import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { formatRateLimit, type RateLimit } from "../duration.ts";
import { readAdvertisedLimit } from "./advertised_limit.ts";
import { enforcedCount, LATE_ARRIVAL_SHARE, type SentRequest } from "./enforced_limit.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import type { RateLimitSource } from "../run_summary.ts";

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
    if (next.count === current.count && next.windowMs === current.windowMs) return;
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
      const now = clock.now();
      const advertised = readAdvertisedLimit(headers, now);
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
      let old = 0;
      while (old < recent.length && recent[old]!.at <= horizon) old++;
      if (old > 0) recent.splice(0, old);
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
