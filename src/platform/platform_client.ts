import { getLogger } from "@logtape/logtape";
import type { RequestPolicy } from "../account_plan.ts";
import type { z } from "zod";
import { type Clock, systemClock } from "../clock.ts";
import { AuthError, HttpError, TimeoutError } from "../errors.ts";
import type { Account } from "./account.ts";
import {
  type ApiEndpoint,
  type ApiRequest,
  type AttemptSettings,
  type CallSignals,
  sendAttempt,
} from "./api_attempt.ts";
import { rateLimitHoldMs, retry, retryLogger, type RetryOptions } from "./retry.ts";
import { type CampaignPage, campaignPageSchema, parseAnswer, syncResultSchema } from "./schemas.ts";
import { platformUrl } from "./send.ts";
export type { CallSignals } from "./api_attempt.ts";
import type { ArrivalDelay } from "./lateness.ts";
import {
  LIST_BACKOFF_DIVISOR,
  LIST_DEADLINE_FACTOR,
  LIST_DEADLINE_HORIZON_MS,
  LIST_DEADLINE_SPAN_MS,
  MIN_LIST_DEADLINE_MS,
} from "./tuning.ts";

const log = getLogger(["adsync", "http"]);
const logRetry = retryLogger(log);

/**
 * Options for {@linkcode createPlatformClient}: the run's request policy (its deadlines, attempts
 * and backoff, as the account's logins take them), and what the client needs besides. Defaults:
 * `timeoutMs` 15_000; `listTimeoutMs` = `timeoutMs` (a page answers quickly, so a hung list
 * request is cut sooner: after {@linkcode listDeadlineMs}, at most `listTimeoutMs`); `maxAttempts`
 * 5 (for 5xx, timeouts and network errors); the wait is random below a ceiling from
 * `backoffBaseMs` 500 (a list request's from a quarter of it), doubling with each failure that
 * was not a timeout, up to `backoffCapMs` 10_000.
 */
export interface PlatformClientOptions extends Partial<RequestPolicy> {
  /** The fetch to send requests with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source and sleeper for backoff. @default systemClock */
  clock?: Clock;
  /**
   * Attempts per list request: more than a sync's, since a page that fails loses every campaign
   * on it (page 1: the whole account), while a failed sync loses one campaign until the next run.
   * @default 2 * maxAttempts
   */
  listMaxAttempts?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * Told of every 429 of an API call, once the account is held for it: a worker stops the run
   * there when the wait asked is long, to come back later. @default no-op
   */
  onHold?: (error: HttpError) => void;
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
  const { fetch, clock = systemClock, timeoutMs = 15_000, maxAttempts = 5 } = options;
  const { backoffBaseMs = 500, backoffCapMs = 10_000, random = Math.random } = options;
  const { listTimeoutMs = timeoutMs, listMaxAttempts = 2 * maxAttempts } = options;
  const common = { fetch, clock, backoffCapMs, random, onHold: options.onHold };
  const settings: Record<ApiEndpoint, CallSettings> = {
    // A page's retries start from a quarter of the backoff: while the account's window has
    // room they cost it no time, and every sync of the account waits on them.
    list: {
      ...common,
      timeoutMs: listTimeoutMs,
      maxAttempts: listMaxAttempts,
      backoffBaseMs: Math.max(1, backoffBaseMs / LIST_BACKOFF_DIVISOR),
    },
    sync: { ...common, timeoutMs, maxAttempts, backoffBaseMs },
  };
  async function call<T>(
    endpoint: ApiEndpoint,
    path: string,
    what: string,
    schema: z.ZodType<T>,
    signals: CallSignals = {},
  ): Promise<T> {
    const url = platformUrl(account.baseUrl, path);
    const method = endpoint === "list" ? "GET" : "POST";
    // Its place in the account's window comes first, the request and its retries are built
    // after: an account's syncs wait for its window holding a place each, not a chain of calls
    // (ten thousand accounts wait with ten syncs each).
    const turn = await account.limiter.acquire(signals.signal);
    const apiRequest = { endpoint, url, method, what, signals, turn };
    return request(account, apiRequest, schema, settings[endpoint]);
  }
  return {
    listCampaigns(page, limit, signals) {
      const path = `/api/campaigns?page=${page}&limit=${limit}`;
      return call("list", path, `fetch page ${page}`, campaignPageSchema, signals);
    },
    async syncCampaign(id, signals) {
      const path = `/api/campaigns/${encodeURIComponent(id)}/sync`;
      const result = await call("sync", path, `sync ${id}`, syncResultSchema, signals);
      return result.synced_at;
    },
  };
}

/** How the calls to one endpoint are sent and retried, every default applied. */
interface CallSettings extends Required<Pick<RetryOptions, RetryKnob>> {
  fetch: typeof fetch | undefined;
  timeoutMs: number;
  onHold: ((error: HttpError) => void) | undefined;
}
type RetryKnob = "clock" | "maxAttempts" | "backoffBaseMs" | "backoffCapMs" | "random";

