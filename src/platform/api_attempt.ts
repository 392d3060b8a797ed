import type { Clock } from "../clock.ts";
import { errorMessage, NetworkError } from "../errors.ts";
import type { Departure } from "./rate_limiter.ts";
import { type Account, countOutcome } from "./account.ts";
import { type Answer, send, withoutCredentials } from "./send.ts";

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

/** The rate-limited endpoints a sync calls. */
export type ApiEndpoint = "list" | "sync";

/** One call to the platform's API, as its attempts share it. */
export interface ApiRequest {
  endpoint: ApiEndpoint;
  /** Absolute URL. */
  url: string;
  method: string;
  /** What the request does, for messages: "fetch page 3" gives "Cannot fetch page 3: …". */
  what: string;
  signals: CallSignals;
  /**
   * The place in the account's window its first attempt leaves on, taken before the request was
   * built; that attempt uses it up, and every later one takes its own.
   */
  turn?: Departure;
  /**
   * The token the latest attempt carried, the one to forget if the platform refuses it; unset
   * until the attempt leaves, so a failure before (a login's) is told from the platform's answer.
   */
  token?: string;
}

/** How one attempt is sent. */
export interface AttemptSettings {
  /** The fetch to send with; undefined for globalThis.fetch. */
  fetch: typeof fetch | undefined;
  /** Time source of the send stamps and round trips. */
  clock: Clock;
  /** Deadline of the attempt, headers and body, in ms, asked as it leaves. */
  deadlineMs: () => number;
}

/**
 * Sends `request` once, in its turn (a live token, a slot of the limiter, room at the host), and
 * counts it in the account's stats. Returns a 2xx's answer; throws what {@linkcode send} throws, or why it never left.
 */
export async function sendAttempt(
  account: Account,
  request: ApiRequest,
  settings: AttemptSettings,
): Promise<Answer> {
  request.token = undefined;
  const { token, leave, answered } = await clearToSend(account, request);
  request.token = token;
  const { stats, hostGate, limits } = account;
  const { clock } = settings;
  const { endpoint, url, method, what } = request;
  stats.requests++;
  stats.inFlight++;
  try {
    const sentAt = clock.now();
    const settle = limits.sent(sentAt);
    const headers = { authorization: `Bearer ${token}`, "x-client-id": account.clientId };
    return await send({ url, method, headers, what, signal: request.signals.wireSignal }, {
      fetch: settings.fetch,
      timeoutMs: settings.deadlineMs(),
      now: clock.now,
      onHeaders: (answer, status) => {
        // Answered: the platform counted it by now, and no sooner than the quickest answer of
        // its kind allows (a refusal is quicker than a sync). A page is answered at once, so its
        // round trip also bounds how late the host's other requests arrive.
        const at = clock.now();
        answered(at, hostGate.arrivalDelay.excessMs(`${endpoint} ${status}`, at - sentAt));
        if (endpoint === "list") hostGate.arrivalDelay.observe(sentAt, at);
        limits.observe(answer);
        settle(status);
      },
      onOutcome: (outcome) => countOutcome(stats, endpoint, outcome),
    });
  } finally {
    stats.inFlight--;
    leave();
  }
}

/**
 * Waits until the request may leave: a live token, a slot of the account's limiter, then room
 * at the host; stamps its send time. Returns the token, what tells the limiter the platform
 * answered (see {@linkcode Departure.answered}), and what gives the room at the host back.
 */
async function clearToSend(
  account: Account,
  request: ApiRequest,
): Promise<{ token: string; answered: Departure["answered"]; leave: () => void }> {
  const { tokens, hostGate } = account;
  const { signal } = request.signals;
  const listing = request.endpoint === "list";
  let departure = request.turn;
  request.turn = undefined;
  if (departure === undefined) {
    await tokens.get(signal); // log in before taking a slot: logins are not rate limited
    departure = await account.limiter.acquire(signal);
  }
  let token: string;
  let leave: () => void;
  try {
    // The token may have aged past its margin while we waited for the slot.
    token = await tokens.get(signal);
    // Room at the host last: a login needs room too, and must not wait behind us. A list
    // request goes ahead of queued syncs: the account's syncs cannot start before its listing.
    leave = await hostGate.enter(signal, listing ? "ahead" : "behind");
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
      `Cannot ${request.what}: cannot record its send time (${errorMessage(error)})`,
      { url: withoutCredentials(request.url) },
      { cause: error },
    );
  }
  return { token, leave, answered: departure.answered };
}
