import type { RateLimit } from "../src/duration.ts";

/** Options of {@linkcode createRateWindow}. */
export interface RateWindowOptions {
  /** How long a client stays refused after a refused request. @default 0 */
  penaltyMs?: number;
  /** Clients with a limit of their own instead of the shared one. @default {} */
  limits?: Readonly<Record<string, RateLimit>>;
}

/** A client's window as its answers may advertise it. */
export interface WindowState {
  /** The client's limit. */
  limit: RateLimit;
  /** Requests it may still send now. */
  remaining: number;
  /** Milliseconds until a request leaves the window (or the penalty ends); 0 when none is in it. */
  resetMs: number;
}

/** The platform's per-client sliding-window log. */
export interface RateWindow {
  /**
   * Records a request from `client` at `now` if the window has room and returns 0;
   * otherwise records nothing and returns the wait in ms until a request would be accepted.
   */
  admit(client: string, now: number): number;
  /** The client's window at `now`, for answers that advertise it; records nothing. */
  peek(client: string, now: number): WindowState;
}

interface ClientState {
  /** Accept times still inside the window, oldest first. */
  accepted: number[];
  /** Refused until this time (the penalty); 0 when not penalised. */
  blockedUntil: number;
}

/**
 * Creates the mock's own sliding-window log: a request is refused while `count` accepted
 * requests lie in the last `windowMs`, and refused requests do not count.
 */
export function createRateWindow(limit: RateLimit, options: RateWindowOptions = {}): RateWindow {
  const { penaltyMs = 0, limits = {} } = options;
  const clients = new Map<string, ClientState>();
  const limitOf = (client: string) => Object.hasOwn(limits, client) ? limits[client]! : limit;

  /** The client's state, its accepted requests that left the window dropped. */
  function stateAt(client: string, now: number): { state: ClientState; limit: RateLimit } {
    let state = clients.get(client);
    if (!state) {
      state = { accepted: [], blockedUntil: 0 };
      clients.set(client, state);
    }
    const limit = limitOf(client);
    // An accepted request leaves the window exactly `windowMs` after it was accepted.
    while (state.accepted.length > 0 && state.accepted[0]! + limit.windowMs <= now) {
      state.accepted.shift();
    }
    return { state, limit };
  }

  return {
    admit(client, now) {
      const { state, limit } = stateAt(client, now);
      const { accepted } = state;
      const full = accepted.length >= limit.count;
      if (!full && now >= state.blockedUntil) {
        accepted.push(now);
        return 0;
      }
      if (penaltyMs > 0) state.blockedUntil = Math.max(state.blockedUntil, now + penaltyMs);
      const windowWait = full ? accepted[0]! + limit.windowMs - now : 0;
      return Math.max(windowWait, state.blockedUntil - now);
    },
    peek(client, now) {
      const { state: { accepted, blockedUntil }, limit } = stateAt(client, now);
      const blocked = blockedUntil > now;
      const oldest = accepted[0];
      const windowWait = oldest === undefined ? 0 : oldest + limit.windowMs - now;
      return {
        limit,
        remaining: blocked ? 0 : limit.count - accepted.length,
        resetMs: Math.max(windowWait, blocked ? blockedUntil - now : 0),
      };
    },
  };
}
