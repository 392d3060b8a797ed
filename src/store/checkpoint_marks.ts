/**
 * The checkpoint's marks in PostgreSQL (campaigns synced at the platform, campaigns done), of
 * many runs in one statement: what the PostgreSQL checkpoint group-commits for every account of
 * a worker.
 */
import type postgres from "postgres";
import type { CampaignChange } from "./campaign_store.ts";
import type { DoneOutcome } from "./checkpoint_types.ts";

/** One call's marks: a campaign synced at the platform, or campaigns done. */
export type CheckpointMark =
  | { kind: "synced"; runId: string; id: string; syncedAt: string }
  | {
    kind: "done";
    runId: string;
    ids: readonly string[];
    outcome: DoneOutcome;
    changes?: ReadonlyMap<string, CampaignChange>;
  };

/**
 * Writes the marks of many runs in one statement, each as its own call would (a done campaign
 * leaves the failed ones, its change with it; every run touched gets `updated_at` = `now`), and
 * returns the runs it found: the marks of a run that is not (or no longer) there are not written.
 * When a campaign repeats, its last mark wins.
 */
export async function writeMarks(
  sql: postgres.Sql,
  marks: readonly CheckpointMark[],
  now: number,
): Promise<Set<string>> {
  const synced = new Map<string, { run_id: string; campaign_id: string; synced_at: string }>();
  const done = new Map<string, Record<string, string | null>>();
  for (const mark of marks) {
    if (mark.kind === "synced") {
      const row = { run_id: mark.runId, campaign_id: mark.id, synced_at: mark.syncedAt };
      synced.set(JSON.stringify([mark.runId, mark.id]), row);
      continue;
    }
    for (const id of mark.ids) {
      const change = mark.changes?.get(id) ?? null;
      const row = { run_id: mark.runId, campaign_id: id, outcome: mark.outcome, change };
      done.set(JSON.stringify([mark.runId, id]), row);
    }
  }
  const runIds = [...new Set(marks.map((mark) => mark.runId))];
  const rows = await sql<{ run_id: string }[]>`
    with runs as (
      select run_id from checkpoint_runs where run_id = any(${runIds}::text[])
    ), synced as (
      insert into checkpoint_synced (run_id, campaign_id, synced_at)
      select s.run_id, s.campaign_id, s.synced_at
      from jsonb_to_recordset(${sql.json([...synced.values()])})
        as s(run_id text, campaign_id text, synced_at text)
      where s.run_id in (select run_id from runs)
      on conflict (run_id, campaign_id) do update set synced_at = excluded.synced_at
      returning 1
    ), done as (
      insert into checkpoint_done (run_id, campaign_id, outcome, change)
      select d.run_id, d.campaign_id, d.outcome, d.change
      from jsonb_to_recordset(${sql.json([...done.values()])})
        as d(run_id text, campaign_id text, outcome text, change text)
      where d.run_id in (select run_id from runs)
      on conflict (run_id, campaign_id) do update set outcome = excluded.outcome,
        change = excluded.change
      returning 1
    ), cleared as (
      delete from checkpoint_failed f
      using jsonb_to_recordset(${sql.json([...done.values()])}) as d(run_id text, campaign_id text)
      where f.run_id = d.run_id and f.campaign_id = d.campaign_id
      returning 1
    )
    update checkpoint_runs set updated_at = ${now}
    where run_id in (select run_id from runs) returning run_id`;
  return new Set(rows.map((row) => row.run_id));
}
