/**
 * The types an account's run shares between its parts: what every account of a process shares,
 * the options of one run, the run under way and how it ended. They live apart from the runner so
 * that its parts (opening the account, the outcome of a run that could not run) import them
 * without importing the runner.
 */
import type postgres from "postgres";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { HostGates } from "../platform/host_gate.ts";
import type { RequestCount } from "../report/metrics.ts";
import type { ProgressSnapshot } from "../report/progress.ts";
import type { CampaignWriter } from "../store/campaign_writer.ts";
import type { Checkpoint } from "../store/checkpoint.ts";
import type { DatabaseGuard } from "../store/database_guard.ts";
import type { AccountLeases, HeldAccount } from "../store/lease_keeper.ts";
import type { SyncSummary } from "../run_summary.ts";

/**
 * What every account of a process shares: the settings, one database pool, one checkpoint, and
 * one gate per platform host bounding the requests in flight to it.
 */
export interface SharedResources {
  config: Readonly<Config>;
  sql: postgres.Sql;
  /** Deadlines and outage retries of every database wait. */
  guard: DatabaseGuard;
  checkpoint: Checkpoint;
  hostGates: HostGates;
  /** The group writer of every account's campaign upserts. @default none: one statement per batch */
  campaigns?: CampaignWriter;
  /**
   * The account leases in a PostgreSQL server: each run holds its account's lease and records
   * every send through it (and the server's send log). @default none: the embedded database's
   * state-dir lock already excludes other processes
   */
  leases?: AccountLeases;
  /**
   * The checkpoint is the server's (a worker's): its send log is the one the leases record
   * into, and a run always resumes, so starting a new one is no news. @default false
   */
  checkpointInServer?: boolean;
}

/** Options for one account's run (`runAccount`). */
export interface AccountRunOptions {
  /** The fetch to reach the platform with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source. @default systemClock */
  clock?: Clock;
  /** Stops starting work (first Ctrl-C, SIGTERM, `--max-duration`). @default never */
  signal?: AbortSignal;
  /** Cuts requests on the wire (grace period over, second Ctrl-C). @default signal */
  wireSignal?: AbortSignal;
  /** Called with every new token, for log redaction. @default no-op */
  onToken?: (token: string) => void;
  /**
   * The account's lease, already taken by the caller (a worker's job). @default taken here from
   * `shared.leases` when there are leases, and released at the end
   */
  lease?: HeldAccount;
  /** Told of each 429 and failed login: a worker may abort `signal` to come back later. @default no-op */
  onPlatformTrouble?: (error: unknown, during: "login" | "request") => void;
}

/** How one account's run ended: its summary and its requests by endpoint and outcome. */
export interface AccountOutcome {
  summary: SyncSummary;
  requests: RequestCount[];
}

/** One account's run under way, as the engine's: its id, where it stands, and how it ends. */
export interface AccountRun {
  /** The run new or resumed; empty when none could be chosen (its outcome says why). */
  runId: string;
  /** Where its sync stands; `undefined` until the sync has started (logging in). */
  progress(): ProgressSnapshot | undefined;
  /** Its outcome; never rejects. */
  done: Promise<AccountOutcome>;
}
