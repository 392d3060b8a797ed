import type postgres from "postgres";
import type { RunRecord, RunSummary } from "../sync/run_summary.ts";

/** The start of a run, recorded before its first request. */
export interface RunStart {
  runId: string;
  account: string;
  apiUrl: string;
  startedAt: Date;
}

/** Records that a run started; a resumed run keeps its first start time. */
export async function recordRunStart(sql: postgres.Sql, run: RunStart): Promise<void> {
  await sql`
    insert into sync_runs (run_id, account, api_url, status, started_at)
    values (${run.runId}, ${run.account}, ${run.apiUrl}, 'running', ${run.startedAt})
    on conflict (run_id) do update set
      account = excluded.account,
      api_url = excluded.api_url,
      status = excluded.status,
      started_at = coalesce(sync_runs.started_at, excluded.started_at),
      finished_at = null
  `;
}

/** Records how a run ended, with its whole summary; works even if its start was not recorded. */
export async function recordRunEnd(
  sql: postgres.Sql,
  end: RunSummary & { lastError?: string },
): Promise<void> {
  const { lastError, ...s } = end; // s: the summary alone, as --json prints it
  await sql`
    insert into sync_runs (
      run_id, status, finished_at, campaigns_total, synced, skipped, failed, rejected, deleted,
      requests, rate_limited, retries, timeouts, token_refreshes, duration_ms, last_error, summary
    ) values (
      ${s.run_id}, ${s.status}, now(), ${s.campaigns_total}, ${s.synced}, ${s.skipped},
      ${s.failed}, ${s.rejected}, ${s.deleted}, ${s.requests}, ${s.rate_limited}, ${s.retries}, ${s.timeouts},
      ${s.token_refreshes}, ${s.duration_ms}, ${lastError ?? null},
      ${sql.json(s as unknown as postgres.JSONValue)}
    )
    on conflict (run_id) do update set
      status = excluded.status,
      finished_at = excluded.finished_at,
      campaigns_total = excluded.campaigns_total,
      synced = excluded.synced,
      skipped = excluded.skipped,
      failed = excluded.failed,
      rejected = excluded.rejected,
      deleted = excluded.deleted,
      requests = excluded.requests,
      rate_limited = excluded.rate_limited,
      retries = excluded.retries,
      timeouts = excluded.timeouts,
      token_refreshes = excluded.token_refreshes,
      duration_ms = excluded.duration_ms,
      last_error = excluded.last_error,
      summary = excluded.summary
  `;
}

/**
 * The limit the platform advertised to `account`'s latest finished run, as its summary recorded
 * it (`20/1s`); undefined when that run followed a configured or default limit.
 */
export async function lastAdvertisedLimit(
  sql: postgres.Sql,
  account: string,
): Promise<string | undefined> {
  const [row] = await sql<{ rate_limit: string | null; source: string | null }[]>`
    select summary->>'rate_limit' as rate_limit, summary->>'rate_limit_source' as source
    from sync_runs
    where account = ${account} and finished_at is not null and summary is not null
    order by finished_at desc, run_id desc
    limit 1
  `;
  return row?.source === "advertised" && row.rate_limit ? row.rate_limit : undefined;
}

/** The latest runs, newest first. */
export async function recentRuns(sql: postgres.Sql, limit = 10): Promise<RunRecord[]> {
  const rows = await sql<RunRow[]>`
    select * from sync_runs
    order by coalesce(started_at, finished_at) desc nulls last, run_id desc
    limit ${limit}
  `;
  return rows.map((row) => ({ ...row, duration_ms: toNumber(row.duration_ms) }));
}

// bigint comes back as a string: postgres.js will not guess whether it fits a double.
type RunRow = Omit<RunRecord, "duration_ms"> & { duration_ms: string | null };

function toNumber(value: string | null): number | null {
  return value === null ? null : Number(value);
}
