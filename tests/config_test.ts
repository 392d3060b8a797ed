import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { runSync } from "./e2e/_cli.ts";

const baseEnv = { AD_PLATFORM_EMAIL: "ops@example.com", AD_PLATFORM_PASSWORD: "pw-123" };
const HOUR = 3_600_000;

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
  assert.equal(config.accounts[0]?.apiUrl, "http://localhost:3001");
  assert.equal(config.clientId, "default");
  assert.deepEqual(config.accounts[0]?.rateLimit, { count: 10, windowMs: 60_000 });
  assert.equal(config.requestTimeoutMs, 15_000);
  assert.equal(config.accounts[0]?.pageSize, 100);
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
  assert.deepEqual(config.accounts[0]?.rateLimit, { count: 5, windowMs: 1_000 });
  assert.equal(config.stateDir, "/tmp/b");
  assert.equal(config.resume, true);
  assert.equal(config.json, true);
});

Deno.test("loadConfig names the environment variable that is wrong", () => {
  const error = configError({ ...baseEnv, AD_PLATFORM_RATE_LIMIT: "ten per minute" });
  assert.equal(error.setting, "AD_PLATFORM_RATE_LIMIT");
  assert.match(error.message, /^AD_PLATFORM_RATE_LIMIT: expected auto or N\/duration/);
});

