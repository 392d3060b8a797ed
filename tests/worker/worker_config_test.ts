/** The worker and enqueue commands' settings, as loadConfig validates them. */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";

const env = {
  AD_PLATFORM_EMAIL: "ops@example.com",
  AD_PLATFORM_PASSWORD: "pw-123",
  DATABASE_URL: "postgres://db.example/adsync",
};

function configError(vars: Record<string, string>, args: string[]): ConfigError {
  try {
    loadConfig(vars, args);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error;
  }
  assert.fail("expected loadConfig to throw");
}

Deno.test("The worker's settings have documented defaults", () => {
  const config = loadConfig(env, ["worker"]);
  assert.equal(config.command, "worker");
  assert.equal(config.workerAccounts, undefined, "derived by the worker (worker_capacity.ts)");
  assert.equal(config.workerHeartbeatMs, 30_000);
  assert.equal(config.workerId, undefined);
  assert.equal(config.schedule, undefined);
});

Deno.test("The worker's settings are read from the environment and flags", () => {
  const config = loadConfig(
    { ...env, SYNC_WORKER_ACCOUNTS: "4", SYNC_SCHEDULE: "*/15 * * * *", SYNC_WORKER_ID: "box-1" },
    ["worker", "--worker-heartbeat", "1m"],
  );
  assert.equal(config.workerAccounts, 4);
  assert.equal(config.workerHeartbeatMs, 60_000);
  assert.equal(config.workerId, "box-1");
  assert.equal(config.schedule, "*/15 * * * *");
  assert.equal(loadConfig({ ...env, SYNC_SCHEDULE: "OFF" }, ["worker"]).schedule, "off");
});

Deno.test("A worker or enqueue without DATABASE_URL is one clear error", () => {
  const { DATABASE_URL: _, ...withoutDatabase } = env;
  for (const command of ["worker", "enqueue"]) {
    const error = configError(withoutDatabase, [command]);
    assert.equal(error.setting, "DATABASE_URL");
    assert.equal(
      error.message,
      `DATABASE_URL: is required for ${command}: workers share their queue through a PostgreSQL server`,
    );
  }
});

Deno.test("Enqueue needs no platform password", () => {
  const config = loadConfig({ DATABASE_URL: env.DATABASE_URL }, ["enqueue", "--json"]);
  assert.equal(config.command, "enqueue");
  assert.equal(config.json, true);
});

Deno.test("A schedule that is not a cron expression is refused", () => {
  for (const schedule of ["every hour", "61 * * * *", "* *"]) {
    const error = configError({ ...env, SYNC_SCHEDULE: schedule }, ["worker"]);
    assert.equal(
      error.message,
      "SYNC_SCHEDULE: expected a cron expression such as '0 * * * *' or off",
      schedule,
    );
  }
});

Deno.test("A heartbeat under ten seconds or in fractions of a second is refused", () => {
  assert.equal(
    configError({ ...env, SYNC_WORKER_HEARTBEAT: "5s" }, ["worker"]).message,
    "SYNC_WORKER_HEARTBEAT: must be at least 10s",
  );
  assert.equal(
    configError({ ...env, SYNC_WORKER_HEARTBEAT: "10500ms" }, ["worker"]).message,
    "SYNC_WORKER_HEARTBEAT: whole seconds only",
  );
});

Deno.test("Worker accounts and id are validated", () => {
  assert.equal(
    configError({ ...env, SYNC_WORKER_ACCOUNTS: "0" }, ["worker"]).message,
    "SYNC_WORKER_ACCOUNTS: must be from 1 to 10000",
  );
  assert.equal(
    configError({ ...env, SYNC_WORKER_ID: "a b" }, ["worker"]).message,
    "SYNC_WORKER_ID: expected 1-60 letters, digits, '.', '_', '@', ':' or '-'",
  );
});
