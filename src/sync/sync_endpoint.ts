import type postgres from "postgres";
import type { Config } from "../config.ts";
import { type HttpEndpoint, startHttpEndpoint } from "../report/http_endpoint.ts";
import { createLiveRegistry, type LiveAccount, liveFromProgress } from "../report/live_metrics.ts";
import type { AccountOutcome } from "../run_summary.ts";
import { pingDatabase } from "../store/database_ping.ts";

/** What the sync's endpoint reads. */
export interface SyncEndpointOptions {
  /** Every account of the run, as the command follows it. */
  accounts: () => Iterable<LiveAccount>;
  /** The accounts whose run has ended so far. */
  finished: () => readonly AccountOutcome[];
  /** The run's database pool, pinged by `/readyz`. */
  sql: postgres.Sql;
  /** The database in messages, without a password. */
  label: string;
}

/**
 * Serves a sync's `/metrics` (its accounts in progress and the runs ended so far), `/healthz`
 * and `/readyz` (ready while the database answers) on `config.httpHost:config.httpPort`;
 * `undefined` when no port is set.
 */
export function startSyncEndpoint(
  config: Readonly<Config>,
  options: SyncEndpointOptions,
): HttpEndpoint | undefined {
  if (config.httpPort === undefined) return undefined;
  const { sql, label } = options;
  return startHttpEndpoint({
    port: config.httpPort,
    hostname: config.httpHost,
    metrics: createLiveRegistry({
      runs: options.finished,
      live: () => liveFromProgress(options.accounts()),
    }),
    ready: async () => await pingDatabase(sql) ? undefined : `${label} does not answer`,
  });
}
