/**
 * End to end: what each run changed (inserted, updated, unchanged), with the real CLI against the
 * in-process mock, whose seeded data is the same on every run, on a server database and on the
 * embedded PGlite.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type postgres from "postgres";
import { openDatabase } from "../../src/store/database.ts";
import { parsePrometheus, valueOf } from "../report/_prometheus.ts";
import {
  e2e,
  explain,
  interruptedRun,
  resumeToTheEnd,
  type Scenario,
  summaryOf,
} from "./_scenario.ts";

/** 100 campaigns, fast enough that three runs take seconds. */
const HUNDRED = { campaigns: 100, rateLimit: { count: 50, windowMs: 1_000 } };

/** Runs `fn` on the scenario's database: the server's, or the embedded one between two syncs. */
async function onDatabase<T>(s: Scenario, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  if (s.db) return await fn(s.db.sql);
  const embedded = await openDatabase({ stateDir: s.stateDir });
  try {
    return await fn(embedded.sql);
  } finally {
    await embedded.close();
  }
}

/** Each campaign's `updated_at` and `synced_at`, as ISO strings (microseconds included), by id. */
function stamps(s: Scenario): Promise<Map<string, { updated: string; synced: string }>> {
  return onDatabase(s, async (sql) => {
    const rows = await sql<{ id: string; updated: string; synced: string }[]>`
      select id, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as updated,
        to_char(synced_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as synced
      from campaigns
    `;
    return new Map(rows.map(({ id, updated, synced }) => [id, { updated, synced }]));
  });
}

/** Runs a sync to its end, ok, and returns its summary. */
async function syncOk(s: Scenario, args: string[] = []): Promise<Record<string, number | string>> {
  const outcome = await s.run(["--json", ...args]);
  assert.equal(outcome.code, 0, explain(outcome));
  return summaryOf(outcome);
}

/** The change counts of a summary, its one account's and its `sync_runs` row. */
async function changes(s: Scenario, summary: Record<string, unknown>) {
  const pick = (from: Record<string, unknown>) => [from.inserted, from.updated, from.unchanged];
  const [account] = summary.accounts as Record<string, unknown>[];
  const [row] = await onDatabase(
    s,
    (sql) =>
      sql`select inserted, updated, unchanged from sync_runs where run_id = ${
        String(summary.run_id)
      }`,
  );
  return { summary: pick(summary), account: pick(account!), row: pick({ ...row }) };
}

/** The same counts, everywhere a run reports them. */
function everywhere(counts: number[]) {
  return { summary: counts, account: counts, row: counts };
}

function changeScenario(backend: string, embedded: boolean): void {
  e2e(
    `A second sync of unchanged data changes nothing; one row edited by hand is updated (${backend})`,
    { mock: HUNDRED, embedded },
    async (s) => {
      const first = await syncOk(s);
      assert.deepEqual(await changes(s, first), everywhere([100, 0, 0]));
      const before = await stamps(s);

      const metricsFile = join(s.stateDir, "adsync.prom");
      const second = await syncOk(s, ["--metrics-file", metricsFile]);
      assert.deepEqual(await changes(s, second), everywhere([0, 0, 100]));
      const after = await stamps(s);
      for (const [id, stamp] of before) {
        assert.equal(after.get(id)?.updated, stamp.updated, `${id}'s updated_at stays`);
        assert.notEqual(after.get(id)?.synced, stamp.synced, `${id}'s synced_at records the sync`);
      }
      const samples = parsePrometheus(await Deno.readTextFile(metricsFile));
      assert.equal(valueOf(samples, "adsync_campaigns_inserted"), 0);
      assert.equal(valueOf(samples, "adsync_campaigns_updated"), 0);
      assert.equal(valueOf(samples, "adsync_campaigns_unchanged"), 100);

      await onDatabase(
        s,
        (sql) => sql`update campaigns set clicks = clicks + 1 where id = 'campaign_7'`,
      );
      const third = await syncOk(s);
      assert.deepEqual(await changes(s, third), everywhere([0, 1, 99]));
      const last = await stamps(s);
      const moved = [...last].filter(([id, stamp]) => stamp.updated !== after.get(id)?.updated);
      assert.deepEqual(moved.map(([id]) => id), ["campaign_7"], "only the edited row's updated_at");
    },
  );
}

changeScenario("server", false);
changeScenario("embedded", true);

e2e(
  "A resumed run counts what the whole run inserted, before the interruption too",
  {},
  async (s) => {
    const { runId, summary } = await interruptedRun(s, "SIGINT", 130);
    assert.ok(Number(summary.inserted) > 0, "the interrupted run inserted some");
    assert.equal(summary.inserted, summary.synced);
    const resumed = await resumeToTheEnd(s, runId, Number(summary.synced));
    assert.deepEqual(
      [resumed.inserted, resumed.updated, resumed.unchanged],
      [s.campaigns, 0, 0],
      "every campaign of the run's life is counted once, skipped ones included",
    );
  },
);
