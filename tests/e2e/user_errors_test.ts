/**
 * End to end, as a new user meets them: a platform that is not running, paths the task may not
 * write, pretty logs of many accounts, and a table at 80 columns, with the real CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { lastJsonLine, PROJECT_DIR } from "./_cli.ts";
import { e2e, explain, type Scenario } from "./_scenario.ts";

/** A port nothing listens on: bound, then freed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Lines of stderr that are not JSON log records: what a person reads. */
function plainLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
}

e2e("A platform that is not running is one line, once, saying what to check", {}, async (s) => {
  const url = `http://127.0.0.1:${closedPort()}`;
  const expected = `Cannot log in to ${url} for account default: connection refused ` +
    "(is the platform running? check AD_PLATFORM_API_URL)";
  const json = await s.run([], { SYNC_MAX_ATTEMPTS: "1" }, url);
  assert.equal(json.code, 1, explain(json));
  assert.deepEqual(plainLines(json.stderr), [`adsync: ${expected}`]);
  assert.equal(json.stdout, "", "no table of a run that never started");
  const pretty = await s.run([], { SYNC_MAX_ATTEMPTS: "1", LOG_FORMAT: "pretty" }, url);
  assert.equal(pretty.code, 1, explain(pretty));
  const output = pretty.stdout + pretty.stderr;
  assert.equal(output.split(expected).length - 1, 1, `said once:\n${output}`);
});

e2e(
  "A refused password is one line naming the settings that hold the credentials",
  {},
  async (s) => {
    const outcome = await s.run([], { AD_PLATFORM_PASSWORD: "not-the-password" });
    assert.equal(outcome.code, 1, explain(outcome));
    assert.deepEqual(plainLines(outcome.stderr), [
      `adsync: Cannot log in to ${s.mock.url} for account default: the platform refused the ` +
      "credentials (401); check AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD",
    ]);
  },
);

e2e(
  "A refused password's JSON summary and JSON log line carry the error code AUTH_REFUSED",
  {},
  async (s) => {
    const outcome = await s.run(["--json"], { AD_PLATFORM_PASSWORD: "not-the-password" });
    assert.equal(outcome.code, 1, explain(outcome));
    const summary = lastJsonLine(outcome.stdout);
    assert.equal(summary.status, "failed");
    assert.match(String(summary.last_error), /refused the credentials \(401\)/);
    assert.equal(summary.error_code, "AUTH_REFUSED");
    const records = outcome.stderr.split("\n").filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    const failed = records.find((r) => / failed: Cannot log in/.test(String(r.message)));
    assert.ok(failed, explain(outcome));
    assert.equal(failed.properties.error_code, "AUTH_REFUSED");
    assert.ok(!outcome.stderr.includes("not-the-password"), "no secret in the logs");
  },
);

/** Serves `answer` to every request; counts them. */
function otherServer(answer: () => Response) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return answer();
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, requests: () => requests, server };
}

e2e(
  "A server that is not the platform is one line asking whether the URL is the Ad Platform",
  {},
  async (s) => {
    const html = () =>
      new Response("<html><body>It works!</body></html>", {
        headers: { "content-type": "text/html" },
      });
    const answers = [
      () => new Response("Not Implemented", { status: 501 }),
      () => new Response("Not Found", { status: 404 }),
      html,
    ];
    for (const answer of answers) {
      const other = otherServer(answer);
      try {
        const outcome = await s.run([], {}, other.url);
        assert.equal(outcome.code, 1, explain(outcome));
        const lines = plainLines(outcome.stderr);
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
          lines[0]!,
          /^adsync: Cannot log in to http:\/\/127\.0\.0\.1:\d+ for account default: .+ \(is this the Ad Platform\? check AD_PLATFORM_API_URL\)$/,
        );
        assert.equal(other.requests(), 1, "an answer no wait changes is not asked again");
      } finally {
        await other.server.shutdown();
      }
    }
  },
);

/** Runs the sync with `deno task sync`'s permissions: writes allowed only in the state dir. */
function runWithTaskPermissions(s: Scenario, args: string[]) {
  const permissions = ["--allow-net", "--allow-env", "--allow-read", `--allow-write=${s.stateDir}`];
  return runDeno(s, ["run", ...permissions, "--allow-sys", "main.ts", "sync", ...args]);
}

