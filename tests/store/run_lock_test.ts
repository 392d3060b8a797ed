import assert from "node:assert/strict";
import { join } from "node:path";
import { CheckpointError } from "../../src/store/checkpoint.ts";
import { acquireRunLock } from "../../src/store/run_lock.ts";

async function withStateDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_lock_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("acquireRunLock refuses a second sync and names the pid holding the lock", async () => {
  await withStateDir((dir) => {
    const lock = acquireRunLock(dir);
    try {
      assert.throws(() => acquireRunLock(dir), (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.equal(
          error.message,
          `Another adsync sync is running on ${dir} (pid ${Deno.pid})`,
        );
        return true;
      });
    } finally {
      lock.release();
    }
  });
});

Deno.test("acquireRunLock takes over the lock of a sync killed with SIGKILL", async () => {
  await withStateDir(async (dir) => {
    const moduleUrl = new URL("../../src/store/run_lock.ts", import.meta.url).href;
    const script = `
      const { acquireRunLock } = await import(${JSON.stringify(moduleUrl)});
      acquireRunLock(${JSON.stringify(dir)});
      Deno.kill(Deno.pid, "SIGKILL");
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    const lockPath = join(dir, "sync.lock");
    assert.equal((await Deno.readTextFile(lockPath)).trim(), String(child.pid));
    const lock = acquireRunLock(dir);
    try {
      assert.equal((await Deno.readTextFile(lockPath)).trim(), String(Deno.pid));
    } finally {
      lock.release();
    }
  });
});

Deno.test("acquireRunLock release removes the lock so the next sync can start", async () => {
  await withStateDir((dir) => {
    acquireRunLock(dir).release();
    assert.throws(() => Deno.statSync(join(dir, "sync.lock")), Deno.errors.NotFound);
    acquireRunLock(dir).release();
  });
});

Deno.test({
  name: "acquireRunLock creates its lock file readable by the owner only",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withStateDir((dir) => {
      const lock = acquireRunLock(dir);
      try {
        assert.equal((Deno.statSync(join(dir, "sync.lock")).mode ?? 0) & 0o777, 0o600);
      } finally {
        lock.release();
      }
    }),
});

Deno.test({
  name: "acquireRunLock tightens a world-readable lock file left by a dead sync",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withStateDir((dir) => {
      const path = join(dir, "sync.lock");
      Deno.writeTextFileSync(path, "999999\n", { mode: 0o644 });
      Deno.chmodSync(path, 0o644);
      const lock = acquireRunLock(dir);
      try {
        assert.equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o600);
      } finally {
        lock.release();
      }
    }),
});

Deno.test({
  name: "acquireRunLock creates a missing state dir owner-only",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withStateDir((parent) => {
      const dir = join(parent, "state");
      acquireRunLock(dir).release();
      assert.equal((Deno.statSync(dir).mode ?? 0) & 0o777, 0o700);
    }),
});
