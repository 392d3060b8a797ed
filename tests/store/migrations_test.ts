import assert from "node:assert/strict";
import type postgres from "postgres";
import { StoreError } from "../../src/errors.ts";
import { openDatabase } from "../../src/store/database.ts";
import { migrate, type Migration, MIGRATIONS, migrationState } from "../../src/store/migrations.ts";
import { serverTest, withEachDatabase, withFreshServerDatabase } from "./_helpers.ts";

const LATEST = MIGRATIONS.map((migration) => migration.version);

withEachDatabase(
  "migrate creates the schema once and applies nothing the second time",
  async ({ db }) => {
    assert.deepEqual(await migrate(db.sql), LATEST);
    assert.deepEqual(await migrate(db.sql), []);

    assert.deepEqual(await appliedVersions(db.sql), LATEST);
    for (const table of ["campaigns", "sync_runs", "sync_rejects"]) {
      const [row] = await db.sql<{ found: string | null }[]>`
      select to_regclass(${table})::text as found
    `;
      assert.equal(row?.found, table);
    }
  },
  { migrate: false },
);

withEachDatabase(
  "migrationState reads what is applied, pending and unknown, and applies nothing",
  async ({ db }) => {
    assert.deepEqual(await migrationState(db.sql), { applied: [], pending: LATEST, unknown: [] });
    await migrate(db.sql, MIGRATIONS.slice(0, 2));
    assert.deepEqual(await migrationState(db.sql), {
      applied: LATEST.slice(0, 2),
      pending: LATEST.slice(2),
      unknown: [],
    });
    assert.deepEqual(await appliedVersions(db.sql), LATEST.slice(0, 2), "it applied nothing");
    await migrate(db.sql);
    const newer: Migration = { version: 1000, name: "a newer adsync's step", statements: [] };
    await migrate(db.sql, [...MIGRATIONS, newer]);
    assert.deepEqual(await migrationState(db.sql), {
      applied: [...LATEST, 1000],
      pending: [],
      unknown: [1000],
    });
  },
  { migrate: false },
);

withEachDatabase("migrate applies only the versions added since the last start", async ({ db }) => {
  const next: Migration = {
    version: 1000,
    name: "add a notes column",
    statements: [(sql) => sql`alter table campaigns add column notes text`],
  };
  assert.deepEqual(await migrate(db.sql, [...MIGRATIONS, next]), [1000]);
  assert.deepEqual(await appliedVersions(db.sql), [...LATEST, 1000]);
});

withEachDatabase(
  "A failing migration leaves no trace and surfaces as a StoreError",
  async ({ db }) => {
    const broken: Migration = {
      version: 1000,
      name: "half-done change",
      statements: [
        (sql) => sql`create table half_done (id int)`,
        (sql) => sql`select 1 / 0`,
      ],
    };
    await assert.rejects(migrate(db.sql, [...MIGRATIONS, broken]), (error) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.message, "Cannot migrate the database schema: division by zero");
      return true;
    });
    const [row] = await db.sql<{ found: string | null }[]>`
    select to_regclass('half_done')::text as found
  `;
    assert.equal(row?.found, null);
    assert.deepEqual(await appliedVersions(db.sql), LATEST);
  },
);

withEachDatabase(
  "migrate run twice at once on one handle applies each version once",
  async ({ db }) => {
    const results = await Promise.all([migrate(db.sql), migrate(db.sql), migrate(db.sql)]);
    assert.deepEqual(results.flat(), LATEST);
    assert.deepEqual(await appliedVersions(db.sql), LATEST);
  },
  { migrate: false },
);

serverTest(
  "Processes starting together on one server apply each migration exactly once",
  (serverUrl) =>
    withFreshServerDatabase(serverUrl, async (url) => {
      // Separate pools stand in for separate processes: each has its own connections.
      const handles = await Promise.all(
        Array.from({ length: 4 }, () => openDatabase({ url, stateDir: "unused" })),
      );
      try {
        const results = await Promise.all(handles.map((handle) => migrate(handle.sql)));
        assert.deepEqual(results.flat(), LATEST);
        assert.equal(results.filter((applied) => applied.length > 0).length, 1);
        assert.deepEqual(await appliedVersions(handles[0]!.sql), LATEST);
      } finally {
        await Promise.all(handles.map((handle) => handle.close()));
      }
    }),
);

async function appliedVersions(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ version: number }[]>`
    select version from schema_migrations order by version
  `;
  return rows.map((row) => row.version);
}
