import { STATUS_CODES } from "node:http";
import { ENDED, onAbort } from "../abort_listeners.ts";
import { type Clock, sleep } from "../clock.ts";
import { HttpError, InvalidAnswerError, NetworkError, TimeoutError } from "../errors.ts";
import { USER_AGENT } from "../version.ts";
import { STALL_MS } from "./tuning.ts";

/** One request to the platform. */
export interface SendRequest {
  /** Absolute URL. */
  url: string;
  method: string;
  headers: Record<string, string>;
  /** What the request does, for messages: "fetch page 3" gives "Cannot fetch page 3: …". */
  what: string;
  /** Cuts the request, wherever it is (headers or body); its reason is thrown as is. */
  signal?: AbortSignal;
}

/** Options for {@linkcode send}. */
export interface SendOptions {
  /** The fetch to send with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Deadline of the whole exchange, headers and body, in ms. @default 15_000 */
  timeoutMs?: number;
  /** Time source, to read a `Retry-After` date. @default Date.now */
  now?: () => number;
  /** Clock of the deadline. @default real timers on `performance.now()` */
  clock?: Clock;
  /** Called once per request with its outcome (`"200"`, `"503"`, `"timeout"`, `"network"`). @default no-op */
  onOutcome?: (outcome: string) => void;
  /** Called with the headers and status of every answer, whatever its status, as soon as they arrive. @default no-op */
  onHeaders?: (headers: Headers, status: number) => void;
}

/** A 2xx answer: its status and its body, parsed as JSON. */
export interface Answer {
  status: number;
  body: unknown;
}

/**
 * Sends one request, as `adsync/X.Y.Z` (its `User-Agent`, unless the request sets one), and reads
 * its whole body under one deadline. Returns a 2xx's JSON body;
 * throws {@linkcode HttpError} for any other status (a redirect is never followed),
 * {@linkcode TimeoutError}, {@linkcode NetworkError} or {@linkcode InvalidAnswerError}.
 */
export async function send(request: SendRequest, options: SendOptions = {}): Promise<Answer> {
  const { fetch: fetchFn = globalThis.fetch, timeoutMs = 15_000, now = Date.now } = options;
  const { onOutcome = () => {}, clock = monotonicClock } = options;
  const url = withoutCredentials(request.url);
  const fail = `Cannot ${request.what}`;
  const wire = request.signal;
  if (wire?.aborted) throw wire.reason;
  // One signal cuts the exchange: the deadline's, or the wire's (the run's, shared by every
  // request in flight, so listened to through onAbort).
  const cut = new AbortController();
  const deadline = stallTolerantDeadline(timeoutMs, clock, cut);
  const offWire = wire ? onAbort(wire, () => cut.abort(wire.reason)) : () => {};
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(request.url, {
      method: request.method,
      headers: { "user-agent": USER_AGENT, ...request.headers },
      redirect: "manual",
      signal: cut.signal,
    });
    options.onHeaders?.(response.headers, response.status);
    text = await response.text();
  } catch (error) {
    if (wire?.aborted) throw wire.reason;
    if (deadline.expired) {
      onOutcome("timeout");
      throw new TimeoutError(`${fail}: no complete answer within ${timeoutMs} ms`, { url }, {
        cause: error,
      });
    }
    onOutcome("network");
    const reason = describeNetworkError(error).replaceAll(request.url, url);
    throw new NetworkError(`${fail}: ${reason}`, { url }, { cause: error });
  } finally {
    offWire();
    // Ends the deadline's timer; the exchange is over, so the abort cuts nothing.
    if (!cut.signal.aborted) cut.abort(ENDED);
  }
  const { status } = response;
  onOutcome(String(status));
  if (status >= 200 && status < 300) {
    try {
      return { status, body: JSON.parse(text) };
    } catch (error) {
      throw new InvalidAnswerError(`${fail}: the ${status} answer is not JSON`, { url, status }, {
        cause: error,
      });
    }
  }
  throw refusal(response, text, request, now);
}

/**
 * The {@linkcode HttpError} of an answer that is not a 2xx: a redirect, never followed, or a
 * refusal with the wait a 429 asks for.
 */
function refusal(
  response: Response,
  text: string,
  request: SendRequest,
  now: () => number,
): HttpError {
  const { status } = response;
  const fail = `Cannot ${request.what}`;
  const url = withoutCredentials(request.url);
  const statusLine = `${status} ${response.statusText || STATUS_CODES[status] || ""}`.trimEnd();
  if (status >= 300 && status < 400) {
    const location = response.headers.get("location");
    const where = location === null
      ? "without a location"
      : `to ${withoutCredentials(new URL(location, request.url).href)}`;
    return new HttpError(`${fail}: ${statusLine} redirects ${where}; redirects are not followed`, {
      status,
      url,
    });
  }
  const retryAfter = status === 429 ? retryAfterMs(response, parseLoose(text), now()) : undefined;
  return new HttpError(`${fail}: ${statusLine}`, { status, url, retryAfterMs: retryAfter });
}

/** Real timers on `performance.now()`, which a change of the wall clock cannot move. */
const monotonicClock: Clock = { now: () => performance.now(), sleep };

/**
 * Aborts `controller` `ms` from now, not counting the time this process was too busy to run
 * timers: a deadline timer that fires late (a long synchronous task, a garbage collection) waits
 * again for as long as it was late, at most `ms` in all, so an answer that arrived while the
 * process was busy is read, not cut and sent again. A request that truly hangs still ends within
 * twice its deadline. The timer ends when `controller` aborts for any reason.
 */
function stallTolerantDeadline(
  ms: number,
  clock: Clock,
  controller: AbortController,
): { readonly expired: boolean } {
  let due = clock.now() + ms;
  let grace = ms;
  let expired = false;
  const arm = (wait: number) => void clock.sleep(wait, controller.signal).then(check, () => {});
  function check() {
    const late = clock.now() - due;
    if (late > STALL_MS && grace > 0) {
      const wait = Math.min(late, grace);
      grace -= wait;
      due = clock.now() + wait;
      return arm(wait);
    }
    expired = true;
    controller.abort(new DOMException("Signal timed out.", "TimeoutError"));
  }
  arm(ms);
  return {
    get expired() {
      return expired;
    },
  };
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

/**
 * The URL of the platform's `path` (absolute, from `/`) under `baseUrl`: a base URL's own path is
 * a prefix (a platform behind a gateway at `https://gw.example.com/ads` is asked at
 * `https://gw.example.com/ads/api/campaigns`), its trailing slashes dropped.
 */
export function platformUrl(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, "") + path;
}

/** The URL with any user name and password removed, fit for messages and logs. */
export function withoutCredentials(href: string): string {
  try {
    const url = new URL(href);
    if (url.username === "" && url.password === "") return href;
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return "(an unparsable URL)";
  }
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What went wrong on the wire, in a few words: Deno's fetch hides it in the cause. */
function describeNetworkError(error: unknown): string {
  const text = error instanceof Error
    ? [error.message, error.cause instanceof Error ? error.cause.message : ""].join(" ")
    : String(error);
  if (/connection refused/i.test(text)) return "connection refused";
  if (/dns error|failed to lookup|name or service not known/i.test(text)) return "host not found";
  if (/connection reset/i.test(text)) return "connection reset";
  if (/certificate|tls/i.test(text)) return `TLS error (${text.trim()})`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
