import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { ENDED, onAbort } from "../abort_listeners.ts";
import { clockTimeout, deadline, type DeadlineOptions } from "../deadline.ts";
import { AdsyncError, errorCode, errorMessage, StoreError } from "../errors.ts";

const log = getLogger(["adsync", "store"]);

/** Options for {@linkcode createDatabaseGuard}. */
export interface DatabaseGuardOptions {
  /** Deadline of any one database operation, in ms. @default 30_000 */
  timeoutMs?: number;
  /** How long `retrying` rides out an unreachable database, in ms. @default 60_000 */
  outageMs?: number;
  /** First wait between two attempts, in ms; it doubles each time. @default 250 */
  retryDelayMs?: number;
  /** Longest wait between two attempts, in ms. @default 5_000 */
  maxRetryDelayMs?: number;
  /**
   * Once it fires (the stop's grace period is over, or a second signal), every wait on the
   * database ends within `closingMs` and nothing is retried any more.
   * @default never
   */
  signal?: AbortSignal;
  /** What the database still gets per operation once `signal` fired, in ms. @default 1_000 */
  closingMs?: number;
  /** Timer source. @default systemClock */
  clock?: Clock;
}

/** Puts a deadline on database operations, and retries idempotent ones through a short outage. */
export interface DatabaseGuard {
  /** Runs `op` once with a deadline; any failure is a StoreError naming `action` and the database. */
  once<T>(action: string, op: () => Promise<T>): Promise<T>;
  /**
   * Runs the idempotent `op`, retrying with backoff while the database is unreachable, for up to
   * the outage bound; then throws a StoreError saying so and that `--resume` continues.
   */
  retrying<T>(action: string, op: () => Promise<T>): Promise<T>;
}

/** The database gave no answer in time (frozen server, lost network). */
class NoAnswer extends AdsyncError {
  constructor(reason: string) {
    super("DATABASE_UNAVAILABLE", reason);
    this.name = "NoAnswer";
  }
}

// Failures that say the server is away or restarting, not that the statement is wrong.
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown: terminating connection due to administrator command
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: the database system is starting up / shutting down
  "53300", // too_many_connections
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

const PG_CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/** True when `error` means the database is unreachable for now, so a retry may succeed. */
export function isTransient(error: unknown): boolean {
  if (error instanceof NoAnswer) return true;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") {
    // node-postgres (pg-boss's driver) says a dropped connection in words only.
    const message = (error as { message?: unknown })?.message;
    return typeof message === "string" && PG_CONNECTION_LOST.test(message);
  }
  return TRANSIENT_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code); // class 08: connection exception
}

/**
 * Creates a guard for the database that `label` names (such as "PostgreSQL at
 * 127.0.0.1:5432/adsync"; never with a password). postgres.js has no client-side query timeout,
 * and a frozen server keeps its socket open without answering: the guard stops waiting instead.
 * An abandoned operation may still complete later, so only idempotent writes are retried.
 */
export function createDatabaseGuard(
  label: string,
  options: DatabaseGuardOptions = {},
): DatabaseGuard {
  const {
    timeoutMs = 30_000,
    outageMs = 60_000,
    retryDelayMs = 250,
    maxRetryDelayMs = 5_000,
    signal,
    closingMs = 1_000,
    clock = systemClock,
  } = options;

  /** `op` with a deadline: `deadlineMs`, or `closingMs` once the stop fired, whichever is first. */
  async function attempt<T>(op: () => Promise<T>, deadlineMs: number): Promise<T> {
    const work = Promise.resolve().then(op);
    const stopped = signal?.aborted === true;
    const ms = stopped ? Math.min(deadlineMs, closingMs) : deadlineMs;
    const settled = new AbortController();
    try {
      return await deadline(work, ms, {
        clock,
        signal: signal && !stopped
          ? afterAbort(signal, closingMs, { clock, signal: settled.signal, reason: AFTER_STOP })
          : undefined,
        reason: TIME_UP,
      });
    } catch (error) {
      // The reasons are made only when a deadline passes: an error's stack costs, and every
      // statement of every account has a deadline.
      if (error === TIME_UP && stopped) {
        throw new NoAnswer(`no answer within ${seconds(ms)} after the stop`);
      }
      if (error === TIME_UP) throw new NoAnswer(`no answer within ${seconds(ms)}`);
      if (error === AFTER_STOP) {
        throw new NoAnswer(`no answer within ${seconds(closingMs)} after the stop`);
      }
      throw error;
    } finally {
      settled.abort(ENDED);
    }
  }

  const fail = (action: string, reason: string, cause: unknown) =>
    new StoreError(`Cannot ${action} ${label}: ${reason}`, { cause });

  return {
    async once(action, op) {
      try {
        return await attempt(op, timeoutMs);
      } catch (error) {
        throw fail(action, oneLine(error), error);
      }
    },

    async retrying(action, op) {
      let outageStart: number | undefined;
      for (let retry = 0;; retry++) {
        const started = clock.now();
        const left = outageStart === undefined ? Infinity : outageStart + outageMs - started;
        try {
          return await attempt(op, Math.min(timeoutMs, Math.max(left, closingMs)));
        } catch (error) {
          if (!isTransient(error)) throw fail(action, oneLine(error), error);
          outageStart ??= started;
          const remaining = outageStart + outageMs - clock.now();
          if (signal?.aborted || remaining <= 0) {
            const lasted = seconds(clock.now() - outageStart);
            throw fail(
              action,
              `the database is unreachable (${oneLine(error)}; retried for ${lasted}); ` +
                "the work done is kept in the checkpoint: --resume continues",
              error,
            );
          }
          const delay = Math.min(
            remaining,
            retryDelayMs * 2 ** Math.min(retry, 20),
            maxRetryDelayMs,
          );
          log.warn("Cannot {action} {label} ({reason}); retrying in {delay} ms", {
            action,
            label,
            reason: oneLine(error),
            error_code: errorCode(error),
            delay,
          });
          // A stop ends the wait early; one last attempt then gets `closingMs`.
          await clock.sleep(delay, signal).catch(() => {});
        }
      }
    },
  };
}

/** What a deadline rejects with, before the guard names it (see `attempt`). */
const TIME_UP = Symbol("time up");
const AFTER_STOP = Symbol("time up after the stop");

/**
 * A signal that aborts `ms` after `stop` fires, unless `options.signal` cancels it first. The
 * stop is every statement's, so it is listened to through onAbort (one real listener).
 */
function afterAbort(
  stop: AbortSignal,
  ms: number,
  options: Required<DeadlineOptions>,
): AbortSignal {
  const controller = new AbortController();
  const off = onAbort(stop, () => {
    const timeout = clockTimeout(ms, options);
    timeout.addEventListener("abort", () => controller.abort(timeout.reason), { once: true });
  });
  options.signal.addEventListener("abort", off, { once: true });
  return controller.signal;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function oneLine(error: unknown): string {
  return errorMessage(error).replace(/\s+/g, " ").trim();
}
