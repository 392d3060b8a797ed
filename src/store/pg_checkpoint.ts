import type postgres from "postgres";
import { type Clock, systemClock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { CheckpointError } from "./checkpoint.ts";
import { type CheckpointMark, writeMarks } from "./checkpoint_marks.ts";
import type { DatabaseGuard } from "./database_guard.ts";
import { createGroupCommit, type GroupCommitOptions, type GroupSettings } from "./group_commit.ts";
import {
  type Checkpoint,
  type DoneOutcome,
  runFromRow,
  type SavedPage,
} from "./checkpoint_types.ts";

/** Options for {@linkcode openPgCheckpoint}. */
export interface PgCheckpointOptions {
  /** Clock for `updatedAt`, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Send times older than this (relative to the newest send) are pruned. @default 86_400_000 */
  sendRetentionMs?: number;
  /** Where the checkpoint lives, for messages (never the URL: it may hold a password). @default "PostgreSQL" */
  where?: string;
  /**
   * Deadlines and outage retries of every statement (each one is idempotent), so that a run
   * rides out a database restart. @default none: one attempt, no deadline
   */
  guard?: DatabaseGuard;
  /** Timer source of the marks' grouping. @default systemClock */
  clock?: Clock;
  /** How the marks of every run are grouped. @default {@linkcode MARK_GROUPS} */
  groups?: GroupCommitOptions;
}

/**
 * The grouping of the marks (`recordSynced`, `markDone`) of every run of a process. No request
 * waits for them (a campaign's mark follows its sync's answer or its row's commit), but a sync's
 * slot in its account's pool is held until its mark is written, so a group gathers for at most
 * 50 ms, aiming at 16 marks (a worker of 1,000 accounts at the real pace marks about 300 a
 * second: 16 gather in 50 ms).
 */
export const MARK_GROUPS: GroupSettings = Object.freeze({
  targetRows: 16,
  maxWaitMs: 50,
  maxRows: 1_000,
});

/** One attempt, no deadline: for `status` and tests. */
const UNGUARDED: Pick<DatabaseGuard, "retrying"> = { retrying: (_action, op) => op() };

/** recordSend prunes old send times once every this many inserts, to keep it one INSERT. */
const PRUNE_EVERY = 100;

/**
 * The checkpoint in PostgreSQL (the `checkpoint_*` tables of migrations 3 and 6, which the
 * caller has applied), so that a run, its pages and its account's send log outlive the process and the
 * machine: another worker resumes exactly where a dead one stopped. Each call's writes are one
 * statement (data-modifying CTEs), never `sql.begin`: postgres.js crashes the process when a
 * transaction's connection drops under it (its own rollback writes to a closed socket; see
 * porsager/postgres#1208). Nothing is kept in memory. `close()` leaves `sql` open.
 */
export function openPgCheckpoint(sql: postgres.Sql, options: PgCheckpointOptions = {}): Checkpoint {
  const { now = Date.now, sendRetentionMs = 86_400_000, where = "PostgreSQL" } = options;
  const guard = options.guard ?? UNGUARDED;
  let sendsSincePrune = 0;
  const marks = createGroupCommit<CheckpointMark, boolean>(
    (group) =>
      guard.retrying(`record ${group.length} campaign marks in checkpoint`, async () => {
        const found = await writeMarks(sql, group, now());
        return group.map((mark) => found.has(mark.runId));
      }),
    { ...MARK_GROUPS, ...options.groups, clock: options.clock ?? systemClock },
  );

  /** Writes one call's marks with other runs' in one statement; an unknown run fails. */
  async function writeMark(action: string, mark: CheckpointMark): Promise<void> {
    let found: boolean;
    try {
      found = await marks.submit(mark);
    } catch (error) {
      const message = options.guard
        ? errorMessage(error)
        : `Cannot ${action} in checkpoint ${where}: ${errorMessage(error)}`;
      throw new CheckpointError(message, { cause: error });
    }
    if (!found) {
      throw new CheckpointError(
        `Cannot ${action} in checkpoint ${where}: unknown run ${mark.runId}`,
      );
    }
  }

  /** Runs one idempotent write statement through the guard; failures reject with a CheckpointError. */
  async function guardedWrite(action: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await guard.retrying(`${action} in checkpoint`, fn);
    } catch (error) {
      const message = options.guard
        ? errorMessage(error)
        : `Cannot ${action} in checkpoint ${where}: ${errorMessage(error)}`;
      throw new CheckpointError(message, { cause: error });
    }
  }

  /** The statement that bumps a run's `updated_at` after the CTEs `before`; an unknown run fails. */
  async function touchAfter(runId: string, before: postgres.PendingQuery<postgres.Row[]>) {
    const rows = await sql`
      with ${before}
      update checkpoint_runs set updated_at = ${now()} where run_id = ${runId} returning 1`;
    if (rows.count === 0) throw new Error(`unknown run ${runId}`);
  }

  const prune = (account: string, before: number) =>
    guardedWrite(
      "prune old requests",
      () => sql`delete from checkpoint_sends where account = ${account} and at < ${before}`,
    );

  async function read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await guard.retrying(`read ${what} from checkpoint`, fn);
    } catch (error) {
      throw new CheckpointError(
        `Cannot read ${what} from checkpoint ${where}: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Bumps a run's `updated_at`, setting `set` with it; an unknown run fails. */
  async function touch(tx: postgres.Sql, runId: string, set = {}) {
    const rows = await tx`
      update checkpoint_runs set ${tx({ ...set, updated_at: now() })}
      where run_id = ${runId} returning 1
    `;
    if (rows.count === 0) throw new Error(`unknown run ${runId}`);
  }

  return {
    where,
    createRun({ runId, account, apiUrl, pageSize, startedAt }) {
      return guardedWrite(`create run ${runId}`, () =>
        sql`
          insert into checkpoint_runs
            (run_id, account, api_url, page_size, started_at, updated_at, status)
          values (${runId}, ${account}, ${apiUrl}, ${pageSize}, ${startedAt}, ${now()}, 'running')
        `);
    },
    latestUnfinished: (account) =>
      read("runs", async () => {
        const rows = await sql`
          select * from (
            select * from checkpoint_runs where account = ${account}
            order by started_at desc, seq desc limit 1
          ) latest where status <> 'ok'
        `;
        return rows[0] === undefined ? undefined : runFromRow(rows[0]);
      }),
    latestRuns: (limit) =>
      read("runs", async () => {
        const rows = await sql`
          select * from checkpoint_runs order by started_at desc, seq desc limit ${limit}
        `;
        return rows.map((row) => runFromRow(row));
      }),
    getRun: (runId) =>
      read(`run ${runId}`, async () => {
        const rows = await sql`select * from checkpoint_runs where run_id = ${runId}`;
        return rows[0] === undefined ? undefined : runFromRow(rows[0]);
      }),
    setPageLimit(runId, limit) {
      return guardedWrite(
        `set the page size of run ${runId}`,
        () => touch(sql, runId, { page_limit: limit }),
      );
    },
    setTotals(runId, total, pagesTotal) {
      return guardedWrite(
        `set totals of run ${runId}`,
        () => touch(sql, runId, { total, pages_total: pagesTotal }),
      );
    },
    savePage(runId, page) {
      const row = {
        run_id: runId,
        page: page.page,
        records: JSON.stringify(page.records),
        total: page.total,
        has_more: page.hasMore,
      };
      return guardedWrite(`save page ${page.page} of run ${runId}`, () =>
        touchAfter(
          runId,
          sql`saved as (
            insert into checkpoint_pages ${sql(row)}
            on conflict (run_id, page) do update set records = excluded.records,
              total = excluded.total, has_more = excluded.has_more
            returning 1
          )`,
        ));
    },
    pages: (runId) =>
      read(`the pages of run ${runId}`, async () => {
        const rows = await sql`
          select page, records, total, has_more from checkpoint_pages
          where run_id = ${runId} order by page
        `;
        return rows.map((row): SavedPage => ({
          page: Number(row.page),
          records: JSON.parse(String(row.records)) as unknown[],
          total: Number(row.total),
          hasMore: row.has_more === true,
        }));
      }),
    markDone(runId, ids, outcome, changes) {
      const action = `mark ${ids.length} campaigns ${outcome} in run ${runId}`;
      if (ids.length === 0) return guardedWrite(action, () => touch(sql, runId));
      return writeMark(action, { kind: "done", runId, ids, outcome, changes });
    },
    done: (runId) =>
      read(`the finished campaigns of run ${runId}`, async () => {
        const rows = await sql`
          select campaign_id, outcome from checkpoint_done where run_id = ${runId}
        `;
        return new Map(rows.map((row) => [String(row.campaign_id), row.outcome as DoneOutcome]));
      }),
    recordSynced(runId, id, syncedAt) {
      const action = `record campaign ${id} synced in run ${runId}`;
      return writeMark(action, { kind: "synced", runId, id, syncedAt });
    },
    syncedPending: (runId) =>
      read(`the synced campaigns of run ${runId}`, async () => {
        const rows = await sql`
          select s.campaign_id, s.synced_at from checkpoint_synced s
          where s.run_id = ${runId} and not exists (
            select 1 from checkpoint_done d
            where d.run_id = s.run_id and d.campaign_id = s.campaign_id
          )
        `;
        return new Map(rows.map((row) => [String(row.campaign_id), String(row.synced_at)]));
      }),
    markFailed(runId, id, reason) {
      return guardedWrite(`mark campaign ${id} failed in run ${runId}`, () =>
        touchAfter(
          runId,
          sql`failed as (
            insert into checkpoint_failed (run_id, campaign_id, reason)
            values (${runId}, ${id}, ${reason})
            on conflict (run_id, campaign_id) do update set reason = excluded.reason
            returning 1
          )`,
        ));
    },
    finishRun(runId, status, lastError = null) {
      return guardedWrite(
        `finish run ${runId}`,
        () => touch(sql, runId, { status, last_error: lastError }),
      );
    },
    async recordSend(account, at) {
      // One statement, one round trip: every rate-limited request waits for it.
      await guardedWrite(
        "record a request",
        () => sql`insert into checkpoint_sends (account, at) values (${account}, ${at})`,
      );
      if (++sendsSincePrune < PRUNE_EVERY) return;
      sendsSincePrune = 0;
      await prune(account, at - sendRetentionMs);
    },
    recentSends: (account, since) =>
      read("the send log", async () => {
        const rows = await sql`
          select at from checkpoint_sends where account = ${account} and at >= ${since}
          order by at
        `;
        return rows.map((row) => Number(row.at));
      }),
    pruneSends: prune,
    progress: (runId) =>
      read(`the progress of run ${runId}`, async () => {
        const [row] = await sql`
          select
            (select count(*) from checkpoint_pages where run_id = ${runId}) as pages_done,
            (select count(*) from checkpoint_done where run_id = ${runId}
              and outcome = 'synced') as synced,
            (select count(*) from checkpoint_done where run_id = ${runId}
              and outcome = 'rejected') as rejected,
            (select count(*) from checkpoint_failed where run_id = ${runId}) as failed,
            (select count(*) from checkpoint_done where run_id = ${runId}
              and change = 'inserted') as inserted,
            (select count(*) from checkpoint_done where run_id = ${runId}
              and change = 'updated') as updated,
            (select count(*) from checkpoint_done where run_id = ${runId}
              and change = 'unchanged') as unchanged
        `;
        return {
          pagesDone: Number(row?.pages_done ?? 0),
          synced: Number(row?.synced ?? 0),
          rejected: Number(row?.rejected ?? 0),
          failed: Number(row?.failed ?? 0),
          inserted: Number(row?.inserted ?? 0),
          updated: Number(row?.updated ?? 0),
          unchanged: Number(row?.unchanged ?? 0),
        };
      }),
    close: () => Promise.resolve(),
  };
}
