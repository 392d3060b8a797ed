import { getLogger } from "@logtape/logtape";
import type { z } from "zod";
import { type Clock, systemClock } from "../clock.ts";
import {
  AuthError,
  errorMessage,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  TimeoutError,
} from "../errors.ts";
import type { Account } from "./account.ts";
import { countOutcome } from "./request_stats.ts";
import { withRetries } from "./retry.ts";
import {
  type CampaignPage,
  campaignPageSchema,
  describeIssues,
  syncResultSchema,
} from "./schemas.ts";
import { send, withoutCredentials } from "./send.ts";

const log = getLogger(["adsync", "http"]);

/** Options for {@linkcode createPlatformClient}. */
export interface PlatformClientOptions {
  /** The fetch to send requests with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source and sleeper for backoff. @default systemClock */
  clock?: Clock;
  /** Deadline of one request, headers and body, in ms. @default 15_000 */
  timeoutMs?: number;
  /**
   * Deadline of one list request, in ms: a page answers quickly (a sync takes seconds), so a
   * hung list request is cut sooner, and every sync of the account waits on its listing.
   * @default timeoutMs
   */
  listTimeoutMs?: number;
  /** Attempts per request for 5xx, timeouts and network errors. @default 5 */
  maxAttempts?: number;
  /**
   * Attempts per list request: more than a sync's, since a page that fails loses every campaign
   * on it (page 1: the whole account), while a failed sync loses one campaign until the next run.
   * @default 2 * maxAttempts
   */
  listMaxAttempts?: number;
  /** First backoff ceiling in ms; it doubles each attempt, and the wait is random below it. @default 500 */
  backoffBaseMs?: number;
  /** Largest backoff ceiling in ms. @default 10_000 */
  backoffCapMs?: number;
  /** Longest 429 wait honoured, in ms. @default 120_000 */
  maxRetryAfterMs?: number;
  /** 429 answers tolerated for one request before it fails. @default 5 */
  max429?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Signals that end a request: `signal` stops starting work (waits for a slot, a token or a
 * backoff), `wireSignal` cuts a request already sent. An attempt on the wire when only `signal`
 * fires runs to its end, and its result is returned.
 */
export interface CallSignals {
  /** Stops waiting for a slot, a token or a backoff; nothing new is sent after it. */
  signal?: AbortSignal;
  /** Cuts a request already sent. @default never */
  wireSignal?: AbortSignal;
}

/** The two rate-limited calls a sync makes. */
export interface PlatformClient {
  /** Fetches one page of campaigns; records are left raw for validation one by one. */
  listCampaigns(page: number, limit: number, signals?: CallSignals): Promise<CampaignPage>;
  /** Asks the platform to sync a campaign; returns the `synced_at` it reports. */
  syncCampaign(id: string, signals?: CallSignals): Promise<string>;
}

/** Creates the client of one account: every call waits for the limiter and carries a live token. */
export function createPlatformClient(
  account: Account,
  options: PlatformClientOptions = {},
): PlatformClient {
  const {
    fetch,
    clock = systemClock,
    timeoutMs = 15_000,
    maxAttempts = 5,
    backoffBaseMs = 500,
    backoffCapMs = 10_000,
    maxRetryAfterMs = 120_000,
    max429 = 5,
    random = Math.random,
  } = options;
  const { listTimeoutMs = timeoutMs, listMaxAttempts = 2 * maxAttempts } = options;
  const { tokens, limiter, stats } = account;
  const policy = {
    list: { timeoutMs: listTimeoutMs, maxAttempts: listMaxAttempts },
    sync: { timeoutMs, maxAttempts },
  } as const;

  /** Sends once through the limiter; replays itself after a 401 (once) or a 429 (bounded). */
  async function attempt(
    endpoint: "list" | "sync",
    url: string,
    method: string,
    what: string,
    s: CallSignals,
  ) {
    let refreshed = false;
    for (let refused = 0;;) {
      await tokens.get(s.signal); // log in before taking a slot: logins are not rate limited
      const departure = await limiter.acquire(s.signal);
      let token: string;
      let leave: () => void;
      try {
        // The token may have aged past its margin while we waited for the slot.
        token = await tokens.get(s.signal);
        // Room at the host last: a login needs room too, and must not wait behind us. A list
        // request goes ahead of queued syncs: the account's syncs cannot start before its listing.
        leave = await account.hostGate.enter(s.signal, endpoint === "list" ? "ahead" : "behind");
      } catch (error) {
        departure.cancel();
        throw error;
      }
      try {
        // Stamped as it leaves, however long the host gate held it, and persisted before it
        // leaves: a crash right after must not let the next run forget it.
        await departure.sent();
      } catch (error) {
        leave();
        // It never left: retried like a request that found no network.
        throw new NetworkError(
          `Cannot ${what}: cannot record its send time (${errorMessage(error)})`,
          { url: withoutCredentials(url) },
          { cause: error },
        );
      }
      stats.requests++;
      stats.inFlight++;
      const sentAt = clock.now();
      try {
        const headers = { authorization: `Bearer ${token}`, "x-client-id": account.clientId };
        return await send({ url, method, headers, what, signal: s.wireSignal }, {
          fetch,
          timeoutMs: policy[endpoint].timeoutMs,
          now: clock.now,
          onHeaders: account.limits.observe,
          onOutcome: (outcome) => {
            countOutcome(stats, endpoint, outcome);
            // A page is answered at once: its round trip bounds how late requests arrive.
            if (endpoint === "list" && isStatus(outcome)) {
              account.hostGate.arrivalDelay.observe(sentAt, clock.now());
            }
          },
        });
      } catch (error) {
        if (error instanceof TimeoutError) stats.timeouts++;
        if (!(error instanceof HttpError)) throw error;
        if (error.status === 401 && !refreshed) {
          refreshed = true;
          log.debug("Token refused on {url}; logging in again", { url: error.url });
          tokens.invalidate(token);
          continue;
        }
        if (error.status === 401) {
          throw new AuthError(`Cannot ${what}: the platform refused a fresh token (401)`, {
            cause: error,
            url: error.url,
          });
        }
        if (error.status === 429) {
          stats.rateLimited++;
          const waitMs = Math.min(maxRetryAfterMs, error.retryAfterMs ?? limiter.limit.windowMs);
          limiter.holdUntil(clock.now() + waitMs);
          limiter.widenMargin();
          log.warn("Rate limited on {url}; holding the account for {waitMs} ms", {
            url: error.url,
            waitMs,
            marginMs: limiter.marginMs,
          });
          if (++refused < max429) continue;
        }
        throw error;
      } finally {
        stats.inFlight--;
        leave();
      }
    }
  }

  async function call<T>(
    endpoint: "list" | "sync",
    path: string,
    method: string,
    what: string,
    schema: z.ZodType<T>,
    s: CallSignals = {},
  ): Promise<T> {
    const url = new URL(path, account.baseUrl).href;
    return await withRetries(async () => {
      const answer = await attempt(endpoint, url, method, what, s);
      const parsed = schema.safeParse(answer.body);
      if (parsed.success) return parsed.data;
      throw new InvalidAnswerError(
        `Cannot ${what}: unexpected answer (${describeIssues(parsed.error)})`,
        { url: withoutCredentials(url), status: answer.status },
      );
    }, {
      clock,
      maxAttempts: policy[endpoint].maxAttempts,
      backoffBaseMs,
      backoffCapMs,
      random,
      signal: s.signal,
      onRetry: (error, attemptNumber, delayMs) => {
        stats.retries++;
        log.debug("{message}; retry {attempt} in {delayMs} ms", {
          message: error.message,
          attempt: attemptNumber,
          delayMs,
        });
      },
    });
  }

  return {
    listCampaigns(page, limit, signals) {
      const path = `/api/campaigns?page=${page}&limit=${limit}`;
      return call("list", path, "GET", `fetch page ${page}`, campaignPageSchema, signals);
    },
    async syncCampaign(id, signals) {
      const path = `/api/campaigns/${encodeURIComponent(id)}/sync`;
      const result = await call("sync", path, "POST", `sync ${id}`, syncResultSchema, signals);
      return result.synced_at;
    },
  };
}

/** Whether a request's outcome is an answer (a status), not a timeout or a network failure. */
export function isStatus(outcome: string): boolean {
  return /^\d{3}$/.test(outcome);
}
