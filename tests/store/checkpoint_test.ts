/**
 * What only the SQLite checkpoint does: its file, its schema versions, its durability under
 * kill -9. What every checkpoint does is in checkpoint_contract_test.ts.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { createFakeClock, settle } from "../_fake_clock.ts";
import { type Checkpoint, CheckpointError, openCheckpoint } from "../../src/store/checkpoint.ts";

const baseRun = {
  runId: "run-1",
  account: "acme",
  apiUrl: "http://localhost:3001",
  pageSize: 10,
  startedAt: 1_000,
};

/** Runs `fn` with a checkpoint in a fresh temp dir, closing and removing everything after. */
async function withCheckpoint(
  fn: (checkpoint: Checkpoint, dir: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"));
  try {
    await fn(checkpoint, dir);
  } finally {
    await checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Checkpoint refuses a file that is not a SQLite database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  try {
    const path = join(dir, "checkpoint.sqlite");
    await Deno.writeFile(path, crypto.getRandomValues(new Uint8Array(8192)));
    assert.throws(() => openCheckpoint(path), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(error.name, "CheckpointError");
      assert.match(error.message, /^Cannot open checkpoint /);
      assert.ok(error.message.includes(path));
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint refuses a file with a newer schema version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  try {
    const path = join(dir, "checkpoint.sqlite");
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE future (x); PRAGMA user_version = 99");
    db.close();
    assert.throws(() => openCheckpoint(path), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(
        error.message,
        `Cannot open checkpoint ${path}: schema version 99 is newer than this adsync supports (3)`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint keeps every write made before the process was killed with SIGKILL", async () => {
  await withCheckpoint(async (checkpoint, dir) => {
    await checkpoint.close();
    const moduleUrl = new URL("../../src/store/checkpoint.ts", import.meta.url).href;
    const script = `
      const { openCheckpoint } = await import(${JSON.stringify(moduleUrl)});
      const checkpoint = openCheckpoint(${JSON.stringify(checkpoint.where)});
      await checkpoint.createRun(${JSON.stringify(baseRun)});
      await checkpoint.savePage("run-1", { page: 1, records: [{ id: "c1" }], total: 2, hasMore: true });
      await checkpoint.markDone("run-1", ["c1", "c2"], "synced");
      await checkpoint.recordSend("acme", 1234);
      Deno.kill(Deno.pid, "SIGKILL");
    `;
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(status.signal, "SIGKILL");
    const reopened = openCheckpoint(checkpoint.where);
    try {
      assert.equal((await reopened.getRun("run-1"))?.status, "running");
      assert.deepEqual(
        await reopened.done("run-1"),
        new Map([["c1", "synced"], ["c2", "synced"]]),
      );
      assert.deepEqual((await reopened.pages("run-1")).map((p) => p.records), [[{ id: "c1" }]]);
      assert.deepEqual(await reopened.recentSends("acme", 0), [1234]);
    } finally {
      await reopened.close();
    }
  });
});

Deno.test("Checkpoint opens a version 1 file and keeps its runs and pages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  try {
    const path = join(dir, "checkpoint.sqlite");
    const old = openCheckpoint(path);
    await old.createRun(baseRun);
    await old.savePage("run-1", { page: 1, records: [{ id: "c1" }], total: 12, hasMore: true });
    await old.close();
    // What an older adsync left behind: the version 1 schema, without the learnt page size.
    const db = new DatabaseSync(path);
    db.exec(`ALTER TABLE runs DROP COLUMN page_limit; ALTER TABLE done DROP COLUMN change;
      PRAGMA user_version = 1`);
    db.close();

    const checkpoint = openCheckpoint(path);
    try {
      assert.equal((await checkpoint.latestUnfinished("acme"))?.runId, "run-1");
      assert.equal((await checkpoint.getRun("run-1"))?.pageLimit, null);
      const pages = await checkpoint.pages("run-1");
      assert.deepEqual(pages.map((page) => page.records), [[{ id: "c1" }]]);
      await checkpoint.setPageLimit("run-1", 5);
      assert.equal((await checkpoint.getRun("run-1"))?.pageLimit, 5);
    } finally {
      await checkpoint.close();
    }
    const reopened = new DatabaseSync(path);
    assert.equal(reopened.prepare("PRAGMA user_version").get()?.user_version, 3);
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint opens a version 2 file: campaigns it finished count without a change", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  try {
    const path = join(dir, "checkpoint.sqlite");
    const old = openCheckpoint(path);
    await old.createRun(baseRun);
    await old.markDone("run-1", ["c1", "c2"], "synced");
    await old.close();
    // What the previous adsync left behind: the version 2 schema, which kept no change.
    const db = new DatabaseSync(path);
    db.exec("ALTER TABLE done DROP COLUMN change; PRAGMA user_version = 2");
    db.close();

    const checkpoint = openCheckpoint(path);
    try {
      await checkpoint.markDone("run-1", ["c3"], "synced", new Map([["c3", "updated"] as const]));
      const { synced, inserted, updated, unchanged } = await checkpoint.progress("run-1");
      assert.deepEqual({ synced, inserted, updated, unchanged }, {
        synced: 3,
        inserted: 0,
        updated: 1,
        unchanged: 0,
      });
    } finally {
      await checkpoint.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint commits writes made together in one transaction, each resolved once it committed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  const clock = createFakeClock();
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"), { clock });
  const reader = new DatabaseSync(join(dir, "checkpoint.sqlite"));
  const sends = () => reader.prepare("SELECT count(*) AS n FROM sends").get()?.n;
  try {
    let resolved = 0;
    const writes = [1, 2, 3].map((at) => checkpoint.recordSend("acme", at).then(() => resolved++));
    await settle();
    assert.equal(sends(), 0, "nothing is committed while the group gathers");
    assert.equal(resolved, 0);
    await clock.tick(1_000);
    await Promise.all(writes);
    assert.equal(sends(), 3);
    assert.equal(resolved, 3);
  } finally {
    reader.close();
    await checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint fails a write of a group for itself only: the others of its group commit", async () => {
  await withCheckpoint(async (checkpoint) => {
    await checkpoint.createRun(baseRun);
    const results = await Promise.allSettled([
      checkpoint.recordSend("acme", 1),
      checkpoint.setTotals("no-such-run", 5, 1),
      checkpoint.setTotals("run-1", 7, 1),
    ]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    const failure = (results[1] as PromiseRejectedResult).reason;
    assert.ok(failure instanceof CheckpointError);
    assert.match(
      failure.message,
      /^Cannot set totals of run no-such-run in checkpoint .*: unknown run no-such-run$/,
    );
    assert.deepEqual(await checkpoint.recentSends("acme", 0), [1]);
    assert.equal((await checkpoint.getRun("run-1"))?.total, 7);
  });
});

Deno.test("Checkpoint commits the writes still gathering when it is closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  const path = join(dir, "checkpoint.sqlite");
  try {
    const checkpoint = openCheckpoint(path, { clock: createFakeClock() });
    const recorded = checkpoint.recordSend("acme", 42);
    await checkpoint.close();
    await recorded;
    const reopened = openCheckpoint(path);
    assert.deepEqual(await reopened.recentSends("acme", 0), [42]);
    await reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint's writes of two runs in one group leave each updated at its latest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  const clock = createFakeClock();
  let now = 1_000;
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"), { clock, now: () => now });
  try {
    const created = Promise.all([
      checkpoint.createRun(baseRun),
      checkpoint.createRun({ ...baseRun, runId: "run-2" }),
    ]);
    await clock.tick(1_000);
    await created;
    const writes = ["c1", "c2", "c3"].flatMap((id) =>
      ["run-1", "run-2"].map((runId) => {
        now += 100;
        return checkpoint.recordSynced(runId, id, "2026-01-01T00:00:00Z");
      })
    );
    await clock.tick(1_000);
    await Promise.all(writes);
    assert.equal((await checkpoint.getRun("run-1"))?.updatedAt, 1_500);
    assert.equal((await checkpoint.getRun("run-2"))?.updatedAt, 1_600);
    assert.deepEqual([...(await checkpoint.syncedPending("run-1")).keys()], ["c1", "c2", "c3"]);
  } finally {
    await checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint refuses a write made after it was closed, at once", async () => {
  await withCheckpoint(async (checkpoint) => {
    await checkpoint.recordSend("acme", 1);
    await checkpoint.close();
    await assert.rejects(checkpoint.recordSend("acme", 2), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(
        error.message,
        /^Cannot record a request in checkpoint .*: the checkpoint is closed$/,
      );
      return true;
    });
  });
});
