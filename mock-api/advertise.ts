import type { RateLimit } from "../src/duration.ts";
import type { WindowState } from "./rate_window.ts";

/** How the mock's answers advertise the client's rate limit. */
export type AdvertiseMode = "none" | "ietf" | "x-ratelimit" | "garbage";

/**
 * The headers that advertise a client's window: the IETF httpapi draft's `RateLimit-Policy` and
 * `RateLimit` (seconds, rounded up), or GitHub-style `X-RateLimit-Limit/-Remaining/-Reset` (the
 * reset in epoch seconds, rounded up); unreadable values of both for `"garbage"`, as a broken
 * gateway might send; none for `"none"`.
 *
 * @example
 * ```ts
 * advertisedHeaders("ietf", { limit: { count: 5, windowMs: 60_000 }, remaining: 4, resetMs: 59_000 }, Date.now());
 * // { "RateLimit-Policy": '"default";q=5;w=60', RateLimit: '"default";r=4;t=59' }
 * ```
 */
export function advertisedHeaders(
  mode: AdvertiseMode,
  window: WindowState,
  now: number,
): Record<string, string> {
  const { limit, remaining, resetMs } = window;
  if (mode === "ietf") {
    const seconds = Math.max(1, Math.ceil(limit.windowMs / 1_000));
    return {
      "RateLimit-Policy": `"default";q=${limit.count};w=${seconds}`,
      "RateLimit": `"default";r=${remaining};t=${Math.ceil(resetMs / 1_000)}`,
    };
  }
  if (mode === "x-ratelimit") {
    return {
      "X-RateLimit-Limit": String(limit.count),
      "X-RateLimit-Remaining": String(remaining),
      "X-RateLimit-Reset": String(Math.ceil((now + resetMs) / 1_000)),
    };
  }
  if (mode === "garbage") {
    return {
      "RateLimit-Policy": "unlimited;q=lots",
      "RateLimit": '"default";r=-1;t=soon',
      "X-RateLimit-Limit": "ten",
    };
  }
  return {};
}

/** Sets the headers that advertise `window` on `response`. */
export function advertiseOn(
  response: Response,
  mode: AdvertiseMode,
  window: WindowState,
  now: number,
): void {
  for (const [name, value] of Object.entries(advertisedHeaders(mode, window, now))) {
    response.headers.set(name, value);
  }
}

/**
 * The window a platform whose headers lie would advertise: `claim` as its limit, and as
 * remaining what the claim leaves after the requests the enforced window holds (so `r` matches
 * `q`), with the enforced window's reset; the window as it is without a claim.
 */
export function claimedWindow(window: WindowState, claim: RateLimit | undefined): WindowState {
  if (claim === undefined) return window;
  const used = window.limit.count - window.remaining;
  return { limit: claim, remaining: Math.max(0, claim.count - used), resetMs: window.resetMs };
}

/** Whether `text` names an advertising mode. */
export function isAdvertiseMode(text: string): text is AdvertiseMode {
  return text === "none" || text === "ietf" || text === "x-ratelimit" || text === "garbage";
}
