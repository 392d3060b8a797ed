import assert from "node:assert/strict";
import { join } from "node:path";
import { serveMockApi } from "../../mock-api/server.ts";
import { basicAuth } from "../../src/platform/token_manager.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";
import { runSync, serverTest } from "./_cli.ts";

const SERVER_URL = Deno.env.get("TEST_DATABASE_URL");
const EMAIL = "ops@example.com";
const PASSWORD = `pa"ss\\wörd 🔑 ${crypto.randomUUID()}`;
const MOCK_TOKEN = /mock_[0-9a-f]{32}/;

/** Runs the real CLI at debug level and returns everything it wrote. */
async function runCli(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await runSync({
    AD_PLATFORM_EMAIL: EMAIL,
    AD_PLATFORM_PASSWORD: PASSWORD,
    AD_PLATFORM_RATE_LIMIT: "10/1s",
    AD_PLATFORM_REQUEST_TIMEOUT: "500ms",
    LOG_LEVEL: "debug",
    ...env,
  }, ["--json"]);
  return { code, output: stdout + stderr };
}

/** Asserts that no credential or token shows in `text`. */
function assertNoSecret(text: string, where: string): void {
  const basic = basicAuth({ email: EMAIL, password: PASSWORD });
  for (const secret of [PASSWORD, basic, basic.slice("Basic ".length)]) {
    assert.ok(!text.includes(secret), `${where} leaks a credential`);
  }
  assert.doesNotMatch(text, MOCK_TOKEN, `${where} leaks a bearer token`);
}

async function readAll(dir: string): Promise<string> {
  let text = "";
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) {
      text += new TextDecoder("utf-8", { fatal: false }).decode(
        await Deno.readFile(join(dir, entry.name)),
      );
    }
  }
  return text;
}

for (const format of ["json", "pretty"]) {
  serverTest(
    `No credential or token appears in ${format} debug logs, the checkpoint or metrics`,
    async () => {
      assert.ok(SERVER_URL, "TEST_DATABASE_URL must name a PostgreSQL server for this suite");
      const mock = await serveMockApi({
        email: EMAIL,
        password: PASSWORD,
        rateLimit: { count: 10, windowMs: 1_000 },
        errorRate: 0.3,
        hangRate: 0.1,
        tokenTtlMs: 1_000,
        syncDelayMs: 20,
        campaigns: 30,
        seed: 5,
      });
      const stateDir = await Deno.makeTempDir({ prefix: "adsync_secrets_" });
      try {
        await withFreshServerDatabase(SERVER_URL, async (databaseUrl) => {
          const { code, output } = await runCli({
            AD_PLATFORM_API_URL: mock.url,
            DATABASE_URL: databaseUrl,
            SYNC_STATE_DIR: stateDir,
            SYNC_METRICS_FILE: join(stateDir, "adsync.prom"),
            LOG_FORMAT: format,
          });
          assert.equal(code, 0, output);
          assert.match(output, /Refreshed the access token|logging in again/);
          assertNoSecret(output, "the output");
          assertNoSecret(await readAll(stateDir), "the state dir");
          // What cron leaves behind: the metrics file holds this run's numbers.
          const metrics = await Deno.readTextFile(join(stateDir, "adsync.prom"));
          assert.match(metrics, /^adsync_campaigns_synced\{account="default"\} 30$/m);
          assert.match(metrics, /^adsync_run_status\{account="default",status="ok"\} 1$/m);
          assert.match(
            metrics,
            /^adsync_last_run_requests\{[^}]*endpoint="token",status="200"\} \d+$/m,
          );
        });
      } finally {
        await mock.close();
        await Deno.remove(stateDir, { recursive: true });
      }
    },
  );
}

