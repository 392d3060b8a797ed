import { getLogger } from "@logtape/logtape";
import { STATUS_CODES } from "node:http";
import pRetry from "p-retry";
import type { z } from "zod";
import { type Clock, systemClock } from "../clock.ts";
import { AuthError, HttpError } from "../errors.ts";
import type { Account } from "./account.ts";
import { countOutcome, type Endpoint } from "./request_stats.ts";
import {
  type CampaignPage,
  campaignPageSchema,
  describeIssues,
  syncResultSchema,
} from "./schemas.ts";
import { describeFetchError } from "./token_manager.ts";

const log = getLogger(["adsync", "http"]);

/** Options for {@linkcode createPlatformClient}. */
export interface PlatformClientOptions {
  /** The fetch to send requests with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source and sleeper for backoff. @default systemClock */
  clock?: Clock;
  /** Deadline of one request in ms. @default 15_000 */
  timeoutMs?: number;
  /** Attempts per request for 5xx, timeouts and network errors. @default 5 */
  maxAttempts?: number;
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

/** Signals that end a request: `signal` stops waits and retries, `wireSignal` cuts the request itself. */
export interface CallSignals {
  /** Stops waiting for a slot or a backoff; also cuts the request unless `wireSignal` is given. */
  signal?: AbortSignal;
  /** Cuts a request already sent. @default signal */
  wireSignal?: AbortSignal;
}

/** The two rate-limited calls a sync makes. */
export interface PlatformClient {
  /** Fetches one page of campaigns; records are left raw for validation one by one. */
  listCampaigns(page: number, limit: number, signals?: CallSignals): Promise<CampaignPage>;
  /** Asks the platform to sync a campaign; returns the `synced_at` it reports. */
  syncCampaign(id: string, signals?: CallSignals): Promise<string>;
}

/** Full jitter: a random wait below an exponentially growing ceiling. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

/** Reads a 429's wait from `Retry-After` (seconds or a date) or a `retry_after` body field. */
export function retryAfterMs(response: Response, body: unknown, now: number): number | undefined {
  const header = response.headers.get("retry-after");
  if (header !== null && header.trim() !== "") {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const field = (body as { retry_after?: unknown } | null)?.retry_after;
  const seconds = typeof field === "string" ? Number(field) : field;
  return typeof seconds === "number" && Number.isFinite(seconds)
    ? Math.max(0, seconds * 1_000)
    : undefined;
}

function isRetryable(error: unknown): boolean {
  return error instanceof HttpError && (error.status === 0 || error.status >= 500);
}

/** Creates the client of one account: every call waits for the limiter and carries a live token. */
export function createPlatformClient(
  account: Account,
  options: PlatformClientOptions = {},
): PlatformClient {
  const {
    fetch: fetchFn = globalThis.fetch,
    clock = systemClock,
    timeoutMs = 15_000,
    maxAttempts = 5,
    backoffBaseMs = 500,
    backoffCapMs = 10_000,
    maxRetryAfterMs = 120_000,
    max429 = 5,
    random = Math.random,
  } = options;
  const { tokens, limiter, stats } = account;

  /** Sends once through the limiter; replays itself after a 401 (once) or a 429 (bounded). */
  async function attempt(
    endpoint: Endpoint,
    url: string,
    method: string,
    what: string,
    s: CallSignals,
  ) {
    let refreshed = false;
    for (let refused = 0;;) {
      await tokens.get(s.signal); // log in before taking a slot: logins are not rate limited
      await limiter.acquire(s.signal);
      // The token may have aged past its margin while we waited for the slot.
      const token = await tokens.get(s.signal);
      const wire = s.wireSignal ?? s.signal;
      const deadline = AbortSignal.timeout(timeoutMs);
      let response: Response;
      stats.requests++;
      stats.inFlight++;
      try {
        response = await fetchFn(url, {
          method,
          headers: { authorization: `Bearer ${token}`, "x-client-id": account.clientId },
          signal: wire ? AbortSignal.any([wire, deadline]) : deadline,
        });
      } catch (error) {
        stats.inFlight--;
        if (wire?.aborted) throw wire.reason;
        const timedOut = deadline.aborted;
        if (timedOut) stats.timeouts++;
        countOutcome(stats, endpoint, timedOut ? "timeout" : "network");
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : describeFetchError(error);
        throw new HttpError(`Cannot ${what}: ${reason}`, { status: 0, url }, { cause: error });
      }
      const body: unknown = await response.json().catch(() => undefined);
      stats.inFlight--;
      countOutcome(stats, endpoint, String(response.status));
      if (response.ok) return body;
      if (response.status === 401 && !refreshed) {
        refreshed = true;
        log.debug("Token refused ({error}); logging in again", { error: errorField(body) });
        tokens.invalidate(token);
        continue;
      }
      if (response.status === 401) {
        throw new AuthError(`Cannot ${what}: the platform refused a fresh token (401)`);
      }
      if (response.status === 429) {
        stats.rateLimited++;
        const waitMs = Math.min(
          maxRetryAfterMs,
          retryAfterMs(response, body, clock.now()) ?? limiter.limit.windowMs,
        );
        limiter.holdUntil(clock.now() + waitMs);
        limiter.widenMargin();
        log.warn("Rate limited on {url}; holding the account for {waitMs} ms", {
          url,
          waitMs,
          marginMs: limiter.marginMs,
        });
        if (++refused < max429) continue;
      }
      const statusText = response.statusText || STATUS_CODES[response.status] || "";
      throw new HttpError(`Cannot ${what}: ${response.status} ${statusText}`.trimEnd(), {
        status: response.status,
        url,
      });
    }
  }

  async function call<T>(
    endpoint: Endpoint,
    path: string,
    method: string,
    what: string,
    schema: z.ZodType<T>,
    s: CallSignals = {},
  ): Promise<T> {
    const url = new URL(path, account.baseUrl).href;
    return await pRetry(async () => {
      const body = await attempt(endpoint, url, method, what, s);
      const parsed = schema.safeParse(body);
      if (parsed.success) return parsed.data;
      throw new HttpError(`Cannot ${what}: unexpected answer (${describeIssues(parsed.error)})`, {
        status: 502,
        url,
      });
    }, {
      retries: maxAttempts - 1,
      minTimeout: 0,
      maxTimeout: 0,
      signal: s.signal,
      shouldRetry: ({ error }) => isRetryable(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (!isRetryable(error) || retriesLeft === 0) return;
        stats.retries++;
        const delayMs = backoffDelay(attemptNumber, backoffBaseMs, backoffCapMs, random);
        log.debug("{message}; retry {attempt} in {delayMs} ms", {
          message: error.message,
          attempt: attemptNumber,
          delayMs,
        });
        await clock.sleep(delayMs, s.signal);
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

function errorField(body: unknown): string {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === "string" ? error : "no reason given";
}