/** Runs `deno <args>` in the project with the scenario's environment only. */
async function runDeno(s: Scenario, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: PROJECT_DIR,
    env: { ...s.env(), PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

e2e(
  "A metrics file or state dir the process may not write is one line before any request",
  {},
  async (s) => {
    const outside = await Deno.makeTempDir({ prefix: "adsync_outside_" });
    s.defer(() => Deno.remove(outside, { recursive: true }));
    const metrics = await runWithTaskPermissions(s, ["--metrics-file", join(outside, "m.prom")]);
    assert.equal(metrics.code, 1, metrics.stderr);
    assert.match(
      metrics.stderr,
      /^adsync: SYNC_METRICS_FILE \(--metrics-file\): cannot write .*m\.prom: this process may not write .*; choose a path under \.adsync.*\n$/,
    );
    const state = await runWithTaskPermissions(s, ["--state-dir", join(outside, "state")]);
    assert.equal(state.code, 1, state.stderr);
    assert.match(state.stderr, /^adsync: SYNC_STATE_DIR \(--state-dir\): cannot write .*state: /);
    assert.doesNotMatch(state.stderr, /--allow-write flag|Requires write access/);
    assert.equal(s.mock.log.length, 0, "no request was sent");
  },
);

e2e(
  "The command the unwritable-path error suggests runs the sync with the same flags",
  { mock: { campaigns: 20 } },
  async (s) => {
    const outside = await Deno.makeTempDir({ prefix: "adsync_outside_" });
    s.defer(() => Deno.remove(outside, { recursive: true }));
    const flags = ["--state-dir", join(outside, "state")];
    const refused = await runWithTaskPermissions(s, flags);
    assert.equal(refused.code, 1, refused.stderr);
    const suggested = /or run deno (.+ main\.ts sync) with the same flags/.exec(refused.stderr);
    assert.ok(suggested, `a command is suggested: ${refused.stderr}`);
    const outcome = await runDeno(s, [...suggested[1]!.split(" "), ...flags, "--json"]);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.doesNotMatch(outcome.stderr, /NotCapable|Requires \w+ access/);
    assert.equal(lastJsonLine(outcome.stdout).synced, 20);
  },
);

/** Two accounts, globex with a password the platform refuses. */
async function twoAccounts(s: Scenario): Promise<Record<string, string>> {
  const path = join(s.stateDir, "accounts.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      defaults: { email: "admin@mixoads.com", password_env: "AD_PLATFORM_PASSWORD" },
      accounts: [{ client_id: "acme" }, { client_id: "globex", password_env: "WRONG_PASSWORD" }],
    }),
  );
  return { SYNC_ACCOUNTS_FILE: path, WRONG_PASSWORD: "not-the-password" };
}

e2e(
  "Pretty logs name the account on every run line, one line per event",
  { mock: { campaigns: 20 } },
  async (s) => {
    const env = { ...(await twoAccounts(s)), LOG_FORMAT: "pretty", NO_COLOR: "1" };
    const outcome = await s.run([], env);
    assert.equal(outcome.code, 1, explain(outcome));
    const logLines = outcome.stderr.split("\n").filter((line) => line !== "");
    const timed = /^\d\d:\d\d:\d\d\.\d{3}\s/;
    const events = logLines.filter((line) => timed.test(line));
    assert.deepEqual(logLines.filter((line) => !timed.test(line)), [], "no property lines");
    const runLines = events.filter((line) =>
      /\s(?:info|warning|error)\s+(?:run|sync)\s/.test(line)
    );
    for (const line of runLines.filter((l) => /Run |Starting run/.test(l))) {
      assert.match(line, /\s(acme|globex): /, `names its account: ${line}`);
    }
    assert.ok(events.some((line) => /acme: Run \S+ ended ok: 20 synced/.test(line)));
    assert.ok(events.some((line) => /globex: Run \S+ failed: Cannot log in/.test(line)));
  },
);

e2e(
  "At COLUMNS=80 the summary table fits, each error under its account's row",
  { mock: { campaigns: 20 } },
  async (s) => {
    const outcome = await s.run([], { ...(await twoAccounts(s)), COLUMNS: "80" });
    assert.equal(outcome.code, 1, explain(outcome));
    const lines = outcome.stdout.trimEnd().split("\n");
    for (const line of lines) assert.ok(line.length <= 80, `wider than 80: ${line}`);
    const globex = lines.findIndex((line) => line.startsWith("globex"));
    assert.match(lines[globex]!, /^globex\s+failed\s/);
    assert.match(
      lines[globex + 1]!,
      /^ {2}error: Cannot log in to http:\/\/\S+ for account globex:/,
    );
    assert.ok(lines.some((line) => /^acme\s+ok\s+20\s+20\s/.test(line)));
  },
);
