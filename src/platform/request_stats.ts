/** Which platform endpoint a request went to. */
export type Endpoint = "token" | "list" | "sync";

/** Counts of what the platform client did, for the summary, progress and metrics. */
export interface RequestStats {
  /** Requests sent to rate-limited endpoints. */
  requests: number;
  /** 429 answers received. */
  rateLimited: number;
  /** Attempts repeated after a 5xx, a timeout or a network error. */
  retries: number;
  /** Requests that got no answer before their deadline. */
  timeouts: number;
  /** Requests now on the wire. */
  inFlight: number;
  /** Outcomes by endpoint and status (`"200"`, `"503"`, `"timeout"`, `"network"`). */
  outcomes: Map<string, number>;
}

/** Creates zeroed stats. */
export function createRequestStats(): RequestStats {
  return { requests: 0, rateLimited: 0, retries: 0, timeouts: 0, inFlight: 0, outcomes: new Map() };
}

/** Counts one outcome of a request to `endpoint`. */
export function countOutcome(stats: RequestStats, endpoint: Endpoint, status: string): void {
  const key = `${endpoint} ${status}`;
  stats.outcomes.set(key, (stats.outcomes.get(key) ?? 0) + 1);
}

/** The outcomes as rows, for metrics. */
export function outcomeRows(
  stats: RequestStats,
): Array<{ endpoint: Endpoint; status: string; count: number }> {
  return [...stats.outcomes].map(([key, count]) => {
    const [endpoint, status] = key.split(" ") as [Endpoint, string];
    return { endpoint, status, count };
  });
}
