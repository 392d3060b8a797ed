/**
 * How much a worker takes on: the accounts it runs at once (derived from its accounts and the
 * machine's memory unless `SYNC_WORKER_ACCOUNTS` says) and the PostgreSQL connections it may
 * hold whatever that number (its pool plus the job queue's).
 */

/** The most PostgreSQL connections one worker holds: its pool and the job queue's together. */
export const WORKER_CONNECTIONS = 20;
/** Connections of the job queue's own pool (pg-boss: fetches, heartbeats, settling, upkeep). */
export const QUEUE_POOL_SIZE = 4;
/**
 * Peak resident memory one account in progress costs, in bytes: 0.9 MB measured at the real pace
 * (1,000 accounts in one process), 1.1 to 1.2 MB at 4x the pace; the larger is taken.
 */
export const BYTES_PER_ACCOUNT = 1.2 * 1024 * 1024;
/** Share of the memory available at start that the accounts may take by default. */
const MEMORY_SHARE = 0.5;

/** What the default number of accounts at once is derived from. */
export interface WorkerCapacityInput {
  /** The accounts the worker has credentials for (its accounts file's enabled ones). */
  accounts: number;
  /** Memory available on the machine at start, in bytes (`Deno.systemMemoryInfo().available`). */
  availableBytes: number;
}

/**
 * Accounts one worker runs at once when `SYNC_WORKER_ACCOUNTS` is unset: every account it has
 * credentials for (a job of an account it lacks is never run anyway), no more than half the
 * memory available at start allows at {@linkcode BYTES_PER_ACCOUNT} each, and at most 10,000
 * (the setting's bound); at least one. No fixed ceiling: its database work is grouped per
 * process, so it does not grow with the accounts.
 */
export function defaultWorkerAccounts(input: WorkerCapacityInput): number {
  const byMemory = Math.floor((input.availableBytes * MEMORY_SHARE) / BYTES_PER_ACCOUNT);
  return Math.max(1, Math.min(input.accounts, MAX_WORKER_ACCOUNTS, byMemory));
}

/** The most accounts one worker runs at once, as `SYNC_WORKER_ACCOUNTS` allows. */
const MAX_WORKER_ACCOUNTS = 10_000;

/**
 * The worker's database pool for `accounts` at once: 4 connections up to 40 accounts, one more
 * per 10 beyond, leaving the queue's pool room under {@linkcode WORKER_CONNECTIONS} (16 at most).
 * Leases and send records are single statements on it, so it does not grow with the accounts.
 */
export function workerPoolSize(accounts: number): number {
  return Math.min(WORKER_CONNECTIONS - QUEUE_POOL_SIZE, Math.max(4, Math.ceil(accounts / 10)));
}

/** Fetches a second an idle worker's places make at most, all together. */
export const IDLE_FETCHES_PER_SECOND = 50;

/**
 * How often each of a worker's `places` asks the queue for a job while it has none: every
 * `pollMs`, or less often when there are so many places that together they would ask more than
 * {@linkcode IDLE_FETCHES_PER_SECOND} times a second (each place polls on its own: 500 idle places
 * at 2 s made 255 transactions a second). A busy place asks again as soon as its job ends.
 */
export function pollIntervalMs(places: number, pollMs: number): number {
  return Math.max(pollMs, Math.ceil((places * 1_000) / IDLE_FETCHES_PER_SECOND));
}

/** The job-queue loops one worker runs at most; see {@linkcode fetchPlan}. */
export const MAX_FETCHERS = 250;

/**
 * How a worker's `places` take jobs: `fetchers` loops of pg-boss, each fetching up to `batchSize`
 * jobs in one statement and heartbeating them in one (a place whose run ends meanwhile takes the
 * next job itself: see refill.ts). One job a loop up to {@linkcode MAX_FETCHERS} places; beyond,
 * as many a loop as keeps that many loops: with a loop a place, thousands of places each fetch one
 * job at a start, queued on the job queue's few connections (a fetch that waits past pg-boss's 10 s
 * fails, and its loop sleeps a poll interval), and each job's heartbeat is a statement of its own
 * every few seconds. Never more places than `places`.
 */
export function fetchPlan(places: number): { fetchers: number; batchSize: number } {
  const batchSize = Math.ceil(places / MAX_FETCHERS);
  return { fetchers: Math.max(1, Math.floor(places / batchSize)), batchSize };
}
