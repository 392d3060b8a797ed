import { getLogger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { AuthError, HttpError } from "../errors.ts";
import { describeIssues, tokenSchema } from "./schemas.ts";

const log = getLogger(["adsync", "auth"]);

/** The credentials of one account; they never leave this module except as a Basic header. */
export interface Credentials {
  email: string;
  password: string;
}

/** Options for {@linkcode createTokenManager}. */
export interface TokenManagerOptions {
  /** The fetch to log in with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source. @default systemClock */
  clock?: Clock;
  /** Deadline of one login request in ms. @default 15_000 */
  timeoutMs?: number;
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
  const { fetch: fetchFn = globalThis.fetch, clock = systemClock, timeoutMs = 15_000 } = options;
  const { onToken = () => {}, onOutcome = () => {} } = options;
  const authorization = basicAuth(credentials);
  const url = new URL("/auth/token", baseUrl).href;
  let current: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let logins = 0;

  async function login(signal?: AbortSignal): Promise<string> {
    const askedAt = clock.now();
    const deadline = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetchFn(url, {
        method: "POST",
        headers: { authorization },
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      onOutcome(deadline.aborted ? "timeout" : "network");
      throw new HttpError(`Cannot log in at ${url}: ${describeFetchError(error)}`, {
        status: 0,
        url,
      }, { cause: error });
    }
    const body = await response.json().catch(() => undefined);
    onOutcome(String(response.status));
    if (response.status === 401 || response.status === 403) {
      throw new AuthError(
        `Cannot log in at ${url}: the platform refused the credentials (${response.status})`,
      );
    }
    if (!response.ok) {
      throw new HttpError(`Cannot log in at ${url}: ${response.status} ${response.statusText}`, {
        status: response.status,
        url,
      });
    }
    const parsed = tokenSchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpError(
        `Cannot log in at ${url}: unexpected answer (${describeIssues(parsed.error)})`,
        { status: response.status, url },
      );
    }
    const token = parsed.data.access_token;
    onToken(token);
    const lifeMs = parsed.data.expires_in * 1_000;
    current = { token, refreshAt: askedAt + lifeMs - Math.min(60_000, lifeMs / 10) };
    if (logins++ > 0) {
      log.debug("Refreshed the access token", { expiresInS: parsed.data.expires_in });
    }
    return token;
  }

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

/** Says what went wrong with a request that got no answer. */
export function describeFetchError(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "no answer in time";
  if (error instanceof Error) return error.message;
  return String(error);
}
