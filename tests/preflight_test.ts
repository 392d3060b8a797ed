/**
 * checkWritablePaths reads the process's own write permission, so the tests of a narrow grant run
 * it in a child process started with `--allow-write` of one dir only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { checkWritablePaths, unrestrictedCommand } from "../src/preflight.ts";

const BASE_ENV = { AD_PLATFORM_EMAIL: "ops@example.com", AD_PLATFORM_PASSWORD: "pw-123" };
const MODULE_URL = new URL("../src/preflight.ts", import.meta.url).href;
const CONFIG_URL = new URL("../src/config.ts", import.meta.url).href;
const CONFIG_FILE = fileURLToPath(new URL("../deno.json", import.meta.url));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_preflight_" });
  try {
    await fn(dir);
  } finally {
    await Deno.chmod(dir, 0o700).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

async function preflightError(args: string[]): Promise<ConfigError> {
  try {
    await checkWritablePaths(loadConfig(BASE_ENV, args));
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error;
  }
  assert.fail("expected checkWritablePaths to throw");
}

Deno.test("checkWritablePaths creates a missing state dir and leaves no probe behind", async () => {
  await withDir(async (dir) => {
    const stateDir = join(dir, "a", "b");
    await checkWritablePaths(loadConfig(BASE_ENV, ["sync", "--state-dir", stateDir]));
    assert.ok((await Deno.stat(stateDir)).isDirectory);
    assert.deepEqual([...Deno.readDirSync(stateDir)], []);
  });
});

Deno.test("checkWritablePaths names the metrics file's setting when its dir does not exist", async () => {
  await withDir(async (dir) => {
    const metricsFile = join(dir, "missing", "adsync.prom");
    const error = await preflightError(
      ["sync", "--state-dir", join(dir, "state"), "--metrics-file", metricsFile],
    );
    assert.equal(error.setting, "SYNC_METRICS_FILE (--metrics-file)");
    assert.match(
      error.message,
      new RegExp(`cannot write ${metricsFile}: ${join(dir, "missing")} does not exist`),
    );
  });
});

Deno.test("checkWritablePaths checks the worker's metrics file but not its state dir", async () => {
  await withDir(async (dir) => {
    const stateDir = join(dir, "never-created");
    const env = { ...BASE_ENV, DATABASE_URL: "postgres://u@localhost/db" };
    await checkWritablePaths(loadConfig(env, ["worker", "--state-dir", stateDir]));
    assert.equal(await Deno.stat(stateDir).then(() => true, () => false), false);
    const metricsFile = join(dir, "gone", "m.prom");
    await assert.rejects(
      checkWritablePaths(loadConfig(env, ["worker", "--metrics-file", metricsFile])),
      (error) => error instanceof ConfigError && /does not exist/.test(error.message),
    );
  });
});

Deno.test("A process without write permission there is told the command that may write anywhere", async () => {
  await withDir(async (dir) => {
    const allowed = join(dir, "allowed");
    await Deno.mkdir(allowed);
    const outside = join(dir, "outside");
    const script = `
      const { loadConfig } = await import(${JSON.stringify(CONFIG_URL)});
      const { checkWritablePaths } = await import(${JSON.stringify(MODULE_URL)});
      try {
        await checkWritablePaths(loadConfig(${JSON.stringify(BASE_ENV)},
          ["sync", "--state-dir", ${JSON.stringify(outside)}]));
        console.log("passed");
      } catch (error) { console.log((error as Error).name + ": " + (error as Error).message); }
    `;
    const probe = join(allowed, "probe.ts");
    await Deno.writeTextFile(probe, script);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", `--config=${CONFIG_FILE}`, `--allow-write=${allowed}`, "--allow-read", probe],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout).trim();
    assert.match(text, /^ConfigError: SYNC_STATE_DIR \(--state-dir\): cannot write /);
    assert.ok(text.includes(`this process may not write ${outside}`), text);
    assert.ok(text.endsWith(`run ${unrestrictedCommand("sync")} with the same flags`), text);
    assert.equal(await Deno.stat(outside).then(() => true, () => false), false, "nothing made");
  });
});

Deno.test("unrestrictedCommand runs the command as deno task does, with every permission", () => {
  assert.equal(unrestrictedCommand("worker"), "deno run -A --env-file=.env main.ts worker");
});
