import type postgres from "postgres";
import type { SyncedCampaign } from "../platform/schemas.ts";
import type { RunRecord, RunSummary } from "./run_summary.ts";

/** Rows per INSERT statement: 500 × 10 parameters stays far below PostgreSQL's 65,535. */
export const MAX_ROWS_PER_STATEMENT = 500;

const CAMPAIGN_COLUMNS = [
  "account",
  "id",
  "name",
  "status",
  "budget",
  "impressions",
  "clicks",
  "conversions",
  "created_at",
  "synced_at",
] as const;

/** A record refused by validation, kept with its raw payload for inspection. */
export interface Reject {
  runId: string;
  account: string;
  /** The record's id, or null when it has no usable one. */
  campaignId: string | null;
  /** Why it was refused, without the record's values. */
  reason: string;
  /** The record exactly as the platform sent it. */
  payload: unknown;
}

/** The start of a run, recorded before its first request. */
export interface RunStart {
  runId: string;
  account: string;
  apiUrl: string;
  startedAt: Date;
}

/**
 * Inserts or updates the account's campaigns in one transaction; when an id repeats, its last
 * record wins.
 */
export async function upsertCampaigns(
  sql: postgres.Sql,
  account: string,
  rows: readonly SyncedCampaign[],
): Promise<void> {
  // One statement may not touch a row twice (ON CONFLICT DO UPDATE refuses), so dedupe first.
  const latest = new Map<string, SyncedCampaign>();
  for (const row of rows) latest.set(row.id, row);
  const records = [...latest.values()].map((campaign) => ({
    account,
    id: campaign.id,
    name: campaign.name,
    status: campaign.status,
    // The shortest decimal that reads back as the same double; numeric stores it exactly.
    budget: String(campaign.budget),
    impressions: campaign.impressions,
    clicks: campaign.clicks,
    conversions: campaign.conversions,
    created_at: campaign.created_at,
    synced_at: campaign.synced_at,
  }));
  if (records.length === 0) return;

  await sql.begin(async (tx) => {
    for (let start = 0; start < records.length; start += MAX_ROWS_PER_STATEMENT) {
      const chunk = records.slice(start, start + MAX_ROWS_PER_STATEMENT);
      await tx`
        insert into campaigns ${tx(chunk, CAMPAIGN_COLUMNS)}
        on conflict (account, id) do update set
          name = excluded.name,
          status = excluded.status,
          budget = excluded.budget,
          impressions = excluded.impressions,
          clicks = excluded.clicks,
          conversions = excluded.conversions,
          created_at = excluded.created_at,
          synced_at = excluded.synced_at,
          updated_at = now()
      `;
    }
  });
}

/** Stores refused records; storing the same refusal twice keeps one row. */
export async function insertRejects(sql: postgres.Sql, rejects: readonly Reject[]): Promise<void> {
  // The batch travels as one jsonb array: `r->'payload'` keeps any JSON value, null included,
  // where a per-row parameter would turn null into SQL NULL and booleans into bool.
  const records = rejects.map((reject) => ({
    run_id: reject.runId,
    account: reject.account,
    campaign_id: reject.campaignId,
    reason: reject.reason,
    payload: reject.payload ?? null,
  }));
  for (let start = 0; start < records.length; start += MAX_ROWS_PER_STATEMENT) {
    const chunk = storable(records.slice(start, start + MAX_ROWS_PER_STATEMENT));
    await sql`
      insert into sync_rejects (run_id, account, campaign_id, reason, payload)
      select r->>'run_id', r->>'account', r->>'campaign_id', r->>'reason', r->'payload'
      from jsonb_array_elements(${sql.json(chunk)}) as r
      on conflict (run_id, account, (coalesce(campaign_id, '')), reason) do nothing
    `;
  }
}

/**
 * The value as jsonb can hold it: PostgreSQL stores no NUL character in text or jsonb, so each
 * one becomes the six characters `\u0000` (a reject is kept for inspection, not lost).
 */
function storable(value: unknown): postgres.JSONValue {
  const json = JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\\\u0000");
  return JSON.parse(json);
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
      run_id, status, finished_at, campaigns_total, synced, skipped, failed, rejected, requests,
      rate_limited, retries, timeouts, token_refreshes, duration_ms, last_error, summary
    ) values (
      ${s.run_id}, ${s.status}, now(), ${s.campaigns_total}, ${s.synced}, ${s.skipped},
      ${s.failed}, ${s.rejected}, ${s.requests}, ${s.rate_limited}, ${s.retries}, ${s.timeouts},
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

/** The latest runs, newest first. */
export async function recentRuns(sql: postgres.Sql, limit = 10): Promise<RunRecord[]> {
  const rows = await sql<RunRow[]>`
    select * from sync_runs
    order by coalesce(started_at, finished_at) desc nulls last, run_id desc
    limit ${limit}
  `;
  return rows.map((row) => ({ ...row, duration_ms: toNumber(row.duration_ms) }));
}

/** How many campaigns of the account are stored. */
export async function countCampaigns(sql: postgres.Sql, account: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from campaigns where account = ${account}
  `;
  return row?.count ?? 0;
}

// bigint comes back as a string: postgres.js will not guess whether it fits a double.
type RunRow = Omit<RunRecord, "duration_ms"> & { duration_ms: string | null };

function toNumber(value: string | null): number | null {
  return value === null ? null : Number(value);
}
