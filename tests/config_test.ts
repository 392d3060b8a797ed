import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";

const baseEnv = { AD_PLATFORM_EMAIL: "ops@example.com", AD_PLATFORM_PASSWORD: "pw-123" };

function configError(env: Record<string, string>, args: string[] = []): ConfigError {
  try {
    loadConfig(env, args, { readTextFile: () => "from-file\n" });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error;
  }
  assert.fail("expected loadConfig to throw");
}

Deno.test("loadConfig applies the documented defaults", () => {
  const config = loadConfig(baseEnv, []);
  assert.equal(config.command, "sync");
  assert.equal(config.apiUrl, "http://localhost:3001");
  assert.equal(config.clientId, "default");
  assert.deepEqual(config.rateLimit, { count: 10, windowMs: 60_000 });
  assert.equal(config.requestTimeoutMs, 15_000);
  assert.equal(config.pageSize, 100);
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.stateDir, ".adsync");
  assert.equal(config.logLevel, "info");
  assert.equal(config.logFormat, "json");
  assert.equal(config.concurrency, 10);
  assert.equal(config.resume, false);
  assert.ok(Object.isFrozen(config));
});

Deno.test("loadConfig lets flags override the environment", () => {
  const config = loadConfig(
    { ...baseEnv, AD_PLATFORM_RATE_LIMIT: "10/60s", SYNC_STATE_DIR: "/tmp/a" },
    ["sync", "--rate-limit", "5/1s", "--state-dir", "/tmp/b", "--resume", "--json"],
  );
  assert.deepEqual(config.rateLimit, { count: 5, windowMs: 1_000 });
  assert.equal(config.stateDir, "/tmp/b");
  assert.equal(config.resume, true);
  assert.equal(config.json, true);
});

Deno.test("loadConfig names the environment variable that is wrong", () => {
  const error = configError({ ...baseEnv, AD_PLATFORM_RATE_LIMIT: "ten per minute" });
  assert.equal(error.setting, "AD_PLATFORM_RATE_LIMIT");
  assert.match(error.message, /^AD_PLATFORM_RATE_LIMIT: expected N\/duration/);
});

Deno.test("loadConfig names the flag that is wrong", () => {
  assert.equal(configError(baseEnv, ["--page-size", "0"]).setting, "--page-size");
  assert.equal(configError(baseEnv, ["--request-timeout", "soon"]).setting, "--request-timeout");
  assert.equal(configError(baseEnv, ["--no-such-flag"]).setting, "--no-such-flag");
});

Deno.test("loadConfig requires credentials and never shows the password", () => {
  assert.equal(configError({}).setting, "AD_PLATFORM_EMAIL");
  assert.equal(
    configError({ AD_PLATFORM_EMAIL: "ops@example.com" }).setting,
    "AD_PLATFORM_PASSWORD",
  );
  const both = configError({ ...baseEnv, AD_PLATFORM_PASSWORD_FILE: "/run/secrets/pw" });
  assert.doesNotMatch(both.message, /pw-123/);
});

Deno.test("loadConfig reads the password from a file without its newline", () => {
  const config = loadConfig(
    { AD_PLATFORM_EMAIL: "ops@example.com", AD_PLATFORM_PASSWORD_FILE: "/run/secrets/pw" },
    [],
    { readTextFile: () => "from-file\n" },
  );
  assert.equal(config.password, "from-file");
});

Deno.test("loadConfig refuses an API URL that carries credentials", () => {
  const error = configError({ ...baseEnv, AD_PLATFORM_API_URL: "http://u:p@localhost:3001" });
  assert.equal(error.setting, "AD_PLATFORM_API_URL");
  assert.doesNotMatch(error.message, /u:p/);
});

Deno.test("loadConfig rejects an unknown command", () => {
  assert.equal(configError(baseEnv, ["synk"]).setting, "command");
});

Deno.test("loadConfig lets status run without platform credentials", () => {
  assert.equal(loadConfig({}, ["status"]).command, "status");
});

Deno.test("loadConfig picks pretty logs on a terminal unless told otherwise", () => {
  assert.equal(loadConfig(baseEnv, [], { isTerminal: true }).logFormat, "pretty");
  assert.equal(
    loadConfig({ ...baseEnv, LOG_FORMAT: "json" }, [], { isTerminal: true }).logFormat,
    "json",
  );
  assert.equal(loadConfig({ ...baseEnv, LOG_LEVEL: "WARN" }, []).logLevel, "warning");
});
