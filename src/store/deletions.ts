import type postgres from "postgres";

/** Options for {@linkcode markDeleted}. */
export interface MarkDeletedOptions {
  /** Mark even when more than half of the account's live campaigns would go. @default false */
  allowMassDelete?: boolean;
}

/** What {@linkcode markDeleted} did. */
export interface DeletionOutcome {
  /** Campaigns marked deleted now. */
  deleted: number;
  /** Campaigns the mass-deletion guard kept live (0 when it did not step in). */
  withheld: number;
  /** The account's live campaigns before marking. */
  live: number;
}

/**
 * Soft-deletes the account's live campaigns missing from `listedIds`, the account's complete
 * listing: sets `deleted_at`. Marks none when that would be more than half of them, unless
 * `allowMassDelete`. Call it only after a run that saw the whole listing.
 */
export async function markDeleted(
  sql: postgres.Sql,
  account: string,
  listedIds: readonly string[],
  options: MarkDeletedOptions = {},
): Promise<DeletionOutcome> {
  const { allowMassDelete = false } = options;
  // The ids travel as one jsonb array: one parameter however long the listing.
  const listed = sql.json([...listedIds]);
  // One statement, never `sql.begin` (postgres.js crashes the process when a transaction's
  // connection drops under it, porsager/postgres#1208); its row locks keep a concurrent upsert
  // from reviving a row between the count and the mark.
  const [row] = await sql<{ live: number; absent: number; deleted: number }[]>`
    with live as (
      select id, id in (select jsonb_array_elements_text(${listed})) as listed
      from campaigns
      where account = ${account} and deleted_at is null
      for update
    ), counts as (
      select count(*)::int as live, (count(*) filter (where not listed))::int as absent from live
    ), marked as (
      update campaigns set deleted_at = now()
      where account = ${account} and deleted_at is null
        and id in (select id from live where not listed)
        and ((select absent from counts) * 2 <= (select live from counts) or ${allowMassDelete})
      returning 1
    )
    select (select live from counts) as live, (select absent from counts) as absent,
      (select count(*)::int from marked) as deleted
  `;
  const { live = 0, absent = 0, deleted = 0 } = row ?? {};
  const refused = absent > 0 && absent * 2 > live && !allowMassDelete;
  return { deleted, withheld: refused ? absent : 0, live };
}

/** Ids of the account's campaigns marked deleted, sorted. */
export async function deletedIds(sql: postgres.Sql, account: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id from campaigns where account = ${account} and deleted_at is not null order by id
  `;
  return rows.map((row) => row.id);
}
