import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import {
  addSecret,
  configureLogging,
  type LoggingOptions,
  resetLogging,
  withRunContext,
} from "../../src/report/logging.ts";

const email = "admin@mixoads.com";
const password = "SuperSecret123!";
const basic = btoa(`${email}:${password}`);
const token = "tok_live_9f8e7d6c5b4a";
const log = getLogger(["adsync", "test"]);

/** Configures logging, runs `fn`, resets, and returns the lines written. */
async function capture(
  options: Omit<LoggingOptions, "write">,
  fn: () => unknown,
): Promise<string[]> {
  const chunks: string[] = [];
  await configureLogging({ ...options, write: (text) => chunks.push(text) });
  try {
    await fn();
  } finally {
    await resetLogging();
  }
  return chunks.join("").split("\n").filter((line) => line !== "");
}

function logEveryKindOfSecret(): void {
  log.debug("Requesting a token with {authorization}", { authorization: `Basic ${basic}` });
  log.debug("Logging in as {email}", { email, password });
  log.debug("Token issued", { access_token: token, expires_in: 3600 });
  log.debug("Sending {method}", { method: "GET", headers: { Authorization: `Bearer ${token}` } });
  log.debug("Raw answer {body}", { body: JSON.stringify({ access_token: token }) });
  log.info(`Connecting to postgres://adsync:${password}@db:5432/adsync`);
  const cause = new Error(`Server said: Authorization: Bearer ${token} is not valid`);
  const error = new Error(`Cannot fetch page 3: 401 for token ${token}`, { cause });
  log.error("Cannot fetch page {page}: {error}", { page: 3, error });
}

for (const format of ["json", "pretty"] as const) {
  Deno.test(`Debug ${format} logs never show the password, the Basic credentials or a token`, async () => {
    const lines = await capture(
      { level: "debug", format, secrets: [password, basic, token] },
      logEveryKindOfSecret,
    );
    const text = lines.join("\n");
    for (const secret of [password, basic, token]) {
      assert.ok(!text.includes(secret), `${secret} leaked in:\n${text}`);
    }
    assert.match(text, /\[REDACTED\]/);
    assert.match(text, /Cannot fetch page 3: 401 for token \[REDACTED\]/);
    assert.match(text, /Server said: Authorization: Bearer \[REDACTED\] is not valid/);
    assert.match(text, /postgres:\/\/adsync:\[REDACTED\]@db:5432/);
  });
}

Deno.test("A password with quotes, a backslash and a newline is redacted in both formats", async () => {
  const nasty = `p"a\\s's\nw0rd`;
  for (const format of ["json", "pretty"] as const) {
    const lines = await capture({ level: "debug", format, secrets: [nasty] }, () => {
      log.debug("Config {config}", { config: { dsn_pass: nasty } });
      log.error("Login failed: {error}", { error: new Error(`bad password ${nasty}`) });
    });
    const text = lines.join("\n");
    for (const fragment of [`p"a`, "a\\s", "a\\\\s", "w0rd"]) {
      assert.ok(!text.includes(fragment), `${format} leaked ${fragment}:\n${text}`);
    }
  }
});

Deno.test("Credentials are redacted by their shape even when no secret was registered", async () => {
  const lines = await capture({ level: "debug", format: "json" }, () => {
    log.debug("Sending {request}", { request: { headers: { authorization: `Basic ${basic}` } } });
    log.debug(`Got 401 for Authorization: Bearer ${token}`);
    log.debug("Login with {user}", { user: email, password, api_key: token, cookie: token });
    log.warn(`Cannot reach postgres://adsync:${password}@db/adsync`);
  });
  const text = lines.join("\n");
  for (const secret of [password, basic, token]) assert.ok(!text.includes(secret), text);
  assert.equal(lines.length, 4);
});

Deno.test("Ordinary words after Basic or in URLs are left readable", async () => {
  const lines = await capture({ level: "info", format: "json" }, () => {
    log.info("Basic setup done, see http://localhost:3001/health");
  });
  assert.equal(JSON.parse(lines[0]!).message, "Basic setup done, see http://localhost:3001/health");
});

Deno.test("A token registered later with addSecret is redacted from then on", async () => {
  const fresh = "tok_refreshed_0a1b2c3d";
  const lines = await capture({ level: "debug", format: "json", secrets: [token] }, () => {
    addSecret(fresh);
    log.info(`Switched to token ${fresh}`);
    log.error("Sync failed: {error}", { error: new Error("rejected", { cause: fresh }) });
  });
  const text = lines.join("\n");
  assert.ok(!text.includes(fresh), text);
  assert.match(text, /Switched to token \[REDACTED\]/);
});

