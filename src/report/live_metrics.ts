import { Gauge, Registry } from "prom-client";
import type { AccountOutcome } from "../run_summary.ts";
import { createRunMetrics, createRunTotals, METRIC_PREFIX } from "./metrics.ts";
import type { ProgressSnapshot } from "./progress.ts";

/** What a long-running process is doing right now. */
export interface LiveMetrics {
  /** Accounts whose run has started and not ended. */
  accountsInProgress: number;
  /** Requests on the wire, all accounts together. */
  requestsInFlight: number;
  /** Time the accounts in progress have waited on their rate limiters so far. */
  rateLimitWaitMs: number;
  /** Jobs of the account-sync queue by state; workers only, and only when the queue answered. */
  queue?: { ready: number; deferred: number; active: number; failed: number };
}

/** One account as the live metrics see it. */
export interface LiveAccount {
  /** True from the start of its run to its end. */
  running: boolean;
  /** Reads its sync's state; `undefined` until the sync has started (logging in). */
  snapshot?: () => ProgressSnapshot | undefined;
}

/** Options of {@linkcode createLiveRegistry}. */
export interface LiveRegistryOptions {
  /** Labels put first on every series, such as the worker's name. @default {} */
  labels?: Readonly<Record<string, string>>;
  /** Each account's last finished run, read at every scrape. */
  runs: () => readonly AccountOutcome[];
  /**
   * Each account's runs since the process started, added up (`addRuns`), read at every scrape
   * for the `_total` counters. @default `runs`: one run per account, as a sync has
   */
  totals?: () => readonly AccountOutcome[];
  /** The live numbers, read at every scrape. */
  live: () => LiveMetrics | Promise<LiveMetrics>;
  /** Whether to show the queue's jobs (a worker's endpoint). @default false */
  queue?: boolean;
}

/** Adds up the accounts in progress: how many, their requests in flight, their rate-limit wait. */
export function liveFromProgress(
  accounts: Iterable<LiveAccount>,
): Omit<LiveMetrics, "queue"> {
  const live = { accountsInProgress: 0, requestsInFlight: 0, rateLimitWaitMs: 0 };
  for (const { running, snapshot } of accounts) {
    if (!running) continue;
    const now = snapshot?.();
    live.accountsInProgress++;
    live.requestsInFlight += now?.inFlight ?? 0;
    live.rateLimitWaitMs += now?.rateWaitMs ?? 0;
  }
  return live;
}

/**
 * A registry of the live gauges and of each account's last run, and the function that reads
 * them into Prometheus text at each scrape.
 */
export function createLiveRegistry(options: LiveRegistryOptions): () => Promise<string> {
  const constant = options.labels ?? {};
  const registry = new Registry();
  const gauge = (name: string, help: string, extraLabels: string[] = []) =>
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: [...Object.keys(constant), ...extraLabels],
      registers: [registry],
    });
  const accounts = gauge("accounts_in_progress", "Accounts whose run has started and not ended.");
  const inFlight = gauge("requests_in_flight", "Requests to the platform on the wire now.");
  const waited = gauge(
    "rate_limit_wait_seconds",
    "Time the accounts in progress have waited on their rate limiters so far.",
  );
  const queue = options.queue
    ? gauge(
      "queue_jobs",
      "Account-sync jobs in the queue by state: ready to run, deferred (start later), active, " +
        "failed (accounts whose latest job spent its tries; `adsync enqueue` queues them again).",
      ["state"],
    )
    : undefined;
  // After the live gauges, so that a scrape reads what happens now first.
  const runs = createRunMetrics(registry, { labels: constant });
  const totals = createRunTotals(registry, { labels: constant });
  return async () => {
    const live = await options.live();
    runs.update(options.runs());
    totals.update((options.totals ?? options.runs)());
    accounts.set(constant, live.accountsInProgress);
    inFlight.set(constant, live.requestsInFlight);
    waited.set(constant, live.rateLimitWaitMs / 1_000);
    queue?.reset();
    for (const [state, count] of Object.entries(live.queue ?? {})) {
      queue?.set({ ...constant, state }, count);
    }
    return await registry.metrics();
  };
}
