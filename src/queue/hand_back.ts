/**
 * Settling a held account-sync job in ONE statement on pg-boss's job table: a hand-back (the try
 * not spent) and a completion. pg-boss's own `fail()` then `update()` are two statements, and a
 * claim between them (pg-boss's update touches only jobs not yet active) silently lost the raised
 * retry limit and start-after: the next hand-back then exhausted the job's tries.
 */
import type postgres from "postgres";
import { QUEUE_SCHEMA, SYNC_QUEUE } from "./queue.ts";

/** The job a worker holds, as pg-boss fetched it with its metadata. */
export interface HeldJob {
  id: string;
  retryCount: number;
  retryLimit: number;
}

/** Options of {@linkcode handBack} and {@linkcode completeJob}. */
export interface SettleOptions {
  /**
   * Also settle the job when this worker's claim is gone but nobody else runs it (queued or
   * retrying again): for a run that outlived its claim (a heartbeat the database could not see
   * during an outage) while it still held the account's lease. @default false
   */
  adopt?: boolean;
}

/** Options of {@linkcode handBack}. */
export interface HandBackOptions extends SettleOptions {
  /** The job is due this long after the database's `now()`, in ms. @default 0 */
  delayMs?: number;
  /**
   * The job is due at this instant of the database's clock (such as when a lease lapses), or at
   * once if it is past; overrides `delayMs`. @default none
   */
  until?: Date;
}

/**
 * What a settle did: `settled`; `busy` when the job is still unsettled but not as this worker
 * holds it (another worker claimed it, or pg-boss was moving it at that instant); `gone` when it
 * is settled already, cancelled or deleted.
 */
export type SettleResult = "settled" | "busy" | "gone";

const JOB_TABLE = `${QUEUE_SCHEMA}.job`;

/**
 * Gives a job back to the queue without spending one of its tries, in one statement: state
 * `retry`, due after `delayMs` or at `until` (the database's clock), its retry limit raised by
 * the try its claim counted, `output` `{ handedBack: reason }`. Fenced by the claim (id, state
 * `active`, retry count): a job another worker took over is left alone (unless `adopt`).
 */
export async function handBack(
  sql: postgres.Sql,
  job: HeldJob,
  reason: string,
  options: HandBackOptions = {},
): Promise<SettleResult> {
  const { delayMs = 0, until, adopt = false } = options;
  const startAfter = until
    ? sql`greatest(now(), ${until.toISOString()}::timestamptz)`
    : sql`now() + ${delayMs}::double precision * interval '1 millisecond'`;
  return await settle(
    sql,
    job,
    adopt,
    sql`state = 'retry', start_after = ${startAfter}, retry_limit = j.retry_limit + 1,
      heartbeat_on = null, output = ${sql.json({ handedBack: reason })}`,
  );
}

/** Completes the job with `output`, fenced as {@linkcode handBack} is. */
export async function completeJob(
  sql: postgres.Sql,
  job: HeldJob,
  output: Record<string, unknown>,
  options: SettleOptions = {},
): Promise<SettleResult> {
  return await settle(
    sql,
    job,
    options.adopt ?? false,
    sql`state = 'completed', completed_on = now(), heartbeat_on = null,
      output = ${sql.json(output as postgres.JSONValue)}`,
  );
}

async function settle(
  sql: postgres.Sql,
  job: HeldJob,
  adopt: boolean,
  set: postgres.PendingQuery<postgres.Row[]>,
): Promise<SettleResult> {
  const [row] = await sql<{ settled: boolean; state: string | null }[]>`
    with target as (
      select state from ${sql(JOB_TABLE)} where name = ${SYNC_QUEUE} and id = ${job.id}
    ), settled as (
      update ${sql(JOB_TABLE)} j set ${set}
      where j.name = ${SYNC_QUEUE} and j.id = ${job.id}
        and ((j.state = 'active' and j.retry_count = ${job.retryCount})
          or (${adopt} and j.state < 'active'))
      returning 1
    )
    select exists(select 1 from settled) as settled, (select state::text from target) as state`;
  if (row?.settled) return "settled";
  return row?.state === "created" || row?.state === "retry" || row?.state === "active"
    ? "busy"
    : "gone";
}
