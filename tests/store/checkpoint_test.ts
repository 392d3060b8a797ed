import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
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
  now: () => number = () => 5_000,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"), { now });
  try {
    await fn(checkpoint, dir);
  } finally {
    checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Checkpoint returns saved pages with their raw records byte-exact", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun(baseRun);
    const records = [
      { id: "c1", name: 'He said "hi" \\ and left 🎉', nested: { a: [1, { b: null }], t: true } },
      "a bare string with \u0000 and \n",
      42.5,
      null,
      [1, "two", { three: 3 }],
      { id: "c2", budget: "1e400", weird: "\ud83d" },
    ];
    checkpoint.savePage("run-1", { page: 2, records, total: 12, hasMore: false });
    checkpoint.savePage("run-1", { page: 1, records: [{ id: "x" }], total: 12, hasMore: true });
    const pages = checkpoint.pages("run-1");
    assert.deepEqual(pages.map((p) => p.page), [1, 2]);
    assert.deepEqual(pages[1], { page: 2, records, total: 12, hasMore: false });
    assert.equal(JSON.stringify(pages[1]?.records), JSON.stringify(records));
  });
});

Deno.test("Checkpoint replaces a page saved twice instead of duplicating it", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun(baseRun);
    checkpoint.savePage("run-1", { page: 1, records: [{ id: "old" }], total: 1, hasMore: true });
    checkpoint.savePage("run-1", { page: 1, records: [{ id: "new" }], total: 1, hasMore: false });
    assert.deepEqual(checkpoint.pages("run-1"), [
      { page: 1, records: [{ id: "new" }], total: 1, hasMore: false },
    ]);
    assert.equal(checkpoint.progress("run-1").pagesDone, 1);
  });
});

Deno.test("Checkpoint markDone is idempotent and survives a reopen", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun(baseRun);
    checkpoint.markDone("run-1", ["c1", "c2"], "synced");
    checkpoint.markDone("run-1", ["c1", "c2"], "synced");
    checkpoint.markDone("run-1", ["c3"], "rejected");
    checkpoint.close();
    const reopened = openCheckpoint(checkpoint.path);
    try {
      assert.deepEqual(
        reopened.done("run-1"),
        new Map([["c1", "synced"], ["c2", "synced"], ["c3", "rejected"]]),
      );
      assert.deepEqual(reopened.progress("run-1"), {
        pagesDone: 0,
        synced: 2,
        rejected: 1,
        failed: 0,
      });
    } finally {
      reopened.close();
    }
  });
});

Deno.test("Checkpoint keeps failed campaigns out of done() so a resume retries them", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun(baseRun);
    checkpoint.markDone("run-1", ["c1"], "synced");
    checkpoint.markFailed("run-1", "c2", "Cannot upsert: connection reset");
    assert.deepEqual(checkpoint.done("run-1"), new Map([["c1", "synced"]]));
    assert.equal(checkpoint.progress("run-1").failed, 1);
    checkpoint.markDone("run-1", ["c2"], "synced");
    assert.equal(checkpoint.progress("run-1").failed, 0);
    assert.equal(checkpoint.done("run-1").get("c2"), "synced");
  });
});

Deno.test("Checkpoint bumps updatedAt on every write touching a run", async () => {
  let clock = 2_000;
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun(baseRun);
    assert.equal(checkpoint.getRun("run-1")?.updatedAt, 2_000);
    clock = 3_000;
    checkpoint.setTotals("run-1", 25, 3);
    clock = 4_000;
    checkpoint.savePage("run-1", { page: 1, records: [], total: 25, hasMore: true });
    assert.equal(checkpoint.getRun("run-1")?.updatedAt, 4_000);
    clock = 6_000;
    checkpoint.finishRun("run-1", "partial", "2 campaigns failed");
    assert.deepEqual(checkpoint.getRun("run-1"), {
      ...baseRun,
      updatedAt: 6_000,
      status: "partial",
      total: 25,
      pagesTotal: 3,
      pageLimit: null,
      lastError: "2 campaigns failed",
    });
  }, () => clock);
});

Deno.test("Checkpoint latestUnfinished skips finished runs and returns the newest", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun({ ...baseRun, runId: "old", startedAt: 1_000 });
    checkpoint.createRun({ ...baseRun, runId: "mid", startedAt: 2_000 });
    checkpoint.createRun({ ...baseRun, runId: "new", startedAt: 3_000 });
    checkpoint.createRun({ ...baseRun, runId: "other", account: "globex", startedAt: 4_000 });
    checkpoint.finishRun("old", "interrupted");
    checkpoint.finishRun("mid", "failed", "Database unreachable");
    checkpoint.finishRun("new", "ok");
    assert.equal(checkpoint.latestUnfinished("acme")?.runId, "mid");
    assert.equal(checkpoint.latestUnfinished("globex")?.status, "running");
    assert.equal(checkpoint.latestUnfinished("nobody"), undefined);
    assert.deepEqual(checkpoint.latestRuns(2).map((r) => r.runId), ["other", "new"]);
  });
});

