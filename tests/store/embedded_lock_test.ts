import assert from "node:assert/strict";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  acquireEmbeddedLock,
  EmbeddedBusyError,
  markDataDir,
} from "../../src/store/embedded_lock.ts";

async function withStateDir(fn: (stateDir: string) => Promise<void>): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_embedded_lock_" });
  try {
    await Deno.mkdir(join(stateDir, "pgdata"));
    await fn(stateDir);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("A second opener is refused naming the first, until the first releases", async () => {
  await withStateDir(async (stateDir) => {
    const first = await acquireEmbeddedLock(stateDir, "sync");
    assert.equal(first.holder, `sync (pid ${Deno.pid})`);
    await assert.rejects(acquireEmbeddedLock(stateDir, "sql"), (error) => {
      assert.ok(error instanceof EmbeddedBusyError);
      assert.equal(error.holder, `sync (pid ${Deno.pid})`);
      assert.equal(
        error.message,
        `The embedded database under ${stateDir} is open by sync (pid ${Deno.pid}); ` +
          "try again when it ends",
      );
      return true;
    });
    first.release();
    first.release();
    const second = await acquireEmbeddedLock(stateDir, "sql");
    second.release();
  });
});

Deno.test("A postmaster.pid written by PGlite itself is refused as another program's", async () => {
  await withStateDir(async (stateDir) => {
    const pidFile = join(stateDir, "pgdata", "postmaster.pid");
    // What PGlite writes when it opens a directory (a pglite-server, say).
    await Deno.writeTextFile(pidFile, "-42\n/pglite/data\n1796547155\n5432\n");
    await assert.rejects(acquireEmbeddedLock(stateDir, "sync"), (error) => {
      assert.ok(error instanceof EmbeddedBusyError);
      assert.equal(error.holder, "another program");
      assert.match(error.message, /is open by another program \(a pglite-server\?\)/);
      assert.match(error.message, /'adsync db serve'/);
      assert.ok(error.message.endsWith(`remove ${pidFile}`));
      return true;
    });
    assert.match(await Deno.readTextFile(pidFile), /^-42\n/, "the file is left alone");
    // Refused, it holds nothing: once the file is gone, the next opener gets in.
    await Deno.remove(pidFile);
    (await acquireEmbeddedLock(stateDir, "sync")).release();
  });
});

Deno.test("The marker of an adsync that died is cleared by the next opener", async () => {
  await withStateDir(async (stateDir) => {
    const pidFile = join(stateDir, "pgdata", "postmaster.pid");
    markDataDir(join(stateDir, "pgdata"), "sync (pid 1)");
    const lock = await acquireEmbeddedLock(stateDir, "sync");
    try {
      await assert.rejects(Deno.stat(pidFile), Deno.errors.NotFound);
    } finally {
      lock.release();
    }
  });
});

Deno.test("A bare PGlite refuses a data directory that adsync has marked", async () => {
  await withStateDir(async (stateDir) => {
    const dataDir = join(stateDir, "pgdata");
    const db = await PGlite.create(dataDir);
    await db.exec("create table kept (n int); insert into kept values (1), (2)");
    markDataDir(dataDir, "sync (pid 7)");
    await assert.rejects(PGlite.create(dataDir));
    // The opener's own PGlite is undisturbed and removes the marker as it closes.
    assert.equal((await db.query("select count(*)::int as n from kept")).rows.length, 1);
    await db.close();
    await assert.rejects(Deno.stat(join(dataDir, "postmaster.pid")), Deno.errors.NotFound);
    const again = await PGlite.create(dataDir);
    const { rows } = await again.query<{ n: number }>("select count(*)::int as n from kept");
    assert.equal(rows[0]?.n, 2);
    await again.close();
  });
});
