import type postgres from "postgres";
import type { SyncedCampaign } from "../platform/schemas.ts";

/** Rejects per INSERT statement: bounds the size of the one jsonb parameter each carries. */
export const MAX_ROWS_PER_STATEMENT = 500;

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

/** What an upsert did to one campaign's row. */
export type CampaignChange = "inserted" | "updated" | "unchanged";

/**
 * Inserts or updates the account's campaigns in one statement; when an id repeats, its last
 * record wins. Returns what happened to each id's row: `inserted`, `updated` when its data (name,
 * status, budget, impressions, clicks, conversions, created_at) differs from the stored row or the
 * row was marked deleted (a revival is a change), else `unchanged`. Every row gets its new
 * `synced_at`; `updated_at` moves only on an insert or an update.
 */
export async function upsertCampaigns(
  sql: postgres.Sql,
  account: string,
  rows: readonly SyncedCampaign[],
): Promise<Map<string, CampaignChange>> {
  const [changes] = await upsertCampaignGroups(sql, [{ account, rows }]);
  return changes ?? new Map();
}

/** One account's rows in a group upsert. */
export interface CampaignGroup {
  account: string;
  rows: readonly SyncedCampaign[];
}

/**
 * Upserts the rows of many accounts in one statement, as {@linkcode upsertCampaigns} does one
 * account's: returns each group's changes by id, in the order of `groups`. A row (account and id)
 * that repeats, within a group or across groups, is written once (the last record wins) and its
 * change reported to every group that held it. Rows go in key order, so that two such statements
 * running at once lock their rows in the same order and never deadlock.
 */
export async function upsertCampaignGroups(
  sql: postgres.Sql,
  groups: readonly CampaignGroup[],
): Promise<Map<string, CampaignChange>[]> {
  // One statement may not touch a row twice (ON CONFLICT DO UPDATE refuses), so dedupe first.
  const latest = new Map<string, ReturnType<typeof storedRow>>();
  for (const { account, rows } of groups) {
    for (const row of rows) latest.set(rowKey(account, row.id), storedRow(account, row));
  }
  if (latest.size === 0) return groups.map(() => new Map());
  const records = [...latest.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([, record]) => record);
  const changes = new Map<string, CampaignChange>();
  for (const row of await upsertStatement(sql, records)) {
    changes.set(rowKey(row.account, row.id), row.change);
  }
  return groups.map(({ account, rows }) => {
    const mine = new Map<string, CampaignChange>();
    for (const { id } of rows) {
      const change = changes.get(rowKey(account, id));
      if (change !== undefined) mine.set(id, change);
    }
    return mine;
  });
}

/** A row's key in a group: account and id, unambiguous whatever characters they hold. */
const rowKey = (account: string, id: string) => JSON.stringify([account, id]);

/** A campaign as the upsert's jsonb parameter carries it. */
function storedRow(account: string, campaign: SyncedCampaign) {
  return {
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
  };
}

/**
 * The upsert itself, one statement: the conflict's update compares the stored row with the
 * incoming one (its data, and whether it was marked deleted) and moves `updated_at` to this
 * transaction's `now()` only on a change, so `updated_at = now()` in what it returns says
 * `updated`. No join against `campaigns` beforehand: each row is found once, by the conflict.
 */
function upsertStatement(sql: postgres.Sql, records: ReturnType<typeof storedRow>[]) {
  return sql<{ account: string; id: string; change: CampaignChange }[]>`
    insert into campaigns (account, id, name, status, budget, impressions, clicks, conversions,
      created_at, synced_at)
    select r.account, r.id, r.name, r.status, r.budget, r.impressions, r.clicks, r.conversions,
      r.created_at, r.synced_at
    from jsonb_to_recordset(${sql.json(records)}) as r(
      account text, id text, name text, status text, budget numeric, impressions bigint,
      clicks bigint, conversions bigint, created_at timestamptz, synced_at timestamptz
    )
    on conflict (account, id) do update set
      name = excluded.name,
      status = excluded.status,
      budget = excluded.budget,
      impressions = excluded.impressions,
      clicks = excluded.clicks,
      conversions = excluded.conversions,
      created_at = excluded.created_at,
      synced_at = excluded.synced_at,
      updated_at = case
        when campaigns.deleted_at is not null
          or (campaigns.name, campaigns.status, campaigns.budget, campaigns.impressions,
            campaigns.clicks, campaigns.conversions, campaigns.created_at)
            is distinct from (excluded.name, excluded.status, excluded.budget,
              excluded.impressions, excluded.clicks, excluded.conversions, excluded.created_at)
        then now() else campaigns.updated_at end,
      deleted_at = null
    returning account, id, case when xmax = 0 then 'inserted' when updated_at = now() then 'updated'
      else 'unchanged' end as change
  `;
}

/** How many of each change `changes` holds. */
export function countChanges(
  changes: Iterable<CampaignChange>,
): Record<CampaignChange, number> {
  const counts = { inserted: 0, updated: 0, unchanged: 0 };
  for (const change of changes) counts[change]++;
  return counts;
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

/** How many campaigns of the account are stored. */
export async function countCampaigns(sql: postgres.Sql, account: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from campaigns where account = ${account}
  `;
  return row?.count ?? 0;
}
