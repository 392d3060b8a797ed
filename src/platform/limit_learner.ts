import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { formatRateLimit, type RateLimit } from "../duration.ts";
import { readAdvertisedLimit } from "./advertised_limit.ts";
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
}

/** Teaches an account's limiter what the platform's answers advertise. */
export interface LimitLearner {
  /** Reads one answer's headers (any status) and adjusts the limiter. */
  observe(headers: Headers): void;
  /**
   * Starts from the limit the platform advertised to the last run, as if page 1 had just said it:
   * its window outlives our runs, and page 1 may have to wait for it.
   */
  recall(advertised: RateLimit): void;
  /** Where the limit in force came from. */
  readonly source: RateLimitSource;
}

/** Where the limit comes from before the platform advertised one: the setting, or its default. */
export function startingSource(auto: boolean): RateLimitSource {
  return auto ? "default" : "configured";
}

/**
 * Creates the learner of one account's limiter: it adopts an advertised quota and window
 * (within the configured ceiling unless `auto`), trusts `remaining`/`reset` when stricter than
 * the limiter's own count, except on an answer carrying `Retry-After`, which takes precedence;
 * logs each change of limit once, and unreadable header values once per account.
 */
export function createLimitLearner(
  limiter: RateLimiter,
  options: LimitLearnerOptions = {},
): LimitLearner {
  const { auto = false, clock = systemClock } = options;
  const ceiling = limiter.limit;
  let source = startingSource(auto);
  let warned = false;
  /** The longest window read from `X-RateLimit-*` answers so far: they carry none of their own. */
  let learntWindowMs = 0;

  function consider(advertised: RateLimit): void {
    const allowed = auto || stricter(advertised, ceiling);
    const next = allowed ? advertised : ceiling;
    const nextSource: RateLimitSource = allowed ? "advertised" : "configured";
    const current = limiter.limit;
    if (next.count === current.count && next.windowMs === current.windowMs) {
      source = nextSource;
      return;
    }
    limiter.adopt(next);
    log.info("Rate limit now {limit} ({source}), was {previous}", {
      limit: formatRateLimit(next),
      source: nextSource,
      previous: formatRateLimit(current),
      advertised: formatRateLimit(advertised),
    });
    source = nextSource;
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
    recall: consider,
    get source() {
      return source;
    },
  };
}

/** Whether `a` allows fewer requests per second than `b` (or as many in smaller bursts). */
export function stricter(a: RateLimit, b: RateLimit): boolean {
  const rateA = a.count * b.windowMs;
  const rateB = b.count * a.windowMs;
  return rateA < rateB || (rateA === rateB && a.count < b.count);
}
