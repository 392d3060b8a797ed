/**
 * The many-accounts bench's figures, computed from the mock's request log alone (plus each
 * account's campaign count from the sync's summary): what was sent, what was needed, 429s per
 * client, the rate-limit floor, the wall time and how close each client ran to its window.
 * @module
 */
import type { RateLimit } from "../src/duration.ts";
import type { MockLogLine } from "./mock_process.ts";

/** One client's figures. */
export interface ClientFigures {
  client: string;
  sent: number;
  /** Distinct pages + campaigns + the 503s and hangs the mock forced. */
  needed: number;
  pages: number;
  forced: number;
  http_429: number;
  /** The least time this client could have taken to send `sent` requests. */
  floor_ms: number;
  /** From this client's first arrival to its last answer. */
  wall_ms: number;
  /** This client's first arrival, from the run's first arrival. */
  start_offset_ms: number;
  /**
   * From this client's first arrival to its first campaign sync: the listing, with the 503s,
   * hangs and backoffs before it; its syncs cannot start earlier.
   */
  listing_ms: number;
  /**
   * The tightest span of `count + 1` consecutive accepted arrivals, minus the window: how close
   * the client came to a 429 (negative means the mock should have refused one); undefined when
   * the client never sent more than `count`.
   */
  window_margin_ms?: number;
  /** For a client that got 429s: how early the earliest-refused request came, at most. */
  worst_429_early_ms?: number;
}

/** The whole run's figures. */
export interface RunFigures {
  clients: ClientFigures[];
  requests_sent: number;
  requests_needed: number;
  http_429: number;
  /** Clients that received at least one 429, with how many. */
  http_429_by_client: Record<string, number>;
  /** One account's floor: the largest client floor. */
  floor_ms: number;
  /** From the run's first request arriving at the mock to its last answer. */
  wall_ms: number;
  efficiency: number;
  /** The smallest window margin of any client (see {@linkcode ClientFigures.window_margin_ms}). */
  window_margin_ms?: number;
  /**
   * How long after the window had room each accepted request arrived (its arrival minus the
   * arrival `count` accepted requests earlier, minus the window), over every client: the
   * limiter's safety margin plus every delay on the way (queues, event loop, network). Each
   * client's sum of these along its chain is what its wall time exceeds its floor by.
   */
  window_lag_ms?: Percentiles;
  /** When each client's last answer came, from the run's first arrival. */
  client_end_ms: Percentiles;
  /** The most requests that reached the mock within any one second: how bursty the run was. */
  peak_arrivals_per_s: number;
}

/** A distribution in ms. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** When the mock received a request: its answer time minus the time it held it. */
export function arrivalOf(line: MockLogLine): number {
  return line.at - line.latency_ms;
}

/** The floor: `sent` requests need `ceil(sent / count) - 1` full windows after the first. */
export function floorMs(sent: number, limit: RateLimit): number {
  return sent === 0 ? 0 : Math.floor((sent - 1) / limit.count) * limit.windowMs;
}

/**
 * Computes the figures of a run from the mock's log; `campaigns` maps each client to the
 * campaigns its sync counted (needed = pages + campaigns + forced retries).
 */
export function computeFigures(
  log: readonly MockLogLine[],
  limit: RateLimit,
  campaigns: ReadonlyMap<string, number>,
): RunFigures {
  const limited = log.filter((line) => line.path.startsWith("/api/"));
  const byClient = Map.groupBy(limited, (line) => line.client);
  // A loop, not Math.min(...): a spread of a million log lines overflows the stack.
  let runStart = Infinity;
  let runEnd = -Infinity;
  for (const line of limited) {
    runStart = Math.min(runStart, arrivalOf(line));
    runEnd = Math.max(runEnd, line.at);
  }
  const clients = [...byClient].map(([client, lines]) =>
    clientFigures(client, lines, limit, campaigns.get(client) ?? 0, runStart)
  ).sort((a, b) => a.client.localeCompare(b.client));
  const floor = Math.max(0, ...clients.map((c) => c.floor_ms));
  const wall = limited.length === 0 ? 0 : runEnd - runStart;
  const margins = clients.flatMap((c) => c.window_margin_ms ?? []);
  const lags = [...byClient.values()].flatMap((lines) => windowLags(lines, limit));
  return {
    clients,
    requests_sent: limited.length,
    requests_needed: sum(clients.map((c) => c.needed)),
    http_429: sum(clients.map((c) => c.http_429)),
    http_429_by_client: Object.fromEntries(
      clients.filter((c) => c.http_429 > 0).map((c) => [c.client, c.http_429]),
    ),
    floor_ms: floor,
    wall_ms: wall,
    efficiency: wall > 0 ? Number((floor / wall).toFixed(3)) : 0,
    ...(margins.length > 0 ? { window_margin_ms: Math.min(...margins) } : {}),
    ...(lags.length > 0 ? { window_lag_ms: percentiles(lags) } : {}),
    client_end_ms: percentiles(clients.map((c) => c.start_offset_ms + c.wall_ms)),
    peak_arrivals_per_s: peakPerSecond(limited.map(arrivalOf)),
  };
}

