import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  migrateCheckpoint,
  prepareReads,
  prepareWrites,
  SCHEMA_VERSION,
  toRun,
} from "../../src/store/checkpoint_schema.ts";

function version(db: DatabaseSync): number {
  return Number(db.prepare("PRAGMA user_version").get()?.user_version);
}

function tables(db: DatabaseSync): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()
    .map((row) => String(row.name));
}

/** Every statement of the checkpoint on `db`, its reads and its writes. */
function statements(db: DatabaseSync) {
  return { ...prepareReads(db), ...prepareWrites(db) };
}

/** A fresh checkpoint database in memory, migrated, with its statements. */
function migrated() {
  const db = new DatabaseSync(":memory:");
  assert.equal(migrateCheckpoint(db), undefined);
  return { db, q: statements(db) };
}

Deno.test("migrateCheckpoint gives a fresh database every table at the current schema version", () => {
  const { db } = migrated();
  assert.equal(SCHEMA_VERSION, 3);
  assert.equal(version(db), 3);
  assert.deepEqual(tables(db), ["done", "failed", "pages", "runs", "sends", "synced"]);
  assert.equal(db.isTransaction, false);
});

Deno.test("migrateCheckpoint run again changes nothing and keeps the runs", () => {
  const { db, q } = migrated();
  q.insertRun.run("run-1", "acme", "http://api.test", 100, 1, 1);
  assert.equal(migrateCheckpoint(db), undefined);
  assert.equal(toRun(q.getRun.get("run-1"))?.account, "acme");
});

Deno.test("migrateCheckpoint brings a version 1 database to the current version, keeping its runs readable", () => {
  const { db } = migrated();
  db.exec(`ALTER TABLE runs DROP COLUMN page_limit; ALTER TABLE done DROP COLUMN change;
    PRAGMA user_version = 1`);
  db.prepare(`INSERT INTO runs (run_id, account, api_url, page_size, started_at, updated_at,
    status) VALUES ('old', 'acme', 'http://api.test', 100, 1, 1, 'interrupted')`).run();
  assert.equal(migrateCheckpoint(db), undefined);
  assert.equal(version(db), 3);
  const q = statements(db);
  q.pageLimit.run(50, 2, "old");
  assert.deepEqual(
    [toRun(q.getRun.get("old"))?.status, toRun(q.getRun.get("old"))?.pageLimit],
    ["interrupted", 50],
  );
});

Deno.test("migrateCheckpoint refuses a newer schema version in one line and leaves the file as it was", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE future (x); PRAGMA user_version = 99");
  assert.equal(
    migrateCheckpoint(db),
    "schema version 99 is newer than this adsync supports (3)",
  );
  assert.equal(version(db), 99);
  assert.deepEqual(tables(db), ["future"]);
  assert.equal(db.isTransaction, false, "its transaction is rolled back");
});

Deno.test("migrateCheckpoint refuses a database holding tables but no adsync schema version", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE someone_elses (x)");
  assert.equal(migrateCheckpoint(db), "it holds tables but no adsync schema version");
  assert.deepEqual(tables(db), ["someone_elses"]);
  assert.equal(version(db), 0);
});

Deno.test("An account's unfinished run is only its latest one, and none once that ended ok", () => {
  const { q } = migrated();
  q.insertRun.run("first", "acme", "http://api.test", 100, 1_000, 1_000);
  q.finish.run("interrupted", "Stopped by SIGINT", 1_500, "first");
  q.insertRun.run("other", "globex", "http://api.test", 100, 1_500, 1_500);
  assert.equal(toRun(q.unfinished.get("acme"))?.runId, "first");
  q.insertRun.run("second", "acme", "http://api.test", 100, 2_000, 2_000);
  q.finish.run("ok", null, 2_500, "second");
  assert.equal(
    toRun(q.unfinished.get("acme")),
    undefined,
    "the older interrupted run is superseded",
  );
  assert.equal(toRun(q.unfinished.get("globex"))?.status, "running");
});

Deno.test("Saving a page again replaces it; marking a campaign again changes only its outcome", () => {
  const { q } = migrated();
  q.insertRun.run("run", "acme", "http://api.test", 10, 1, 1);
  q.savePage.run("run", 1, "[]", 20, 1);
  q.savePage.run("run", 1, '[{"id":"campaign_1"}]', 19, 1);
  assert.deepEqual(q.pages.all("run").map((p) => ({ ...p })), [
    { page: 1, records: '[{"id":"campaign_1"}]', total: 19, has_more: 1 },
  ]);
  q.markDone.run("run", "campaign_1", "rejected");
  q.markDone.run("run", "campaign_1", "synced");
  assert.deepEqual(q.done.all("run").map((d) => ({ ...d })), [
    { campaign_id: "campaign_1", outcome: "synced" },
  ]);
});

Deno.test("A campaign synced at the platform stays pending until its row is marked done", () => {
  const { q } = migrated();
  q.insertRun.run("run", "acme", "http://api.test", 10, 1, 1);
  q.recordSynced.run("run", "campaign_1", "2026-01-15T10:00:00.000Z");
  q.recordSynced.run("run", "campaign_2", "2026-01-15T10:00:01.000Z");
  q.markDone.run("run", "campaign_1", "synced");
  assert.deepEqual(q.syncedPending.all("run").map((r) => ({ ...r })), [
    { campaign_id: "campaign_2", synced_at: "2026-01-15T10:00:01.000Z" },
  ]);
});

Deno.test("A run's progress counts its pages, synced, rejected and failed campaigns, and changes", () => {
  const { q } = migrated();
  q.insertRun.run("run", "acme", "http://api.test", 10, 1, 1);
  q.savePage.run("run", 1, "[]", 30, 1);
  q.savePage.run("run", 2, "[]", 30, 1);
  q.markDone.run("run", "campaign_1", "synced", "inserted");
  q.markDone.run("run", "campaign_2", "synced", "unchanged");
  q.markDone.run("run", "campaign_3", "rejected", null);
  q.markFailed.run("run", "campaign_4", "503 Service Unavailable");
  assert.deepEqual({ ...q.progress.get("run") }, {
    pages_done: 2,
    synced: 2,
    rejected: 1,
    failed: 1,
    inserted: 1,
    updated: 0,
    unchanged: 1,
  });
});

Deno.test("Send times are kept per account and pruned before a time", () => {
  const { q } = migrated();
  for (const at of [100, 200, 300]) q.recordSend.run("acme", at);
  q.recordSend.run("globex", 250);
  q.pruneSends.run("acme", 200);
  assert.deepEqual(q.recentSends.all("acme", 0).map((r) => r.at), [200, 300]);
  assert.deepEqual(q.recentSends.all("acme", 250).map((r) => r.at), [300]);
  assert.deepEqual(q.recentSends.all("globex", 0).map((r) => r.at), [250]);
});

Deno.test("toRun gives undefined for no row", () => {
  assert.equal(toRun(undefined), undefined);
});

Deno.test("The statements the checkpoint reads with only read", () => {
  const { db } = migrated();
  for (const [name, statement] of Object.entries(prepareReads(db))) {
    assert.ok(statement.sourceSQL.trimStart().startsWith("SELECT"), name);
  }
});
