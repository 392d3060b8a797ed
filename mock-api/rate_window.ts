import type { RateLimit } from "../src/duration.ts";

/** Options of {@linkcode createRateWindow}. */
export interface RateWindowOptions {
  /** How long a client stays refused after a refused request. @default 0 */
  penaltyMs?: number;
}

/** The platform's per-client sliding-window log. */
export interface RateWindow {
  /**
   * Records a request from `client` at `now` if the window has room and returns 0;
   * otherwise records nothing and returns the wait in ms until a request would be accepted.
   */
  admit(client: string, now: number): number;
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
  const { penaltyMs = 0 } = options;
  const clients = new Map<string, ClientState>();

  return {
    admit(client, now) {
      let state = clients.get(client);
      if (!state) {
        state = { accepted: [], blockedUntil: 0 };
        clients.set(client, state);
      }
      const { accepted } = state;
      // An accepted request leaves the window exactly `windowMs` after it was accepted.
      while (accepted.length > 0 && accepted[0]! + limit.windowMs <= now) accepted.shift();
      const full = accepted.length >= limit.count;
      if (!full && now >= state.blockedUntil) {
        accepted.push(now);
        return 0;
      }
      if (penaltyMs > 0) state.blockedUntil = Math.max(state.blockedUntil, now + penaltyMs);
      const windowWait = full ? accepted[0]! + limit.windowMs - now : 0;
      return Math.max(windowWait, state.blockedUntil - now);
    },
  };
}