Deno.test("loadConfig follows the advertised rate limit by default and with auto; a set one is a ceiling", () => {
  for (const env of [baseEnv, { ...baseEnv, AD_PLATFORM_RATE_LIMIT: "AUTO" }]) {
    const config = loadConfig(env, []);
    assert.equal(config.accounts[0]?.rateLimitAuto, true);
    assert.deepEqual(
      config.accounts[0]?.rateLimit,
      { count: 10, windowMs: 60_000 },
      "until one is advertised",
    );
  }
  const configured = loadConfig(baseEnv, ["--rate-limit", "5/1s"]);
  assert.equal(configured.accounts[0]?.rateLimitAuto, false);
  assert.deepEqual(configured.accounts[0]?.rateLimit, { count: 5, windowMs: 1_000 });
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

Deno.test("A missing credential says to copy .env.example to .env", () => {
  const hint = "(set it in .env: cp .env.example .env; --help lists every setting)";
  assert.equal(configError({}).message, `AD_PLATFORM_EMAIL: is required ${hint}`);
  assert.equal(
    configError({ AD_PLATFORM_EMAIL: "ops@example.com" }).message,
    `AD_PLATFORM_PASSWORD: is required, or AD_PLATFORM_PASSWORD_FILE ${hint}`,
  );
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

Deno.test("loadConfig keeps an API URL's path as a prefix, and refuses a query or a fragment", () => {
  const config = loadConfig({ ...baseEnv, AD_PLATFORM_API_URL: "https://gw.example.com/ads/" }, []);
  assert.equal(config.accounts[0]?.apiUrl, "https://gw.example.com/ads");
  for (const url of ["http://localhost:3001/?key=1", "http://localhost:3001#top"]) {
    const error = configError({ ...baseEnv, AD_PLATFORM_API_URL: url });
    assert.equal(error.setting, "AD_PLATFORM_API_URL");
    assert.match(error.message, /must not hold a query or a fragment/);
  }
});

Deno.test("loadConfig rejects an unknown command", () => {
  const error = configError(baseEnv, ["synk"]);
  assert.equal(error.setting, "synk");
  assert.equal(error.message, "synk: unknown command (did you mean sync? --help lists them)");
});

Deno.test("loadConfig lets status run without platform credentials", () => {
  assert.equal(loadConfig({}, ["status"]).command, "status");
});

Deno.test("loadConfig reads check's credentials as sync does: a missing one is the sync's error", () => {
  const config = loadConfig(baseEnv, ["check", "--json"]);
  assert.equal(config.command, "check");
  assert.equal(config.json, true);
  assert.equal(config.accounts[0]?.password, "pw-123");
  assert.equal(configError({}, ["check"]).message, configError({}, ["sync"]).message);
  assert.equal(
    configError({ AD_PLATFORM_EMAIL: "a@b.c" }, ["check"]).setting,
    "AD_PLATFORM_PASSWORD",
  );
});

Deno.test("loadConfig picks pretty logs on a terminal unless told otherwise", () => {
  assert.equal(loadConfig(baseEnv, [], { isTerminal: true }).logFormat, "pretty");
  assert.equal(
    loadConfig({ ...baseEnv, LOG_FORMAT: "json" }, [], { isTerminal: true }).logFormat,
    "json",
  );
  assert.equal(loadConfig({ ...baseEnv, LOG_LEVEL: "WARN" }, []).logLevel, "warning");
});

const MANGLED_URL = "http://admin:hunter2@exa mple.com";

Deno.test("loadConfig refuses an unparsable API URL in one line that shows no credential", () => {
  const error = configError({ ...baseEnv, AD_PLATFORM_API_URL: MANGLED_URL });
  assert.equal(error.message, "AD_PLATFORM_API_URL: expected an http(s) URL");
  const flag = configError(baseEnv, ["--api-url", MANGLED_URL]);
  assert.equal(flag.message, "--api-url: expected an http(s) URL");
});

Deno.test("loadConfig refuses an API URL that is not http(s)", () => {
  const error = configError({ ...baseEnv, AD_PLATFORM_API_URL: "ftp://example.com" });
  assert.equal(error.message, "AD_PLATFORM_API_URL: expected an http(s) URL");
});

Deno.test("the CLI refuses an unparsable API URL with one line, exit 1 and no credential", async () => {
  const outcome = await runSync({ ...baseEnv, AD_PLATFORM_API_URL: MANGLED_URL });
  assert.equal(outcome.code, 1);
  assert.equal(
    outcome.stderr,
    "adsync: AD_PLATFORM_API_URL: expected an http(s) URL (see --help)\n",
  );
  assert.doesNotMatch(outcome.stderr + outcome.stdout, /hunter2/);
});

Deno.test("loadConfig requires a unit on every duration", () => {
  assert.equal(
    configError({ ...baseEnv, AD_PLATFORM_RATE_LIMIT: "10/60" }).message,
    "AD_PLATFORM_RATE_LIMIT: expected auto or N/duration such as 10/60s: " +
      "the window needs a unit (ms, s, m or h)",
  );
  assert.equal(
    configError({ ...baseEnv, SYNC_MAX_DURATION: "5" }).message,
    "SYNC_MAX_DURATION: needs a unit (ms, s, m or h), such as 15s",
  );
  assert.equal(
    configError(baseEnv, ["--request-timeout", "15"]).message,
    "--request-timeout: needs a unit (ms, s, m or h), such as 15s",
  );
});

Deno.test("loadConfig refuses a max duration longer than a timer can wait", () => {
  assert.equal(
    configError({ ...baseEnv, SYNC_MAX_DURATION: "597h" }).message,
    "SYNC_MAX_DURATION: must be at most 24 days (576h)",
  );
  assert.equal(loadConfig({ ...baseEnv, SYNC_MAX_DURATION: "576h" }, []).maxDurationMs, 576 * HOUR);
});

Deno.test("loadConfig bounds every duration setting below 2^31 ms", () => {
  for (
    const name of [
      "AD_PLATFORM_REQUEST_TIMEOUT",
      "SYNC_MAX_DURATION",
      "SYNC_RESUME_MAX_AGE",
      "SYNC_SHUTDOWN_GRACE",
      "SYNC_DATABASE_TIMEOUT",
      "SYNC_DATABASE_OUTAGE",
    ]
  ) {
    const error = configError({ ...baseEnv, [name]: "597h" });
    assert.equal(error.setting, name);
    assert.match(error.message, /: must be at most /);
  }
  assert.equal(
    configError({ ...baseEnv, AD_PLATFORM_RATE_LIMIT: "10/720h" }).message,
    "AD_PLATFORM_RATE_LIMIT: the window must be at most 24h",
  );
});

Deno.test("loadConfig documents each duration's maximum in its message", () => {
  const cases: [string, string, string][] = [
    ["AD_PLATFORM_REQUEST_TIMEOUT", "11m", "must be at most 10m"],
    ["SYNC_SHUTDOWN_GRACE", "11m", "must be at most 10m"],
    ["SYNC_DATABASE_TIMEOUT", "11m", "must be at most 10m"],
    ["SYNC_DATABASE_OUTAGE", "25h", "must be at most 24h"],
    ["SYNC_RESUME_MAX_AGE", "577h", "must be at most 24 days (576h)"],
  ];
  for (const [name, value, message] of cases) {
    assert.equal(configError({ ...baseEnv, [name]: value }).message, `${name}: ${message}`);
  }
  const atLimits = loadConfig({
    ...baseEnv,
    AD_PLATFORM_REQUEST_TIMEOUT: "10m",
    AD_PLATFORM_RATE_LIMIT: "10/24h",
    SYNC_DATABASE_OUTAGE: "24h",
  }, []);
  assert.equal(atLimits.requestTimeoutMs, 10 * 60_000);
  assert.deepEqual(atLimits.accounts[0]?.rateLimit, { count: 10, windowMs: 24 * HOUR });
  assert.equal(atLimits.databaseOutageMs, 24 * HOUR);
});

Deno.test("loadConfig gives the database a 30s deadline and rides out a 1m outage by default", () => {
  const config = loadConfig(baseEnv, []);
  assert.equal(config.databaseTimeoutMs, 30_000);
  assert.equal(config.databaseOutageMs, 60_000);
  const set = loadConfig({ ...baseEnv, SYNC_DATABASE_TIMEOUT: "5s" }, [
    "--database-outage",
    "0s",
  ]);
  assert.equal(set.databaseTimeoutMs, 5_000);
  assert.equal(set.databaseOutageMs, 0);
  assert.equal(
    configError(baseEnv, ["--database-timeout", "0s"]).message,
    "--database-timeout: must be more than zero",
  );
});

Deno.test("loadConfig allows mass deletion only when asked", () => {
  assert.equal(loadConfig(baseEnv, []).allowMassDelete, false);
  assert.equal(loadConfig(baseEnv, ["--allow-mass-delete"]).allowMassDelete, true);
  assert.equal(
    loadConfig({ ...baseEnv, SYNC_ALLOW_MASS_DELETE: "true" }, []).allowMassDelete,
    true,
  );
  assert.equal(loadConfig({ ...baseEnv, SYNC_ALLOW_MASS_DELETE: "0" }, []).allowMassDelete, false);
  assert.equal(
    configError({ ...baseEnv, SYNC_ALLOW_MASS_DELETE: "maybe" }).message,
    "SYNC_ALLOW_MASS_DELETE: expected true or false",
  );
});

Deno.test("loadConfig runs every account at once unless told otherwise", () => {
  assert.equal(loadConfig(baseEnv, []).accountConcurrency, 1);
  const file = JSON.stringify({
    defaults: { password_env: "AD_PLATFORM_PASSWORD" },
    accounts: Array.from({ length: 300 }, (_, i) => ({ client_id: `c${i}` })),
  });
  const many = loadConfig({ ...baseEnv, SYNC_ACCOUNTS_FILE: "accounts.json" }, [], {
    readTextFile: () => file,
  });
  assert.equal(many.accounts.length, 300);
  assert.equal(many.accountConcurrency, 300);
  assert.equal(loadConfig(baseEnv, ["--account-concurrency", "8"]).accountConcurrency, 8);
  assert.equal(
    configError({ ...baseEnv, SYNC_ACCOUNT_CONCURRENCY: "0" }).message,
    "SYNC_ACCOUNT_CONCURRENCY: must be from 1 to 10000",
  );
});

Deno.test("loadConfig reads the ceiling on requests in flight per host", () => {
  const config = loadConfig(baseEnv, []);
  assert.equal(config.maxInFlight, undefined, "no ceiling: the work sizes the host gate");
  const set = loadConfig({ ...baseEnv, AD_PLATFORM_MAX_IN_FLIGHT: "64" }, []);
  assert.equal(set.maxInFlight, 64);
  assert.equal(
    configError({ ...baseEnv, AD_PLATFORM_MAX_IN_FLIGHT: "0" }).message,
    "AD_PLATFORM_MAX_IN_FLIGHT: must be from 1 to 100000",
  );
});

Deno.test("loadConfig without an accounts file syncs the environment's one account", () => {
  const config = loadConfig(
    { ...baseEnv, AD_PLATFORM_CLIENT_ID: "acme", AD_PLATFORM_PAGE_SIZE: "25" },
    ["--account", "acme"],
  );
  assert.equal(config.accountsFile, undefined);
  assert.deepEqual(config.accounts, [{
    clientId: "acme",
    apiUrl: "http://localhost:3001",
    email: "ops@example.com",
    password: "pw-123",
    rateLimit: { count: 10, windowMs: 60_000 },
    rateLimitAuto: true,
    pageSize: 25,
    credentialsFrom: "AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD",
  }]);
  assert.ok(Object.isFrozen(config.accounts));
  assert.equal(
    configError(baseEnv, ["--account", "globex"]).message,
    "--account: unknown account 'globex' (the only account is 'default' from " +
      "AD_PLATFORM_CLIENT_ID; list more in SYNC_ACCOUNTS_FILE)",
  );
});

Deno.test("loadConfig gives list requests a 5s deadline, never longer than the request timeout", () => {
  assert.equal(loadConfig(baseEnv, []).listTimeoutMs, 5_000);
  assert.equal(
    loadConfig({ ...baseEnv, AD_PLATFORM_REQUEST_TIMEOUT: "2s" }, []).listTimeoutMs,
    2_000,
  );
  const set = loadConfig({ ...baseEnv, AD_PLATFORM_LIST_TIMEOUT: "750ms" }, []);
  assert.equal(set.listTimeoutMs, 750);
  assert.equal(set.requestTimeoutMs, 15_000);
  assert.equal(
    configError(baseEnv, ["--list-timeout", "11m"]).message,
    "--list-timeout: must be at most 10m",
  );
});

Deno.test("loadConfig backs off from 500ms up to 10s by default, and takes both as settings", () => {
  const config = loadConfig(baseEnv, []);
  assert.equal(config.retryBackoffMs, 500);
  assert.equal(config.retryBackoffMaxMs, 10_000);
  const set = loadConfig({ ...baseEnv, SYNC_RETRY_BACKOFF: "25ms" }, ["--retry-backoff-max", "1s"]);
  assert.equal(set.retryBackoffMs, 25);
  assert.equal(set.retryBackoffMaxMs, 1_000);
});

Deno.test("loadConfig refuses a backoff cap below the first backoff, naming both", () => {
  const error = configError({ ...baseEnv, SYNC_RETRY_BACKOFF_MAX: "1s" }, [
    "--retry-backoff",
    "2s",
  ]);
  assert.equal(error.setting, "SYNC_RETRY_BACKOFF_MAX");
  assert.equal(error.message, "SYNC_RETRY_BACKOFF_MAX: must be at least --retry-backoff (2000 ms)");
  assert.equal(
    configError({ ...baseEnv, SYNC_RETRY_BACKOFF: "0ms" }).message,
    "SYNC_RETRY_BACKOFF: must be more than zero",
  );
});

Deno.test("loadConfig serves no endpoint unless a port is set, and binds it to localhost", () => {
  const none = loadConfig(baseEnv, []);
  assert.equal(none.httpPort, undefined);
  assert.equal(none.httpHost, "127.0.0.1");
  const env = { ...baseEnv, SYNC_HTTP_PORT: "9464", SYNC_HTTP_HOST: "0.0.0.0" };
  const fromEnv = loadConfig(env, []);
  assert.deepEqual([fromEnv.httpPort, fromEnv.httpHost], [9464, "0.0.0.0"]);
  const fromFlags = loadConfig(env, ["--http-port", "0", "--http-host", "[::1]"]);
  assert.deepEqual([fromFlags.httpPort, fromFlags.httpHost], [0, "::1"]);
  assert.equal(
    configError({ ...baseEnv, SYNC_HTTP_PORT: "65536" }).message,
    "SYNC_HTTP_PORT: must be from 0 to 65535",
  );
  assert.match(
    configError(baseEnv, ["--http-host", "a b"]).message,
    /^--http-host: expected an IP/,
  );
});

Deno.test("loadConfig gives each account one frozen plan: its settings, the request policy, resume", () => {
  const file = JSON.stringify({
    defaults: { email: "ops@example.com", password_env: "PW" },
    accounts: [{ client_id: "acme" }, { client_id: "globex", page_size: 20 }],
  });
  const config = loadConfig(
    { ...baseEnv, PW: "pw", SYNC_ACCOUNTS_FILE: "/etc/accounts.json", SYNC_MAX_ATTEMPTS: "3" },
    ["--resume", "--request-timeout", "2s", "--retry-backoff", "100ms"],
    { readTextFile: () => file },
  );
  assert.deepEqual(config.plans.map((plan) => plan.account), config.accounts);
  assert.equal(config.plans[1]?.account, config.accounts[1], "the account itself, not a copy");
  const request = {
    timeoutMs: 2_000,
    listTimeoutMs: 2_000,
    maxAttempts: 3,
    backoffBaseMs: 100,
    backoffCapMs: 10_000,
  };
  for (const plan of config.plans) {
    assert.deepEqual(plan.request, request);
    assert.equal(plan.resume, true);
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.request));
  }
  assert.ok(Object.isFrozen(config.plans));
  assert.equal(loadConfig(baseEnv, []).plans[0]?.resume, false);
});

Deno.test("loadConfig makes a worker resume every account's latest unfinished run", () => {
  const env = { ...baseEnv, DATABASE_URL: "postgres://localhost/adsync" };
  for (const args of [["worker"], ["worker", "--resume"]]) {
    const config = loadConfig(env, args);
    assert.equal(config.resume, true);
    assert.deepEqual(config.plans.map((plan) => plan.resume), [true]);
  }
  assert.equal(loadConfig(env, ["sync"]).resume, false);
});

Deno.test("loadConfig reads sql's query, and db serve's port on the embedded database only", () => {
  const sql = loadConfig({}, ["sql", "select count(*) from campaigns", "--json"]);
  assert.equal(sql.query, "select count(*) from campaigns");
  assert.equal(sql.json, true);
  assert.equal(loadConfig({}, ["db", "serve"]).dbPort, 5499);
  assert.equal(loadConfig({ SYNC_DB_PORT: "0" }, ["db", "serve", "--port", "6000"]).dbPort, 6000);
  assert.equal(loadConfig({}, ["status"]).query, undefined);
  assert.equal(configError({}, ["db", "serve", "--port", "70000"]).setting, "--port");
  const served = configError({ DATABASE_URL: "postgres://h/db" }, ["db", "serve"]);
  assert.equal(served.setting, "DATABASE_URL");
  assert.match(served.message, /serves the embedded database only/);
});

/** `.env.example`'s lines: the set ones, and the commented ones that show a value. */
async function envExample(): Promise<{ set: Record<string, string>; shown: [string, string][] }> {
  const text = await Deno.readTextFile(new URL("../.env.example", import.meta.url));
  const set: Record<string, string> = {};
  const shown: [string, string][] = [];
  for (const line of text.split("\n")) {
    const match = /^(# )?([A-Z][A-Z_]+)=(\S*)/.exec(line);
    if (!match) continue;
    const [, commented, name, value] = match;
    if (!commented) set[name!] = value!;
    else if (value) shown.push([name!, value]);
  }
  return { set, shown };
}

Deno.test(".env.example sets only the credentials and shows each default as it is", async () => {
  const { set, shown } = await envExample();
  const credentials = { AD_PLATFORM_EMAIL: "a@b.c", AD_PLATFORM_PASSWORD: "pw" };
  const defaults = loadConfig(credentials, []);
  assert.deepEqual(
    { ...loadConfig({ ...set, ...credentials }, []) },
    { ...defaults },
    "copied as it is, .env.example changes nothing but the credentials",
  );
  assert.ok(shown.length >= 10, `defaults are shown: ${shown}`);
  for (const [name, value] of shown) {
    if (name === "AD_PLATFORM_PASSWORD_FILE") continue; // an example path, in place of the password
    assert.deepEqual(
      { ...loadConfig({ ...credentials, [name]: value }, []) },
      { ...defaults },
      `# ${name}=${value} is its default`,
    );
  }
});
