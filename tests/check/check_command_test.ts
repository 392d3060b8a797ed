import assert from "node:assert/strict";
import { join } from "node:path";
import { createMockApi } from "../../mock-api/server.ts";
import {
  checkProblems,
  type CheckReport,
  formatCheckSummary,
  runCheckCommand,
} from "../../src/check/check_command.ts";
import { loadConfig } from "../../src/config.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { VERSION } from "../../src/version.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";
import { serverTest, withFreshServerDatabase } from "../store/_helpers.ts";

const KNOWN = MIGRATIONS.map((migration) => migration.version);

const passed: CheckReport = {
  ok: true,
  version: VERSION,
  settings: { ok: true },
  accounts: ["acme", "globex", "initech", "hooli", "umbrella", "stark", "wayne"].map((id) => ({
    account: id,
    api_url: "http://platform.test/",
    ok: true,
  })),
  database: {
    ok: true,
    database: "PostgreSQL at db:5432/adsync",
    migrations: "current",
    applied: KNOWN,
    pending: [],
  },
};

Deno.test("A check that passed reads as a short summary naming what was checked", () => {
  assert.deepEqual(checkProblems(passed), []);
  assert.equal(
    formatCheckSummary(passed),
    [
      `adsync ${VERSION}: every check passed`,
      "  settings  valid; the state dir is writable",
      "  accounts  7 accounts logged in: acme, globex, initech, hooli, umbrella and 2 more",
      `  database  PostgreSQL at db:5432/adsync: migrations current (version ${KNOWN.at(-1)})`,
    ].join("\n"),
  );
});

Deno.test("Each problem is one line naming the account, the setting or the database", () => {
  const report: CheckReport = {
    ...passed,
    ok: false,
    settings: { ok: false, error: "SYNC_STATE_DIR (--state-dir): cannot write x: no" },
    accounts: [
      { ...passed.accounts[0]!, ok: false, error: "refused", error_code: "AUTH_REFUSED" },
      passed.accounts[1]!,
    ],
    database: { ...passed.database, ok: false, error: "Cannot connect to PostgreSQL at db" },
  };
  assert.deepEqual(checkProblems(report), [
    "SYNC_STATE_DIR (--state-dir): cannot write x: no",
    "account acme: refused",
    "database: Cannot connect to PostgreSQL at db",
  ]);
});

serverTest("runCheckCommand logs in, reads the database and says ok", async (serverUrl) => {
  const api = createMockApi(CALM_MOCK);
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_check_" });
  try {
    await withFreshServerDatabase(serverUrl, async (url) => {
      const env = {
        AD_PLATFORM_API_URL: "http://platform.test",
        AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
        AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
        DATABASE_URL: url,
        SYNC_STATE_DIR: stateDir,
      };
      const tokens: string[] = [];
      const report = await runCheckCommand(loadConfig(env, ["check"]), {
        fetch: (input, init) => api.handler(new Request(input, init)),
        onToken: (token) => void tokens.push(token),
      });
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.version, VERSION);
      assert.deepEqual(report.accounts.map((a) => [a.account, a.ok]), [["default", true]]);
      assert.deepEqual([report.database.migrations, report.database.pending], ["pending", KNOWN]);
      assert.equal(tokens.length, 1, "the token is handed over for redaction");
      assert.deepEqual(api.log.map((entry) => entry.path), ["/auth/token"]);
    });
  } finally {
    api.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("runCheckCommand reports a state dir it cannot write as a settings problem", async () => {
  const api = createMockApi(CALM_MOCK);
  const dir = await Deno.makeTempDir({ prefix: "adsync_check_" });
  try {
    const blocker = join(dir, "a-file");
    await Deno.writeTextFile(blocker, "");
    const env = {
      AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      DATABASE_URL: "postgres://nobody@127.0.0.1:9/none",
      SYNC_STATE_DIR: join(blocker, "state"),
    };
    const report = await runCheckCommand(loadConfig(env, ["check"]), {
      fetch: (input, init) => api.handler(new Request(input, init)),
    });
    assert.equal(report.ok, false);
    assert.equal(report.settings.error_code, "CONFIG_INVALID");
    assert.match(report.settings.error!, /^SYNC_STATE_DIR \(--state-dir\): cannot write /);
    assert.equal(report.accounts[0]?.ok, true, "the logins are checked all the same");
    assert.equal(checkProblems(report).length, 2, "the settings and the database");
  } finally {
    api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
