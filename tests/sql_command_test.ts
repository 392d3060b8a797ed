import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { StoreError } from "../src/errors.ts";
import { runSqlCommand } from "../src/sql_command.ts";
import { startEmbedded } from "../src/store/embedded_server.ts";
import { serverTest, withSharedServerDatabase } from "./store/_helpers.ts";

/** The config of `adsync sql QUERY [flags]`, as main.ts builds it. */
function sqlConfig(query: string, flags: string[]) {
  return loadConfig({}, ["sql", query, ...flags]);
}

async function withStateDir(fn: (stateDir: string) => Promise<void>): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_sql_command_" });
  try {
    await fn(stateDir);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("sql prints the embedded database's rows as a table, or as JSON with --json", async () => {
  await withStateDir(async (stateDir) => {
    const query = "select 1 as one, 'x' as name union all select 2, null order by 1";
    const table = await runSqlCommand(sqlConfig(query, ["--state-dir", stateDir]));
    assert.equal(table, " one | name\n-----+------\n 1   | x\n 2   |\n(2 rows)");
    const json = await runSqlCommand(sqlConfig(query, ["--state-dir", stateDir, "--json"]));
    assert.deepEqual(JSON.parse(json), [{ one: 1, name: "x" }, { one: 2, name: null }]);
  });
});

Deno.test("sql refuses a write: its query runs in a read-only transaction", async () => {
  await withStateDir(async (stateDir) => {
    const config = sqlConfig("create table intruder (id int)", ["--state-dir", stateDir]);
    await assert.rejects(runSqlCommand(config), postgres.PostgresError);
    const check = sqlConfig("select to_regclass('intruder') as found", ["--state-dir", stateDir]);
    assert.deepEqual(JSON.parse(await runSqlCommand({ ...check, json: true })), [{ found: null }]);
  });
});

Deno.test("sql is refused while another process holds the embedded database", async () => {
  await withStateDir(async (stateDir) => {
    const server = await startEmbedded(stateDir, { opener: "db serve" });
    try {
      await assert.rejects(
        runSqlCommand(sqlConfig("select 1", ["--state-dir", stateDir])),
        (error) => error instanceof StoreError && /open by db serve/.test(error.message),
      );
    } finally {
      await server.close();
    }
    assert.match(
      await runSqlCommand(sqlConfig("select 1 as one", ["--state-dir", stateDir])),
      /1 row/,
    );
  });
});

serverTest("sql reads the PostgreSQL server that DATABASE_URL names", async (serverUrl) => {
  await withSharedServerDatabase(serverUrl, async (url) => {
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await admin`create table sql_command_probe (id int, label text)`;
      await admin`insert into sql_command_probe values (7, 'seven')`;
      const config = sqlConfig("select * from sql_command_probe", [
        "--database-url",
        url,
        "--json",
      ]);
      assert.deepEqual(JSON.parse(await runSqlCommand(config)), [{ id: 7, label: "seven" }]);
      const write = sqlConfig("delete from sql_command_probe", ["--database-url", url]);
      await assert.rejects(runSqlCommand(write), postgres.PostgresError);
      assert.equal((await admin`select count(*)::int as n from sql_command_probe`)[0]?.n, 1);
    } finally {
      await admin`drop table if exists sql_command_probe`;
      await admin.end();
    }
  });
});
