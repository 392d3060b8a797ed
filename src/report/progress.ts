import { type Clock, systemClock } from "../clock.ts";
import { formatDuration } from "../duration.ts";
import { writeStderr } from "./logging.ts";

/** Where a sync stands, as the progress line shows it. */
export interface ProgressSnapshot {
  pagesDone: number;
  /** `null` until the platform has told us its total. */
  pagesTotal: number | null;
  campaignsDone: number;
  campaignsTotal: number | null;
  /** Requests now on the wire. */
  inFlight: number;
  /** Total time spent waiting on the rate limiter. */
  rateWaitMs: number;
  retries: number;
  /** Time left, computed by the caller from the limiter's schedule; `null` when unknown. */
  readonly etaMs: number | null;
  /**
   * Its ETA were its sends spread evenly over its window: the hold a 429 asked for, then its
   * requests left at its limit's pace. Cheap to read, it ranks accounts by their ETA, which a
   * many-account run then reads for the first few only; `null` when unknown. @default unranked:
   * its ETA is always read
   */
  paceLeftMs?: number | null;
  /** Accounts finished, when the run covers more than one. */
  accountsDone?: number;
  /** Accounts in the run, when it covers more than one. */
  accountsTotal?: number;
}

/** One account of a many-account run, as the progress line sees it. */
export interface AccountProgress {
  /** True once the account's sync has ended, whatever its outcome. */
  done: boolean;
  /** Its sync's state; `undefined` while it has not started (waiting for a slot, logging in). */
  snapshot: ProgressSnapshot | undefined;
}

/** How `startProgress` reports. */
export interface ProgressOptions {
  /** Reads the current state; called on every tick. */
  snapshot: () => ProgressSnapshot;
  /** `tty`: one status line redrawn in place; `log`: a line handed to `log` now and then. */
  mode: "tty" | "log";
  /** Drives the ticks. @default systemClock */
  clock?: Clock;
  /** Time between ticks. @default 250 in tty mode, 30000 in log mode */
  intervalMs?: number;
  /** Receives the raw terminal output in tty mode. @default synchronous write to stderr */
  write?: (text: string) => void;
  /** Receives each line in log mode (the caller routes it to the logger). @default ignore */
  log?: (line: string, snapshot: ProgressSnapshot) => void;
}

/** A running progress display. */
export interface Progress {
  /** Stops the ticks and, on a terminal, clears the status line. Safe to call twice. */
  stop(): void;
}

const CLEAR_LINE = "\r\x1b[2K";

/**
 * Renders a snapshot as one compact line, the ETA first; unknown totals show as `?`. A
 * many-account line leaves out the rate-limit wait, which is per account. Given `columns`, the
 * least needed parts are left out until the line fits (never cut mid-word).
 */
export function formatProgress(s: ProgressSnapshot, columns = Infinity): string {
  const many = s.accountsTotal !== undefined && s.accountsTotal > 1;
  // Most needed first: the last ones go first when the line is too long.
  const parts = [
    `ETA ${s.etaMs === null ? "?" : formatDuration(s.etaMs)}`,
    `campaigns ${s.campaignsDone}/${s.campaignsTotal ?? "?"}`,
    ...(many ? [`accounts ${s.accountsDone ?? 0}/${s.accountsTotal}`] : []),
    `pages ${s.pagesDone}/${s.pagesTotal ?? "?"}`,
    ...(many ? [] : [`rate-limit wait ${formatDuration(s.rateWaitMs)} in all`]),
    `retries ${s.retries}`,
    `in flight ${s.inFlight}`,
  ];
  while (parts.length > 1 && parts.join(" · ").length > columns) parts.pop();
  return parts.join(" · ");
}

/**
 * Adds up the accounts of a run into one snapshot: counts summed, totals known once every
 * account's is, and the ETA of the slowest account (unknown while any has not planned its work).
 * An account that ended counts for what it did, whatever its listing promised.
 */
