const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `1500ms`, `15s`, `2m` or `1h` into milliseconds.
 * The unit is required: a bare number is refused, since `60` could mean seconds or milliseconds.
 * Returns `undefined` when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** True when the text is a number without a unit, which {@linkcode parseDuration} refuses. */
export function lacksUnit(text: string): boolean {
  return /^\s*\d+(?:\.\d+)?\s*$/.test(text);
}

/** A rate limit: at most `count` requests in any window of `windowMs`. */
export interface RateLimit {
  count: number;
  windowMs: number;
}

/** Parses `N/duration` (for example `10/60s` or `10/1m`); `undefined` when malformed. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const [countText, windowText, ...rest] = text.split("/");
  if (countText === undefined || windowText === undefined || rest.length > 0) return undefined;
  if (!/^\s*\d+\s*$/.test(countText)) return undefined;
  const count = Number(countText);
  const windowMs = parseDuration(windowText);
  if (count < 1 || windowMs === undefined || windowMs < 1) return undefined;
  return { count, windowMs };
}

/** Formats a rate limit as `parseRateLimit` reads it: `10/60s`, `5/1500ms`. */
export function formatRateLimit(limit: RateLimit): string {
  const window = limit.windowMs % 1_000 === 0
    ? `${limit.windowMs / 1_000}s`
    : `${limit.windowMs}ms`;
  return `${limit.count}/${window}`;
}

/** Formats milliseconds for people: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1_000);
  if (totalSeconds < 3_600) {
    return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, "0")}s`;
  }
  const minutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