/**
 * Makes `call` until its answer is valid or a failure is final, each failure handled as
 * {@linkcode retry} classifies it: retried after a backoff, replayed with a new token after a
 * 401 (once), replayed after holding the account on a 429 (a few times).
 */
async function request<T>(
  account: Account,
  call: ApiRequest,
  schema: z.ZodType<T>,
  settings: CallSettings,
): Promise<T> {
  const { clock, fetch, timeoutMs, maxAttempts, backoffBaseMs, backoffCapMs, random } = settings;
  let timedOut = 0;
  const attempt: AttemptSettings = {
    fetch,
    clock,
    deadlineMs: call.endpoint === "list"
      ? () => listDeadlineMs(account.hostGate.arrivalDelay, clock.now(), timeoutMs, timedOut)
      : () => timeoutMs,
  };
  const once = async () => parseAnswer(schema, await sendAttempt(account, call, attempt), call);
  try {
    return await retry(once, {
      clock,
      maxAttempts,
      backoffBaseMs,
      backoffCapMs,
      random,
      signal: call.signals.signal,
      onRetry: (error, attemptNumber, delayMs) => {
        if (error instanceof TimeoutError) timedOut++;
        account.stats.retries++;
        logRetry(error, attemptNumber, delayMs);
      },
      onRefresh: (error) => {
        log.debug("Token refused on {url}; logging in again", { url: error.url });
        if (call.token !== undefined) account.tokens.invalidate(call.token);
      },
      // A 429 met before the request left is its login's, and final: the login is not limited.
      onHold: (error) => {
        if (call.token === undefined) return false;
        holdAccount(account, clock, error);
        settings.onHold?.(error);
        return true;
      },
    });
  } catch (error) {
    throw refusedToken(error, call.what);
  }
}

/** After a 429: holds the account for the wait asked (else a window) and widens its margin. */
function holdAccount(account: Account, clock: Clock, error: HttpError): void {
  const { stats, limiter } = account;
  stats.rateLimited++;
  const waitMs = rateLimitHoldMs(error, limiter.limit.windowMs);
  limiter.holdUntil(clock.now() + waitMs);
  limiter.widenMargin();
  log.warn("Rate limited on {url}; holding the account for {waitMs} ms", {
    url: error.url,
    waitMs,
    marginMs: limiter.marginMs,
  });
}

/**
 * A 401 that ends the retries came after a refresh (the only 401 {@linkcode retry} gives up on
 * here): the platform refused a fresh token, which no retry can mend.
 */
function refusedToken(error: unknown, what: string): unknown {
  if (!(error instanceof HttpError) || error.status !== 401) return error;
  return new AuthError(`Cannot ${what}: the platform refused a fresh token (401)`, {
    cause: error,
    url: error.url,
  });
}

/*
 * The deadline of a list request, from the host's recent round trips. A page is answered at once
 * (the platform reads it, it does no work), so a list request still unanswered after a few times
 * the longest round trip of a page the host answered lately has hung, and the platform's hangs
 * never answer at all (a login's round trip is not counted: it may take longer, and says nothing
 * of pages). Cutting it then rather than at `AD_PLATFORM_LIST_TIMEOUT` sends its retry seconds
 * sooner; that matters, since no sync of the account can start before its page 1 arrives, and
 * every later window of its schedule follows the one its listing ended in.
 */

/**
 * The deadline of a list request leaving at `now`: {@linkcode LIST_DEADLINE_FACTOR} times the
 * longest round trip of a page answered in the {@linkcode LIST_DEADLINE_SPAN_MS} before the latest
 * answer, at least {@linkcode MIN_LIST_DEADLINE_MS}; `maxMs` (the configured deadline) when no
 * page was answered in the last {@linkcode LIST_DEADLINE_HORIZON_MS}, and never more than it.
 * After the second of `timedOut` attempts of the same page cut by their deadline, each one doubles
 * it: a page slower than the others (a platform's cache miss) is still waited for as long as
 * configured before its attempts run out, rather than cut again and again (the round trips are
 * learnt from pages answered, never from those cut).
 */
export function listDeadlineMs(
  roundTrips: Pick<ArrivalDelay, "recentMaxMs" | "lastAnsweredAt">,
  now: number,
  maxMs: number,
  timedOut = 0,
): number {
  const last = roundTrips.lastAnsweredAt();
  if (last === undefined || last < now - LIST_DEADLINE_HORIZON_MS) return maxMs;
  const recent = roundTrips.recentMaxMs(last, LIST_DEADLINE_SPAN_MS);
  const learnt = Math.max(MIN_LIST_DEADLINE_MS, LIST_DEADLINE_FACTOR * recent);
  return Math.min(maxMs, learnt * 2 ** Math.max(0, timedOut - 1));
}
