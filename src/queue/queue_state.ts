import type postgres from "postgres";
import { accountLeaseHolders } from "../store/account_lease.ts";
import { QUEUE_SCHEMA, SYNC_QUEUE } from "./queue.ts";

/** An account's place in the job queue, as `status` shows it. */
export interface QueueState {
  /** `queued`, `running`, `retrying`, `failed`, `done` or `cancelled`. */
  state: "queued" | "running" | "retrying" | "failed" | "done" | "cancelled";
  /** Who drives the account now (the holder of its lease), when running: a worker id, or `sync on …`. */
  worker: string | null;
  /** Tries spent on the current job. */
  tries: number;
  /** When a queued or retrying job comes back (handed back for later), ISO; null when due now. */
  until?: string | null;
  /** Why a `failed` job failed (its last try's error); null otherwise. */
  reason?: string | null;
}

/** The prefix of a worker's name as the holder of an account's lease; what follows is its id. */
export const WORKER_HOLDER_PREFIX = "worker ";

const STATES: Record<string, QueueState["state"]> = {
  created: "queued",
  retry: "retrying",
  active: "running",
  failed: "failed",
  completed: "done",
  cancelled: "cancelled",
};

/**
 * Each account's current job (queued, retrying or running), else its latest finished one, with
 * the worker (or sync) that holds the account's lease. Empty when no worker ever created the queue.
 */
export async function accountQueueStates(
  sql: postgres.Sql,
  accounts: readonly string[],
): Promise<Map<string, QueueState>> {
  type Row = { account: string; state: string; tries: number; until: Date | null; output: unknown };
  let rows: Row[];
  try {
    rows = await sql<Row[]>`
      select distinct on (singleton_key) singleton_key as account, state::text as state,
        retry_count as tries, case when state = 'failed' then output end as output,
        case when state < 'active' and start_after > now() then start_after end as until
      from ${sql(`${QUEUE_SCHEMA}.job`)}
      where name = ${SYNC_QUEUE} and singleton_key = any(${[...accounts]}::text[])
      order by singleton_key, (state <= 'active') desc, created_on desc`;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return new Map(); // no queue yet
    throw error;
  }
  const holders = await accountLeaseHolders(sql, accounts);
  return new Map(rows.map((row) => {
    const holder = holders.get(row.account);
    const worker = holder?.startsWith(WORKER_HOLDER_PREFIX)
      ? holder.slice(WORKER_HOLDER_PREFIX.length)
      : holder ?? null;
    const state = STATES[row.state] ?? "queued";
    const until = row.until === null ? null : new Date(row.until).toISOString();
    const running = state === "running";
    const reason = state === "failed" ? failureReason(row.output) : null;
    return [row.account, {
      state,
      worker: running ? worker : null,
      tries: row.tries,
      until,
      reason,
    }];
  }));
}

/** The account-sync queue's jobs by state: ready to run now, deferred (start later), active. */
export interface QueueJobCounts {
  ready: number;
  deferred: number;
  active: number;
  /** Accounts whose latest job failed for good: see {@linkcode failedAccountJobs}. */
  failed: number;
}

/**
 * Counts the queue's jobs now, at each call: pg-boss's `getQueueStats` serves counts its monitor
 * cached up to an hour earlier, which a scrape must not show as the present.
 */
export async function queueJobCounts(sql: postgres.Sql): Promise<QueueJobCounts> {
  const [[row], failed] = await Promise.all([
    sql<Omit<QueueJobCounts, "failed">[]>`
      select count(*) filter (where state < 'active' and start_after <= now())::int as ready,
        count(*) filter (where state < 'active' and start_after > now())::int as deferred,
        count(*) filter (where state = 'active')::int as active
      from ${sql(`${QUEUE_SCHEMA}.job`)}
      where name = ${SYNC_QUEUE} and state <= 'active'`,
    failedAccountJobs(sql),
  ]);
  return { ready: 0, deferred: 0, active: 0, ...row, failed };
}

/**
 * Accounts whose latest job has failed for good (its tries spent, not queued again since): what
 * `adsync_queue_jobs{state="failed"}` counts. 0 when no worker ever made the queue.
 */
export async function failedAccountJobs(sql: postgres.Sql): Promise<number> {
  try {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from (
        select distinct on (singleton_key) state from ${sql(`${QUEUE_SCHEMA}.job`)}
        where name = ${SYNC_QUEUE} order by singleton_key, created_on desc
      ) latest where state = 'failed'`;
    return row?.n ?? 0;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return 0; // no queue yet
    throw error;
  }
}

/** A failed job's reason from its output: ours (`error`, `handedBack`) or pg-boss's own. */
function failureReason(output: unknown): string {
  const value = output as
    | { error?: unknown; handedBack?: unknown; value?: { message?: unknown }; message?: unknown }
    | null;
  const reason = value?.error ?? value?.handedBack ?? value?.value?.message ?? value?.message;
  return typeof reason === "string" && reason ? reason : "no reason recorded";
}

/**
 * One cell of `status`'s QUEUE column: `running on w1`, `retrying`, `queued`, `deferred until
 * 12:34:56Z` (a job handed back for later; the date too when it is not within a day of `now`)…
 */
export function formatQueueState(state: QueueState | undefined, now = Date.now()): string {
  if (!state) return "";
  if (state.until) {
    const iso = new Date(state.until).toISOString().slice(0, 19);
    const soon = Date.parse(state.until) - now < 86_400_000;
    return `deferred until ${soon ? iso.slice(11) : iso.replace("T", " ")}Z`;
  }
  if (state.state === "running") return `running on ${state.worker ?? "? (worker silent)"}`;
  if (state.state === "failed") return `failed: ${state.reason ?? "no reason recorded"}`;
  return state.state;
}
