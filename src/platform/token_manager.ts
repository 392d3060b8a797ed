import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { AuthError, HttpError } from "../errors.ts";
import { createHostGate, type HostGate } from "./host_gate.ts";
import { retry, retryLogger, type RetryOptions } from "./retry.ts";
import { parseAnswer, tokenSchema } from "./schemas.ts";
import { type Answer, platformUrl, send, withoutCredentials } from "./send.ts";
import { TOKEN_REFRESH_MAX_MS, TOKEN_REFRESH_SHARE } from "./tuning.ts";

const log = getLogger(["adsync", "auth"]);

/** The credentials of one account; they never leave this module except as a Basic header. */
export interface Credentials {
  email: string;
  password: string;
  /** Where they are set (`AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD`), named when refused. @default unnamed */
  from?: string;
}

/** How a login is retried: a refused login is never replayed, only one that found no answer. */
type LoginRetryOptions = Omit<RetryOptions, "signal" | "clock" | "onRefresh" | "onHold">;

/** Options for {@linkcode createTokenManager}. */
export interface TokenManagerOptions extends LoginRetryOptions {
  /** The fetch to log in with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source, and sleeper for the backoff between login attempts. @default systemClock */
  clock?: Clock;
  /** Sent as `X-Client-ID` with the login, so the platform can bind the token to it. @default "default" */
  clientId?: string;
  /** Deadline of one login request in ms. @default 15_000 */
  timeoutMs?: number;
  /** Bounds the requests in flight to the platform's host. @default a gate of its own */
  hostGate?: HostGate;
  /** Called with every new token, so logging can redact it. @default no-op */
  onToken?: (token: string) => void;
  /** Called with the outcome of every login request (`"200"`, `"401"`, `"timeout"`…). @default no-op */
  onOutcome?: (status: string) => void;
}

/** Hands out a live bearer token, logging in again before it expires or after a 401. */
export interface TokenManager {
  /** A token believed valid now; logs in (once, shared by all callers) when there is none. */
  get(signal?: AbortSignal): Promise<string>;
  /** True while `token` is the current token and not near its expiry. */
  isFresh(token: string): boolean;
  /** The platform refused `token`: forget it, so the next `get()` logs in again. */
  invalidate(token: string): void;
  /** Logins after the first one. */
  readonly refreshes: number;
}

/** Builds the Basic authorization value for the login request. */
export function basicAuth({ email, password }: Credentials): string {
  const bytes = new TextEncoder().encode(`${email}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * Creates a token manager for one account. Expiry is measured from when we asked for the
 * token, on our clock, less a safety margin of a tenth of its life (at most a minute); a token
 * the platform declares expired earlier is caught by the 401 path.
 */
export function createTokenManager(
  baseUrl: string,
  credentials: Credentials,
  options: TokenManagerOptions = {},
): TokenManager {
  const { fetch, clock = systemClock, timeoutMs = 15_000, clientId = "default" } = options;
  const { onToken = () => {}, onOutcome, hostGate = createHostGate() } = options;
  const authorization = basicAuth(credentials);
  const url = platformUrl(baseUrl, "/auth/token");
  const what = `log in to ${withoutCredentials(baseUrl)} for account ${clientId}`;
  let current: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let logins = 0;

  /** One login request; a refusal of the credentials is final, anything else is the retry policy's. */
  async function attempt(signal?: AbortSignal): Promise<string> {
    const askedAt = clock.now();
    let answer: Answer;
    // Ahead of queued syncs: every request of the account waits on its token.
    const leave = await hostGate.enter(signal, "ahead");
    try {
      const headers = { authorization, "x-client-id": clientId };
      answer = await send({ url, method: "POST", headers, what, signal }, {
        fetch,
        timeoutMs,
        now: clock.now,
        onOutcome,
      });
    } catch (error) {
      if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
        throw new AuthError(
          `Cannot ${what}: the platform refused the credentials (${error.status})` +
            (credentials.from ? `; check ${credentials.from}` : ""),
          { cause: error, url: error.url },
        );
      }
      throw error;
    } finally {
      leave();
    }
    const { access_token: token, expires_in } = parseAnswer(tokenSchema, answer, { what, url });
    onToken(token);
    const lifeMs = expires_in * 1_000;
    const marginMs = Math.min(TOKEN_REFRESH_MAX_MS, lifeMs * TOKEN_REFRESH_SHARE);
    current = { token, refreshAt: askedAt + lifeMs - marginMs };
    if (logins++ > 0) log.debug("Refreshed the access token", { expiresInS: expires_in });
    return token;
  }

  const logRetry = retryLogger(log);
  const login = (signal?: AbortSignal) =>
    retry(() => attempt(signal), {
      ...options,
      clock,
      signal,
      onRetry: (error, attemptNumber, delayMs) => {
        logRetry(error, attemptNumber, delayMs);
        options.onRetry?.(error, attemptNumber, delayMs);
      },
    });

  return {
    get(signal) {
      if (current && clock.now() < current.refreshAt) return Promise.resolve(current.token);
      pending ??= login(signal).finally(() => (pending = undefined));
      return pending;
    },
    isFresh(token) {
      return current?.token === token && clock.now() < current.refreshAt;
    },
    invalidate(token) {
      if (current?.token === token) current = undefined;
    },
    get refreshes() {
      return Math.max(0, logins - 1);
    },
  };
}
