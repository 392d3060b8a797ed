import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { checkDatabase, judge } from "../../src/check/database_check.ts";
import { openDatabase } from "../../src/store/database.ts";
import { migrate, MIGRATIONS } from "../../src/store/migrations.ts";
import { acquireRunLock } from "../../src/store/run_lock.ts";
import { serverTest, withFreshServerDatabase } from "../store/_helpers.ts";

const KNOWN = MIGRATIONS.map((migration) => migration.version);
const LAST = KNOWN.at(-1)!;
const settings = (stateDir: string, databaseUrl?: string) => ({
  stateDir,
  databaseUrl,
  databaseTimeoutMs: 30_000,
});

async function withStateDir(fn: (stateDir: string) => Promise<void>): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_check_" });
  try {
    await fn(stateDir);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("judge calls a schema current, pending (no problem) or newer than this adsync (a problem)", () => {
  const current = judge("db", { applied: KNOWN, pending: [], unknown: [] });
  assert.deepEqual([current.ok, current.migrations, current.error], [true, "current", undefined]);
  const pending = judge("db", { applied: [1], pending: KNOWN.slice(1), unknown: [] });
  assert.deepEqual([pending.ok, pending.migrations], [true, "pending"]);
  assert.match(pending.note!, /^migrations 2, .* pending: the next sync or worker applies them$/);
  const newer = judge("db", { applied: [...KNOWN, 1000], pending: [], unknown: [1000] });
  assert.deepEqual([newer.ok, newer.migrations, newer.error_code], [
    false,
    "newer",
    "SCHEMA_NEWER",
  ]);
  assert.equal(
    newer.error,
    "db holds migrations this adsync does not know (1000): a newer adsync migrated it; " +
      "run that version",
  );
});

serverTest("checkDatabase reads a server's migrations and applies none", async (serverUrl) => {
  await withFreshServerDatabase(serverUrl, async (url) => {
    const fresh = await checkDatabase(settings("unused", url));
    assert.deepEqual([fresh.ok, fresh.migrations, fresh.pending], [true, "pending", KNOWN]);
    assert.match(fresh.database!, /^PostgreSQL at .*\/adsync_test_/);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`select to_regclass('schema_migrations')::text as found`;
      assert.equal(row?.found, null, "check created nothing");
      await migrate(sql);
    } finally {
      await sql.end();
    }
    const migrated = await checkDatabase(settings("unused", url));
    assert.deepEqual([migrated.ok, migrated.migrations, migrated.applied.at(-1)], [
      true,
      "current",
      LAST,
    ]);
  });
});

Deno.test("checkDatabase names a server it cannot reach, without its password", async () => {
  const url = "postgres://adsync:hunter2-secret@127.0.0.1:9/adsync";
  const check = await checkDatabase(settings("unused", url));
  assert.deepEqual([check.ok, check.error_code], [false, "DATABASE_UNAVAILABLE"]);
  assert.equal(
    check.error,
    "Cannot connect to PostgreSQL at 127.0.0.1:9/adsync: connection refused",
  );
  assert.doesNotMatch(JSON.stringify(check), /hunter2/);
});

Deno.test("checkDatabase does not create the embedded database, and reads it once it exists", async () => {
  await withStateDir(async (stateDir) => {
    const before = await checkDatabase(settings(stateDir));
    assert.deepEqual([before.ok, before.migrations, before.pending], [true, "pending", KNOWN]);
    assert.equal(before.note, "not created yet: the first sync creates it");
    assert.equal(await Deno.stat(join(stateDir, "pgdata")).catch(() => null), null);

    const db = await openDatabase({ stateDir });
    try {
      await migrate(db.sql);
    } finally {
      await db.close();
    }
    const after = await checkDatabase(settings(stateDir));
    assert.deepEqual([after.ok, after.migrations, after.applied.at(-1)], [true, "current", LAST]);
    assert.equal(after.database, `the embedded PostgreSQL at ${join(stateDir, "pgdata")}`);
  });
});

Deno.test("checkDatabase leaves the embedded database to the sync that holds the state dir", async () => {
  await withStateDir(async (stateDir) => {
    const db = await openDatabase({ stateDir });
    await db.close();
    const sync = acquireRunLock(stateDir);
    try {
      const check = await checkDatabase(settings(stateDir));
      assert.deepEqual([check.ok, check.migrations], [true, "unknown"]);
      assert.match(check.note!, /^Another adsync sync is running on .* \(pid \d+\): it holds/);
    } finally {
      sync.release();
    }
  });
});
