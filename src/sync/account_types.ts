/**
 * The types an account's run shares between its parts and its callers: what every account of a
 * process shares, the one context every run is given, what one run adds to it, the run under way
 * and how it ended. They live apart from the runner so that its parts (opening the account, the
 * outcome of a run that could not run) and its callers import them without importing the runner.
 */
import type postgres from "postgres";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { HostGates } from "../platform/host_gate.ts";
import type { ProgressSnapshot } from "../report/progress.ts";
import type { CampaignWriter } from "../store/campaign_writer.ts";
import type { Checkpoint } from "../store/checkpoint.ts";
import type { RunHistoryWriter } from "../store/run_history_writer.ts";
import type { DatabaseGuard } from "../store/database_guard.ts";
import type { LeaseHolder } from "../store/account_lease.ts";
import type { AccountLeases, HeldAccount } from "../store/lease_keeper.ts";
import type { AccountOutcome, SyncSummary } from "../run_summary.ts";

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
  /** The group writer of every account's runs in `sync_runs`: starts and ends. */
  runs: RunHistoryWriter;
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

/** What a command's caller gives every run of the process: its I/O, clock, stops and hooks. */
export interface RunEnvironment {
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
}

/** The one context every account's run is given: what the process shares and its environment. */
export interface RunContext extends SharedResources, RunEnvironment {}

/** Why the runner did not get an account's lease: another holds it, or the server did not answer. */
export type LeaseRefusal = { holder: LeaseHolder } | { error: unknown };

/** What one account's run adds to its {@linkcode RunContext} (`runAccount`). */
export interface AccountRunOptions {
  /** Also stops this run (a worker's: the platform wants the account left alone). @default never */
  signal?: AbortSignal;
  /** Told of each 429 and failed login: a worker may abort `signal` to come back later. @default no-op */
  onPlatformTrouble?: (error: unknown, during: "login" | "request") => void;
  /**
   * What a lease another holds (or a server that cannot say) means: `fail` ends the run failed
   * and logged, as a sync does; `defer` leaves it to the caller (a worker's job comes back
   * later), unlogged, in the run's `refused`. @default "fail"
   */
  onRefused?: "fail" | "defer";
  /** Called once the lease is held, before the run is chosen. @default no-op */
  onHeld?: (lease: HeldAccount | undefined) => void;
  /**
   * Called once the run has ended, its lease still held: what must happen before another
   * process may drive the account (a worker settles its job). @default no-op
   */
  whileHeld?: (
    outcome: AccountOutcome<SyncSummary>,
    lease: HeldAccount | undefined,
  ) => Promise<void>;
}

/** One account's run under way, as the engine's: its id, where it stands, and how it ends. */
export interface AccountRun {
  /** The run new or resumed; empty when none could be chosen (its outcome says why). */
  runId: string;
  /** Where its sync stands; `undefined` until the sync has started (logging in). */
  progress(): ProgressSnapshot | undefined;
  /** Its outcome; rejects only if `whileHeld` does. */
  done: Promise<AccountOutcome<SyncSummary>>;
  /** Set when the account's lease was not had: the run never started. */
  refused?: LeaseRefusal;
}
