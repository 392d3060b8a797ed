/**
 * End to end: `check` through the real CLI against the mock served over HTTP and a real
 * database: it logs in and reads the schema, sends no listing or sync request, names the
 * account whose login is refused, prints `--json`, leaks no secret; `--version` prints the
 * version, and the platform sees it in the User-Agent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { basicAuth } from "../../src/platform/token_manager.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { VERSION } from "../../src/version.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";
import { lastJsonLine, PROJECT_DIR, spawnSync } from "./_cli.ts";
import { e2e, explain, type Scenario } from "./_scenario.ts";

const LATEST = MIGRATIONS.at(-1)!.version;

function check(s: Scenario, args: string[] = [], extra: Record<string, string> = {}) {
  return spawnSync(s.env(extra), args, "check").finished;
}

e2e(
  "check exits 0 on a working setup, having sent nothing but one login, and says so briefly",
  { mock: { campaigns: 10 } },
  async (s) => {
    const outcome = await check(s);
    assert.equal(outcome.code, 0, explain(outcome));
    assert.match(outcome.stdout, new RegExp(`^adsync ${VERSION}: every check passed\n`));
    assert.match(outcome.stdout, /accounts {2}1 account logged in: default\n/);
    assert.match(outcome.stdout, /database {2}PostgreSQL at .*: migrations .* pending: the next/);
    assert.deepEqual(s.mock.log.map((entry) => [entry.method, entry.path]), [
      ["POST", "/auth/token"],
    ]);

    const synced = await s.run(["--json"]);
    assert.equal(synced.code, 0, explain(synced));
    assert.equal(lastJsonLine(synced.stdout).version, VERSION, "sync --json names the version");
    const again = await check(s, ["--json"]);
    assert.equal(again.code, 0, explain(again));
    const report = lastJsonLine(again.stdout);
    assert.deepEqual(report.database, {
      ok: true,
      database: (report.database as { database: string }).database,
      migrations: "current",
      applied: MIGRATIONS.map((m) => m.version),
      pending: [],
    });
    assert.equal(again.stderr.includes("adsync: check:"), false, again.stderr);
    const agents = new Set(s.mock.log.map((entry) => entry.userAgent));
    assert.deepEqual([...agents], [`adsync/${VERSION}`], "every request named adsync's version");
  },
);

e2e(
  "check with a wrong password exits 1 with one line naming the account, and --json says why",
  { mock: { campaigns: 10 } },
  async (s) => {
    const file = join(s.stateDir, "accounts.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        defaults: { password_env: "GOOD_PASSWORD" },
        accounts: [{ client_id: "acme", password_env: "ACME_PASSWORD" }, { client_id: "globex" }],
      }),
    );
    const env = {
      SYNC_ACCOUNTS_FILE: file,
      GOOD_PASSWORD: s.env().AD_PLATFORM_PASSWORD!,
      ACME_PASSWORD: "wrong",
    };
    const outcome = await check(s, [], env);
    assert.equal(outcome.code, 1, explain(outcome));
    assert.equal(
      outcome.stderr,
      `adsync: check: account acme: the platform at ${s.mock.url} refused the credentials (401): ` +
        "check its email and password_env (or password_file) in the accounts file\n",
    );
    assert.equal(outcome.stdout, "");

    const json = await check(s, ["--json"], env);
    assert.equal(json.code, 1, explain(json));
    const report = lastJsonLine(json.stdout);
    assert.deepEqual(
      [report.ok, report.version, (report.database as { ok: boolean }).ok],
      [false, VERSION, true],
    );
    assert.deepEqual(report.accounts, [
      {
        account: "acme",
        api_url: s.mock.url,
        ok: false,
        error: `the platform at ${s.mock.url} refused the credentials (401): check its email ` +
          "and password_env (or password_file) in the accounts file",
        error_code: "AUTH_REFUSED",
      },
      { account: "globex", api_url: s.mock.url, ok: true },
    ]);
    assert.ok(s.mock.log.every((entry) => entry.path === "/auth/token"), "only logins were sent");
  },
);

e2e(
  "check on the embedded database: not created yet is no problem, then its migrations are current",
  { embedded: true, mock: { campaigns: 10, syncDelayMs: 200 } },
  async (s) => {
    const fresh = await check(s, ["--json"]);
    assert.equal(fresh.code, 0, explain(fresh));
    const database = lastJsonLine(fresh.stdout).database as Record<string, unknown>;
    assert.deepEqual([database.migrations, database.note], [
      "pending",
      "not created yet: the first sync creates it",
    ]);
    const synced = await s.run([]);
    assert.equal(synced.code, 0, explain(synced));
    const current = await check(s);
    assert.equal(current.code, 0, explain(current));
    assert.match(current.stdout, new RegExp(`migrations current \\(version ${LATEST}\\)`));
  },
);

e2e(
  "check leaves the embedded database to a running sync and still exits 0",
  { embedded: true, mock: { campaigns: 10, syncDelayMs: 120_000 } },
  async (s) => {
    const sync = s.spawn([]);
    await s.watchCheckpoint(sync);
    const outcome = await check(s);
    assert.equal(outcome.code, 0, explain(outcome));
    assert.match(
      outcome.stdout,
      /database {2}the embedded PostgreSQL at .*: Another adsync sync is running on .* \(pid \d+\): it holds the database/,
    );
    assert.equal(sync.exited(), false, "the sync was still running");
  },
);

e2e("check leaks no password or token in its output at debug level", {}, async (s) => {
  const { email, password } = MOCK_CREDENTIALS;
  const wrong = `pa"ss\\wörd 🔑 ${crypto.randomUUID()}`;
  const secrets = [
    password,
    basicAuth({ email, password }),
    wrong,
    basicAuth({ email, password: wrong }),
  ];
  for (const format of ["json", "pretty"]) {
    const debug = { LOG_LEVEL: "debug", LOG_FORMAT: format };
    const refused = await check(s, ["--json"], { ...debug, AD_PLATFORM_PASSWORD: wrong });
    const ok = await check(s, ["--json"], debug);
    assert.equal(refused.code, 1, explain(refused));
    assert.equal(ok.code, 0, explain(ok));
    assert.match(ok.stderr, /Logged in for account/, "debug logs were written");
    for (const outcome of [refused, ok]) {
      const output = outcome.stdout + outcome.stderr;
      for (const secret of secrets) {
        assert.ok(!output.includes(secret), `${format}: the output leaks a credential`);
      }
      assert.doesNotMatch(output, /mock_[0-9a-f]{32}/, `${format}: the output leaks a token`);
    }
  }
});

Deno.test("check --help lists only check's exit codes, 0 and 1", async () => {
  const outcome = await spawnSync({}, ["--help"], "check").finished;
  assert.equal(outcome.code, 0, explain(outcome));
  const exitCodes = outcome.stdout.slice(outcome.stdout.indexOf("Exit codes:"));
  assert.equal(
    exitCodes,
    "Exit codes: 0 every check passed, 1 a problem (one line each on stderr).\n",
  );
  assert.match(outcome.stdout, /--account ID +check only this account/);
  const top = await spawnSync({}, ["--help"], "help").finished;
  assert.match(
    top.stdout,
    /deno task check \[flags\] +log in and reach the database; sync nothing/,
  );
  assert.match(top.stdout, /main\.ts --version +print adsync's version/);
});

Deno.test("main.ts --version and -V print adsync's version and nothing else", async () => {
  for (const args of [["--version"], ["-V"], ["check", "--json", "--version"]]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", ...args],
      cwd: PROJECT_DIR,
      env: { ...fromHere("PATH", "HOME", "DENO_DIR"), NO_COLOR: "1" },
      clearEnv: true,
      stdin: "null",
    }).output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    assert.equal(output.code, 0, text(output.stderr));
    assert.equal(text(output.stdout), `adsync ${VERSION}\n`);
    assert.equal(text(output.stderr), "");
  }
});

/** The variables of this process that Deno needs to find its cache, and no adsync setting. */
function fromHere(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value]];
  }));
}
