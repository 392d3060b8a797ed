import assert from "node:assert/strict";
import { join } from "node:path";
import { checkpointPath, openStateDir } from "../../src/sync/state_dir.ts";

const POSIX = Deno.build.os !== "windows";

async function withParentDir(fn: (parent: string) => Promise<void>): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "adsync_state_" });
  try {
    await fn(parent);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

function modeOf(path: string): string {
  return ((Deno.statSync(path).mode ?? 0) & 0o777).toString(8);
}

/** The modes of the checkpoint files that exist, by suffix. */
function checkpointModes(stateDir: string): Record<string, string> {
  const modes: Record<string, string> = {};
  for (const suffix of ["", "-wal", "-shm"]) {
    const path = checkpointPath(stateDir) + suffix;
    try {
      modes[suffix || "db"] = modeOf(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return modes;
}

Deno.test({
  name: "openStateDir creates the state dir, pgdata and the checkpoint files owner-only",
  ignore: !POSIX,
  fn: () =>
    withParentDir(async (parent) => {
      const stateDir = join(parent, "state");
      const state = await openStateDir(stateDir);
      try {
        state.checkpoint.recordSend("acme", Date.now());
        assert.equal(modeOf(stateDir), "700");
        assert.equal(modeOf(join(stateDir, "pgdata")), "700");
        assert.equal(modeOf(join(stateDir, "sync.lock")), "600");
        const modes = checkpointModes(stateDir);
        assert.equal(modes.db, "600");
        assert.equal(modes["-wal"], "600");
        for (const mode of Object.values(modes)) assert.equal(mode, "600");
      } finally {
        state.close();
      }
    }),
});

Deno.test({
  name: "openStateDir tightens a world-readable state dir, pgdata and checkpoint it reopens",
  ignore: !POSIX,
  fn: () =>
    withParentDir(async (parent) => {
      const stateDir = join(parent, "state");
      (await openStateDir(stateDir)).close();
      await Deno.chmod(stateDir, 0o755);
      await Deno.chmod(join(stateDir, "pgdata"), 0o755);
      await Deno.chmod(checkpointPath(stateDir), 0o644);
      const state = await openStateDir(stateDir);
      try {
        assert.equal(modeOf(stateDir), "700");
        assert.equal(modeOf(join(stateDir, "pgdata")), "700");
        for (const mode of Object.values(checkpointModes(stateDir))) assert.equal(mode, "600");
      } finally {
        state.close();
      }
    }),
});

Deno.test("openStateDir leaves out pgdata when the database is a server", () =>
  withParentDir(async (parent) => {
    const stateDir = join(parent, "state");
    const state = await openStateDir(stateDir, { embeddedDatabase: false });
    state.close();
    assert.throws(() => Deno.statSync(join(stateDir, "pgdata")), Deno.errors.NotFound);
  }));