Deno.test("Refused credentials end the run with one line that shows no secret", async () => {
  const mock = await serveMockApi({ email: EMAIL, password: "the real one", seed: 1 });
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_secrets_" });
  try {
    const { code, output } = await runCli({
      AD_PLATFORM_API_URL: mock.url,
      SYNC_STATE_DIR: stateDir,
      LOG_LEVEL: "info",
    });
    assert.equal(code, 1);
    assert.match(output, /Cannot log in to .*refused the credentials \(401\)/);
    assert.doesNotMatch(output, /\n\s+at /, "no stack trace below debug level");
    assertNoSecret(output, "the output");
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("An unreachable database is one line that hides its password", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_secrets_" });
  try {
    const { code, output } = await runCli({
      DATABASE_URL: "postgres://adsync:db-secret-pw@127.0.0.1:1/adsync",
      SYNC_STATE_DIR: stateDir,
      LOG_LEVEL: "info",
    });
    assert.equal(code, 1);
    assert.match(output, /^adsync: Cannot connect to PostgreSQL/m);
    assert.ok(!output.includes("db-secret-pw"), "the database password leaked");
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

serverTest(
  "No account's credential or token appears in debug logs of a many-account run",
  async () => {
    assert.ok(SERVER_URL, "TEST_DATABASE_URL must name a PostgreSQL server for this suite");
    // Each client logs in with credentials of its own: one from a variable, one from a file.
    const logins = {
      acme: { email: "acme@example.com", password: `acme "pw" \\ ${crypto.randomUUID()}` },
      globex: { email: "globex@example.com", password: `globex 🔑 ${crypto.randomUUID()}` },
    };
    const mock = await serveMockApi({
      clients: logins,
      rateLimit: { count: 10, windowMs: 1_000 },
      errorRate: 0.3,
      hangRate: 0.1,
      tokenTtlMs: 1_000,
      syncDelayMs: 20,
      campaigns: 15,
      seed: 6,
    });
    const stateDir = await Deno.makeTempDir({ prefix: "adsync_secrets_" });
    const secretsDir = await Deno.makeTempDir({ prefix: "adsync_secrets_files_" });
    try {
      const passwordFile = join(secretsDir, "globex.pw");
      await Deno.writeTextFile(passwordFile, `${logins.globex.password}\n`);
      const accountsFile = join(secretsDir, "accounts.json");
      await Deno.writeTextFile(
        accountsFile,
        JSON.stringify({
          accounts: [
            { client_id: "acme", email: logins.acme.email, password_env: "ACME_PASSWORD" },
            { client_id: "globex", email: logins.globex.email, password_file: passwordFile },
          ],
        }),
      );
      await withFreshServerDatabase(SERVER_URL, async (databaseUrl) => {
        const { code, stdout, stderr } = await runSync({
          AD_PLATFORM_API_URL: mock.url,
          AD_PLATFORM_RATE_LIMIT: "10/1s",
          AD_PLATFORM_REQUEST_TIMEOUT: "500ms",
          ACME_PASSWORD: logins.acme.password,
          SYNC_ACCOUNTS_FILE: accountsFile,
          DATABASE_URL: databaseUrl,
          SYNC_STATE_DIR: stateDir,
          SYNC_METRICS_FILE: join(stateDir, "adsync.prom"),
          LOG_LEVEL: "debug",
          LOG_FORMAT: "json",
        }, ["--json"]);
        const output = stdout + stderr;
        assert.equal(code, 0, output);
        assert.match(output, /"account":"acme"/);
        assert.match(output, /"account":"globex"/);
        assert.match(output, /Refreshed the access token|logging in again/);
        const state = await readAll(stateDir);
        for (const login of Object.values(logins)) {
          const basic = basicAuth(login);
          for (const secret of [login.password, basic, basic.slice("Basic ".length)]) {
            assert.ok(!output.includes(secret), `the output leaks ${login.email}'s credential`);
            assert.ok(!state.includes(secret), `the state dir leaks ${login.email}'s credential`);
          }
        }
        assert.doesNotMatch(output, MOCK_TOKEN, "the output leaks a bearer token");
        assert.doesNotMatch(state, MOCK_TOKEN, "the state dir leaks a bearer token");
      });
    } finally {
      await mock.close();
      await Deno.remove(stateDir, { recursive: true });
      await Deno.remove(secretsDir, { recursive: true });
    }
  },
);
