import assert from "node:assert/strict";
import postgres from "postgres";
import { type Config, loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { QUEUE_SCHEMA, SYNC_QUEUE } from "../../src/queue/queue.ts";
import {
  enqueueWarning,
  formatEnqueueResult,
  runEnqueueCommand,
} from "../../src/worker/enqueue_command.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

const ACCOUNTS_FILE = "/etc/adsync/accounts.json";

const ACCOUNTS = {
  defaults: { email: "ops@agency.example", password_env: "AD_PLATFORM_PASSWORD" },
  accounts: [
    { client_id: "acme" },
    { client_id: "globex" },
    { client_id: "initech", enabled: false },
  ],
};

/** The config of `adsync enqueue [args]` on `databaseUrl`, its accounts file read from memory. */
function enqueueConfig(databaseUrl: string | undefined, args: string[] = []): Readonly<Config> {
  return loadConfig(
    {
      AD_PLATFORM_PASSWORD: "hunter2",
      SYNC_ACCOUNTS_FILE: ACCOUNTS_FILE,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    ["enqueue", ...args],
    { readTextFile: () => JSON.stringify(ACCOUNTS) },
  );
}

/** The accounts with a job in the sync queue, by its singleton key. */
async function queuedAccounts(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select singleton_key from ${sql(QUEUE_SCHEMA)}.job
      where name = ${SYNC_QUEUE} order by singleton_key`;
    return rows.map((row) => String(row.singleton_key));
  } finally {
    await sql.end();
  }
}

Deno.test("enqueue queues one job per enabled account of the file, and skips those queued already", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const first = await runEnqueueCommand(enqueueConfig(url));
    assert.deepEqual(first, { queued: ["acme", "globex"], skipped: [] });
    assert.deepEqual(await queuedAccounts(url), ["acme", "globex"], "the disabled one is not");
    const again = await runEnqueueCommand(enqueueConfig(url));
    assert.deepEqual(again, { queued: [], skipped: ["acme", "globex"] });
    assert.deepEqual(await queuedAccounts(url), ["acme", "globex"], "no second job");
  });
});

Deno.test("enqueue --account queues only the accounts picked", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const result = await runEnqueueCommand(enqueueConfig(url, ["--account", "globex"]));
    assert.deepEqual(result, { queued: ["globex"], skipped: [] });
    assert.deepEqual(await queuedAccounts(url), ["globex"]);
  });
});

Deno.test("enqueue refuses to run without DATABASE_URL: the queue lives in a server", async () => {
  const config = {
    ...enqueueConfig("postgres://adsync@127.0.0.1:1/adsync"),
    databaseUrl: undefined,
  };
  const error = await runEnqueueCommand(config).catch((e) => e);
  assert.ok(error instanceof ConfigError);
  assert.equal(error.setting, "DATABASE_URL");
  assert.equal(error.message, "DATABASE_URL: is required for enqueue: the queue lives in a server");
});

Deno.test("enqueue warns that without an accounts file it queues the environment's account", () => {
  const config = loadConfig(
    { DATABASE_URL: "postgres://adsync@db/adsync", AD_PLATFORM_CLIENT_ID: "acme" },
    ["enqueue"],
  );
  assert.equal(
    enqueueWarning(config),
    "adsync: SYNC_ACCOUNTS_FILE is unset: queueing the environment's account 'acme'; " +
      "workers run it only if their accounts file lists it",
  );
  assert.equal(enqueueWarning(enqueueConfig("postgres://adsync@db/adsync")), undefined);
});

Deno.test("enqueue prints what it queued and what it skipped, or one JSON object", () => {
  const result = { queued: ["acme", "globex"], skipped: ["initech"] };
  assert.equal(
    formatEnqueueResult(result, false),
    "Queued 2: acme, globex\nSkipped 1 (already queued, retrying or running): initech",
  );
  assert.equal(formatEnqueueResult({ queued: [], skipped: [] }, false), "Queued 0: none");
  assert.deepEqual(JSON.parse(formatEnqueueResult(result, true)), result);
});