Deno.test("Checkpoint recentSends filters by time and account", async () => {
  await withCheckpoint((checkpoint) => {
    for (const at of [300, 100, 200, 400]) checkpoint.recordSend("acme", at);
    checkpoint.recordSend("globex", 350);
    assert.deepEqual(checkpoint.recentSends("acme", 200), [200, 300, 400]);
    assert.deepEqual(checkpoint.recentSends("globex", 0), [350]);
    checkpoint.pruneSends("acme", 300);
    assert.deepEqual(checkpoint.recentSends("acme", 0), [300, 400]);
    assert.deepEqual(checkpoint.recentSends("globex", 0), [350]);
  });
});

Deno.test("Checkpoint recordSend prunes send times older than the retention now and then", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"), { sendRetentionMs: 1_000 });
  try {
    checkpoint.recordSend("acme", 0);
    for (let i = 0; i < 99; i++) checkpoint.recordSend("acme", 5_000 + i);
    const sends = checkpoint.recentSends("acme", 0);
    assert.equal(sends.length, 99);
    assert.equal(sends[0], 5_000);
  } finally {
    checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint lets a second handle read while the first one writes", async () => {
  await withCheckpoint((writer) => {
    const reader = openCheckpoint(writer.path);
    try {
      writer.createRun(baseRun);
      writer.markDone("run-1", ["c1"], "synced");
      assert.deepEqual(reader.done("run-1"), new Map([["c1", "synced"]]));
    } finally {
      reader.close();
    }
  });
});

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
        `Cannot open checkpoint ${path}: schema version 99 is newer than this adsync supports (2)`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpoint keeps every write made before the process was killed with SIGKILL", async () => {
  await withCheckpoint(async (checkpoint, dir) => {
    checkpoint.close();
    const moduleUrl = new URL("../../src/store/checkpoint.ts", import.meta.url).href;
    const script = `
      const { openCheckpoint } = await import(${JSON.stringify(moduleUrl)});
      const checkpoint = openCheckpoint(${JSON.stringify(checkpoint.path)});
      checkpoint.createRun(${JSON.stringify(baseRun)});
      checkpoint.savePage("run-1", { page: 1, records: [{ id: "c1" }], total: 2, hasMore: true });
      checkpoint.markDone("run-1", ["c1", "c2"], "synced");
      checkpoint.recordSend("acme", 1234);
      Deno.kill(Deno.pid, "SIGKILL");
    `;
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(status.signal, "SIGKILL");
    const reopened = openCheckpoint(checkpoint.path);
    try {
      assert.equal(reopened.getRun("run-1")?.status, "running");
      assert.deepEqual(reopened.done("run-1"), new Map([["c1", "synced"], ["c2", "synced"]]));
      assert.deepEqual(reopened.pages("run-1").map((p) => p.records), [[{ id: "c1" }]]);
      assert.deepEqual(reopened.recentSends("acme", 0), [1234]);
    } finally {
      reopened.close();
    }
  });
});

Deno.test("Checkpoint keeps a platform sync until its row is committed", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun(baseRun);
    checkpoint.recordSynced("run-1", "c1", "2026-01-01T00:00:00.000Z");
    checkpoint.recordSynced("run-1", "c2", "2026-01-01T00:00:01.000Z");
    assert.deepEqual(
      checkpoint.syncedPending("run-1"),
      new Map([["c1", "2026-01-01T00:00:00.000Z"], ["c2", "2026-01-01T00:00:01.000Z"]]),
    );
    checkpoint.markDone("run-1", ["c1"], "synced");
    assert.deepEqual([...checkpoint.syncedPending("run-1").keys()], ["c2"]);
  });
});

Deno.test("Checkpoint keeps the page size learnt from a capped platform for the resume", async () => {
  await withCheckpoint((checkpoint) => {
    checkpoint.createRun({ ...baseRun, pageSize: 100 });
    assert.equal(checkpoint.getRun("run-1")?.pageLimit, null);
    checkpoint.setPageLimit("run-1", 25);
    assert.equal(checkpoint.getRun("run-1")?.pageLimit, 25);
    assert.equal(checkpoint.latestUnfinished("acme")?.pageLimit, 25);
  });
});

Deno.test("Checkpoint opens a version 1 file and keeps its runs and pages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
  try {
    const path = join(dir, "checkpoint.sqlite");
    const old = openCheckpoint(path);
    old.createRun(baseRun);
    old.savePage("run-1", { page: 1, records: [{ id: "c1" }], total: 12, hasMore: true });
    old.close();
    // What an older adsync left behind: the version 1 schema, without the learnt page size.
    const db = new DatabaseSync(path);
    db.exec("ALTER TABLE runs DROP COLUMN page_limit; PRAGMA user_version = 1");
    db.close();

    const checkpoint = openCheckpoint(path);
    try {
      assert.equal(checkpoint.latestUnfinished("acme")?.runId, "run-1");
      assert.equal(checkpoint.getRun("run-1")?.pageLimit, null);
      assert.deepEqual(checkpoint.pages("run-1").map((page) => page.records), [[{ id: "c1" }]]);
      checkpoint.setPageLimit("run-1", 5);
      assert.equal(checkpoint.getRun("run-1")?.pageLimit, 5);
    } finally {
      checkpoint.close();
    }
    const reopened = new DatabaseSync(path);
    assert.equal(reopened.prepare("PRAGMA user_version").get()?.user_version, 2);
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