/** The most of `times` (ms) that lie within any span of 1,000 ms. */
export function peakPerSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= 1_000) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

function clientFigures(
  client: string,
  lines: MockLogLine[],
  limit: RateLimit,
  campaigns: number,
  runStart: number,
): ClientFigures {
  const pages = new Set(lines.flatMap((l) => l.page ?? [])).size;
  const forced = lines.filter((l) => l.status === 503 || l.hung).length;
  const refused = lines.filter((l) => l.status === 429);
  const accepted = lines.filter((l) => l.status !== 429).map(arrivalOf).sort((a, b) => a - b);
  const first = Math.min(...lines.map(arrivalOf));
  const syncs = lines.filter((l) => l.path.endsWith("/sync")).map(arrivalOf);
  const margin = windowMargin(accepted, limit);
  const early = refused.map((line) => earlyBy(arrivalOf(line), accepted, limit));
  return {
    client,
    sent: lines.length,
    needed: pages + campaigns + forced,
    pages,
    forced,
    http_429: refused.length,
    floor_ms: floorMs(lines.length, limit),
    wall_ms: Math.max(...lines.map((l) => l.at)) - first,
    start_offset_ms: first - runStart,
    listing_ms: syncs.length === 0 ? 0 : Math.min(...syncs) - first,
    ...(margin === undefined ? {} : { window_margin_ms: margin }),
    ...(early.length > 0 ? { worst_429_early_ms: Math.max(...early) } : {}),
  };
}

/** For each accepted request after the first `count`: its arrival - (the arrival `count` before + window). */
export function windowLags(lines: readonly MockLogLine[], limit: RateLimit): number[] {
  const accepted = lines.filter((l) => l.status !== 429).map(arrivalOf).sort((a, b) => a - b);
  return accepted.slice(limit.count).map((at, i) => at - accepted[i]! - limit.windowMs);
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/** min over i of (accepted[i + count] - accepted[i]) - windowMs. */
function windowMargin(accepted: number[], limit: RateLimit): number | undefined {
  let margin: number | undefined;
  for (let i = 0; i + limit.count < accepted.length; i++) {
    const span = accepted[i + limit.count]! - accepted[i]! - limit.windowMs;
    margin = margin === undefined ? span : Math.min(margin, span);
  }
  return margin;
}

/** How long before the window had room a refused request arrived (0 if it already had room). */
function earlyBy(arrival: number, accepted: number[], limit: RateLimit): number {
  const before = accepted.filter((at) => at <= arrival);
  const oldest = before[before.length - limit.count];
  return oldest === undefined ? 0 : Math.max(0, oldest + limit.windowMs - arrival);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** The client whose last answer came last, and where its time went. */
export function slowest(figures: RunFigures) {
  const client = figures.clients.reduce<RunFigures["clients"][number] | undefined>(
    (worst, c) =>
      !worst || c.start_offset_ms + c.wall_ms > worst.start_offset_ms + worst.wall_ms ? c : worst,
    undefined,
  );
  return client && {
    client: client.client,
    sent: client.sent,
    start_offset_ms: client.start_offset_ms,
    wall_ms: client.wall_ms,
    floor_ms: client.floor_ms,
    listing_ms: client.listing_ms,
    forced_retries: client.forced,
  };
}

/** One line on where the run's time went, for a run that missed its efficiency. */
export function whereTimeWent(
  report: Omit<RunFigures, "clients"> & { slowest: NonNullable<ReturnType<typeof slowest>> },
): string {
  const { slowest: s, client_end_ms: ends, window_lag_ms: lag } = report;
  const syncsMs = s.wall_ms - s.listing_ms;
  return `Where the time went: the slowest account, ${s.client}, started ${s.start_offset_ms} ms ` +
    `into the run, spent ${s.listing_ms} ms on its listing (${s.forced_retries} 503s and hangs, ` +
    `their timeouts and backoffs, and waits at the host gate) and ${syncsMs} ms on its syncs ` +
    `(floor ${s.floor_ms} ms); accounts ended at p50 ${ends.p50} ms, p90 ${ends.p90} ms, max ` +
    `${ends.max} ms; each request arrived p50 ${lag?.p50} ms, p99 ${lag?.p99} ms after its ` +
    `window had room.`;
}