Deno.test("JSON lines parse as JSON and carry run_id and account from withRunContext", async () => {
  const lines = await capture({ level: "info", format: "json" }, async () => {
    await withRunContext({ run_id: "run-42", account: "acme" }, async () => {
      log.info("Fetched page {page}", { page: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1));
      getLogger(["adsync", "store"]).info("Committed {count} rows", { count: 10 });
    });
    log.info("Outside any run");
  });
  const records = lines.map((line) => JSON.parse(line));
  assert.equal(records.length, 3);
  for (const record of records.slice(0, 2)) {
    assert.equal(record.properties.run_id, "run-42");
    assert.equal(record.properties.account, "acme");
    assert.equal(typeof record.timestamp, "string");
    assert.equal(record.level, "info");
  }
  assert.equal(records[0].message, "Fetched page 1");
  assert.equal(records[0].category, "adsync.test");
  assert.equal(records[1].message, "Committed 10 rows");
  assert.equal(records[1].category, "adsync.store");
  assert.equal(records[2].properties.run_id, undefined);
});

Deno.test("An error logged as JSON keeps its message, stack and cause", async () => {
  const error = new Error("Cannot fetch page 3: 503", { cause: new Error("socket hang up") });
  const [line] = await capture({ level: "info", format: "json" }, () => {
    log.error("Page failed: {error}", { error });
  });
  const record = JSON.parse(line!);
  assert.equal(record.message, "Page failed: Error: Cannot fetch page 3: 503");
  assert.equal(record.properties.error.message, "Cannot fetch page 3: 503");
  assert.match(record.properties.error.stack, /logging_test\.ts/);
  assert.equal(record.properties.error.cause.message, "socket hang up");
});

Deno.test("Records below the configured level are not written", async () => {
  const lines = await capture({ level: "warning", format: "json" }, () => {
    log.debug("debug line");
    log.info("info line");
    log.warn("warning line");
    log.error("error line");
  });
  assert.deepEqual(lines.map((line) => JSON.parse(line).message), ["warning line", "error line"]);
});

Deno.test("LogTape's own meta messages stay out of the output", async () => {
  const lines = await capture({ level: "debug", format: "json" }, () => log.info("hello"));
  assert.deepEqual(lines.map((line) => JSON.parse(line).category), ["adsync.test"]);
});

Deno.test("Pretty lines name the account, one line per event, without the properties", async () => {
  const lines = await capture(
    { level: "info", format: "pretty" },
    () =>
      withRunContext({ run_id: "run-7", account: "acme" }, () => {
        log.warn("Rate limit reached, waiting {seconds}s", { seconds: 12, page: 3 });
        log.info("Run {run_id} ended ok: {synced} synced", {
          run_id: "run-7",
          synced: 100,
          skipped: 0,
          requests: 110,
          retries: 3,
        });
        log.info("Job {job} started: account {account}", { job: 1, account: "acme" });
      }),
  );
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[0]!, /warning.*acme: Rate limit reached, waiting 12s$/);
  assert.match(lines[1]!, /acme: Run run-7 ended ok: 100 synced$/);
  assert.match(
    lines[2]!,
    /Job 1 started: account acme$/,
    "an account the message names is not repeated",
  );
  assert.ok(!lines.join("").includes("\x1b["), "no ANSI escapes when writing to a capture");
});

Deno.test("JSON lines keep every property of the run's end", async () => {
  const lines = await capture(
    { level: "info", format: "json" },
    () =>
      withRunContext({ run_id: "run-7", account: "acme" }, () => {
        log.info("Run {run_id} ended ok: {synced} synced", { synced: 100, requests: 110 });
      }),
  );
  const { properties } = JSON.parse(lines[0]!);
  assert.deepEqual(properties, { run_id: "run-7", account: "acme", synced: 100, requests: 110 });
});

Deno.test("Pretty lines name the module without padding it past the longest module name", async () => {
  const lines = await capture({ level: "info", format: "pretty" }, () => {
    getLogger(["adsync", "run"]).info("Starting run {run_id}", { run_id: "run-7" });
    getLogger(["adsync", "worker"]).warn("Worker {worker} started", { worker: "w1" });
  });
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3}\s+info\s+run\s+Starting run run-7$/);
  assert.match(lines[1]!, /\swarning\sworker\sWorker w1 started$/);
  // The time, the level and the module take 30 columns: 50 are left for the message at 80.
  for (const line of lines) assert.ok(line.search(/Starting|Worker/) <= 30, line);
  assert.equal(lines[0]!.indexOf("Starting"), lines[1]!.indexOf("Worker"), "messages line up");
});