export function combineProgress(accounts: readonly AccountProgress[]): ProgressSnapshot {
  const sum = (pick: (s: ProgressSnapshot) => number) =>
    accounts.reduce((total, a) => total + (a.snapshot ? pick(a.snapshot) : 0), 0);
  const known = (
    pick: (s: ProgressSnapshot) => number | null,
    done: (s: ProgressSnapshot) => number,
  ) => {
    let total = 0;
    for (const { done: ended, snapshot } of accounts) {
      const value = snapshot === undefined
        ? (ended ? 0 : null)
        : ended
        ? done(snapshot)
        : pick(snapshot);
      if (value === null) return null;
      total += value;
    }
    return total;
  };
  return {
    pagesDone: sum((s) => s.pagesDone),
    pagesTotal: known((s) => s.pagesTotal, (s) => s.pagesTotal ?? s.pagesDone),
    campaignsDone: sum((s) => s.campaignsDone),
    campaignsTotal: known((s) => s.campaignsTotal, (s) => s.campaignsTotal ?? s.campaignsDone),
    inFlight: sum((s) => s.inFlight),
    rateWaitMs: sum((s) => s.rateWaitMs),
    retries: sum((s) => s.retries),
    etaMs: slowest(accounts),
    accountsDone: accounts.filter((a) => a.done).length,
    accountsTotal: accounts.length,
  };
}

/** Accounts whose ETA a tick reads at most: those with the most pace left. */
export const ETA_CANDIDATES = 32;

/**
 * The ETA of the slowest account still running, or null while any has not planned its work. An
 * ETA works out an account's schedule, which at 10,000 accounts took about half a second a tick;
 * so only the {@linkcode ETA_CANDIDATES} accounts with the most pace left are asked. The slowest
 * is among them, unless its margins and its window's phase (at most about a window) outlast the
 * difference.
 */
function slowest(accounts: readonly AccountProgress[]): number | null {
  const asked: ProgressSnapshot[] = [];
  const ranked: Array<{ snapshot: ProgressSnapshot; paceLeftMs: number }> = [];
  for (const { done, snapshot } of accounts) {
    if (done) continue;
    if (snapshot === undefined || snapshot.paceLeftMs === null) return null;
    const { paceLeftMs } = snapshot;
    if (paceLeftMs === undefined) asked.push(snapshot);
    else ranked.push({ snapshot, paceLeftMs });
  }
  ranked.sort((a, b) => b.paceLeftMs - a.paceLeftMs);
  for (const { snapshot } of ranked.slice(0, ETA_CANDIDATES)) asked.push(snapshot);
  let eta = 0;
  for (const { etaMs } of asked) {
    if (etaMs === null) return null;
    eta = Math.max(eta, etaMs);
  }
  return eta;
}

/**
 * Ticks wait at least this many times as long as the last tick took: at 10,000 accounts a
 * terminal's line takes about 20 ms to build, and at 4 a second it would take 8 % of the event
 * loop that paces the requests; this keeps it to 2 % at any scale.
 */
export const TICK_COST_FACTOR = 50;

/**
 * Shows progress every `intervalMs` (or {@linkcode TICK_COST_FACTOR} times as long as the last
 * tick took, if longer) until `stop()` is called.
 */
export function startProgress(options: ProgressOptions): Progress {
  const {
    snapshot,
    mode,
    clock = systemClock,
    intervalMs = mode === "tty" ? 250 : 30_000,
    write = writeStderr,
    log = () => {},
  } = options;
  const controller = new AbortController();
  const { signal } = controller;
  let stopped = false;
  let waitMs = intervalMs;

  const tick = () => {
    const started = clock.now();
    const current = snapshot();
    if (mode === "log") log(formatProgress(current), current);
    // A wrapped line cannot be redrawn in place: one column is kept for the cursor.
    else write(CLEAR_LINE + formatProgress(current, terminalColumns() - 1));
    waitMs = Math.max(intervalMs, (clock.now() - started) * TICK_COST_FACTOR);
  };

  const loop = async () => {
    try {
      if (mode === "tty") tick();
      while (!signal.aborted) {
        await clock.sleep(waitMs, signal);
        if (!signal.aborted) tick();
      }
    } catch {
      // Stopped (the sleep rejects on abort), or a snapshot failed: progress must never end a sync.
      controller.abort();
    }
  };
  void loop();

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      controller.abort();
      if (mode === "tty") write(CLEAR_LINE);
    },
  };
}

/** The terminal's width, or 100 when it cannot be read. */
function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 100;
  } catch {
    return 100;
  }
}
