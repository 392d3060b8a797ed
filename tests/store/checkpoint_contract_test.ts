/**
 * What every Checkpoint promises, run against each implementation: the SQLite file of `sync`
 * and the PostgreSQL tables of workers (on the test server and on the embedded PGlite).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Checkpoint,
  CheckpointError,
  type CheckpointOptions,
  openCheckpoint,
} from "../../src/store/checkpoint.ts";
import { openPgCheckpoint } from "../../src/store/pg_checkpoint.ts";
import { withEmbeddedDatabase, withServerDatabase } from "./_helpers.ts";

/** A checkpoint under test and a way to open a second handle on the same storage. */
interface Subject {
  checkpoint: Checkpoint;
  /** Opens another checkpoint on the same storage, as another process would. */
  reopen(): Promise<Checkpoint>;
}

type Case = (subject: Subject) => Promise<void>;

/** Registers `fn` once per implementation; `options` are given to every handle opened. */
function contract(name: string, fn: Case, options: CheckpointOptions = {}): void {
  Deno.test(`${name} (sqlite)`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "adsync_checkpoint_" });
    const path = join(dir, "checkpoint.sqlite");
    const handles = [openCheckpoint(path, options)];
    try {
      await fn({
        checkpoint: handles[0]!,
        reopen: () => Promise.resolve(handles[handles.push(openCheckpoint(path, options)) - 1]!),
      });
    } finally {
      for (const handle of handles) await handle.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
  const onPostgres = async (
    { db, reopen }: Parameters<Parameters<typeof withServerDatabase>[1]>[0],
  ) => {
    const others: { close(): Promise<void> }[] = [];
    try {
      await fn({
        checkpoint: openPgCheckpoint(db.sql, { ...options, where: db.label }),
        reopen: async () => {
          const other = await reopen();
          others.push(other);
          return openPgCheckpoint(other.sql, { ...options, where: other.label });
        },
      });
    } finally {
      for (const other of others) await other.close();
    }
  };
  withServerDatabase(name, onPostgres);
  if (EMBEDDED.has(name)) withEmbeddedDatabase(name, onPostgres);
}

/** The cases also run on PGlite: its start costs seconds, so the ones its SQL could differ on. */
const EMBEDDED = new Set([
  "Checkpoint returns saved pages with their raw records byte-exact",
  "Checkpoint keeps a platform sync until its row is committed",
  "Checkpoint keeps what committing each campaign changed, so a resume still counts it",
]);

const baseRun = {
  runId: "run-1",
  account: "acme",
  apiUrl: "http://localhost:3001",
  pageSize: 10,
  startedAt: 1_000,
};

contract(
  "Checkpoint returns saved pages with their raw records byte-exact",
  async ({ checkpoint }) => {
    await checkpoint.createRun(baseRun);
    const records = [
      { id: "c1", name: 'He said "hi" \\ and left 🎉', nested: { a: [1, { b: null }], t: true } },
      "a bare string with \u0000 and \n",
      42.5,
      null,
      [1, "two", { three: 3 }],
      { id: "c2", budget: "1e400", weird: "\ud83d", sql: "'); drop table campaigns; --" },
      { z: 1, a: 2, "": "empty key", "\u0000": "nul key" },
    ];
    await checkpoint.savePage("run-1", { page: 2, records, total: 12, hasMore: false });
    await checkpoint.savePage("run-1", {
      page: 1,
      records: [{ id: "x" }],
      total: 12,
      hasMore: true,
    });
    const pages = await checkpoint.pages("run-1");
    assert.deepEqual(pages.map((p) => p.page), [1, 2]);
    assert.deepEqual(pages[1], { page: 2, records, total: 12, hasMore: false });
    assert.equal(JSON.stringify(pages[1]?.records), JSON.stringify(records));
  },
);

contract(
  "Checkpoint replaces a page saved twice instead of duplicating it",
  async ({ checkpoint }) => {
    await checkpoint.createRun(baseRun);
    await checkpoint.savePage("run-1", {
      page: 1,
      records: [{ id: "old" }],
      total: 1,
      hasMore: true,
    });
    await checkpoint.savePage("run-1", {
      page: 1,
      records: [{ id: "new" }],
      total: 1,
      hasMore: false,
    });
    assert.deepEqual(await checkpoint.pages("run-1"), [
      { page: 1, records: [{ id: "new" }], total: 1, hasMore: false },
    ]);
    assert.equal((await checkpoint.progress("run-1")).pagesDone, 1);
  },
);

contract("Checkpoint markDone is idempotent and seen by another handle", async (subject) => {
  const { checkpoint } = subject;
  await checkpoint.createRun(baseRun);
  await checkpoint.markDone("run-1", ["c1", "c2"], "synced");
  await checkpoint.markDone("run-1", ["c1", "c2", "c2"], "synced");
  await checkpoint.markDone("run-1", ["c3"], "rejected");
  await checkpoint.markDone("run-1", [], "synced");
  const reopened = await subject.reopen();
  assert.deepEqual(
    await reopened.done("run-1"),
    new Map([["c1", "synced"], ["c2", "synced"], ["c3", "rejected"]]),
  );
  assert.deepEqual(await reopened.progress("run-1"), {
    pagesDone: 0,
    synced: 2,
    rejected: 1,
    failed: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
  });
});

contract(
  "Checkpoint keeps what committing each campaign changed, so a resume still counts it",
  async ({ checkpoint }) => {
    await checkpoint.createRun(baseRun);
    await checkpoint.markDone(
      "run-1",
      ["c1", "c2", "c3"],
      "synced",
      new Map([["c1", "inserted"], ["c2", "updated"], ["c3", "unchanged"]] as const),
    );
    await checkpoint.markDone("run-1", ["c4"], "synced", new Map([["c4", "unchanged"] as const]));
    // Marked again by a retried commit: it now counts as what that commit saw.
    await checkpoint.markDone("run-1", ["c1"], "synced", new Map([["c1", "unchanged"] as const]));
    await checkpoint.markDone("run-1", ["c5"], "rejected");
    assert.deepEqual(await checkpoint.progress("run-1"), {
      pagesDone: 0,
      synced: 4,
      rejected: 1,
      failed: 0,
      inserted: 0,
      updated: 1,
      unchanged: 3,
    });
  },
);

contract(
  "Checkpoint keeps failed campaigns out of done() so a resume retries them",
  async ({ checkpoint }) => {
    await checkpoint.createRun(baseRun);
    await checkpoint.markDone("run-1", ["c1"], "synced");
    await checkpoint.markFailed("run-1", "c2", "Cannot upsert: connection reset");
    await checkpoint.markFailed("run-1", "c2", "Cannot sync c2: 503");
    assert.deepEqual(await checkpoint.done("run-1"), new Map([["c1", "synced"]]));
    assert.equal((await checkpoint.progress("run-1")).failed, 1);
    await checkpoint.markDone("run-1", ["c2"], "synced");
    assert.equal((await checkpoint.progress("run-1")).failed, 0, "done unfails it");
    assert.equal((await checkpoint.done("run-1")).get("c2"), "synced");
  },
);

let clock = 0;
contract("Checkpoint bumps updatedAt on every write touching a run", async ({ checkpoint }) => {
  clock = 2_000;
  await checkpoint.createRun(baseRun);
  assert.equal((await checkpoint.getRun("run-1"))?.updatedAt, 2_000);
  clock = 3_000;
  await checkpoint.setTotals("run-1", 25, 3);
  clock = 4_000;
  await checkpoint.savePage("run-1", { page: 1, records: [], total: 25, hasMore: true });
  assert.equal((await checkpoint.getRun("run-1"))?.updatedAt, 4_000);
  clock = 4_500;
  await checkpoint.markDone("run-1", ["c1"], "synced");
  assert.equal((await checkpoint.getRun("run-1"))?.updatedAt, 4_500);
  clock = 6_000;
  await checkpoint.finishRun("run-1", "partial", "2 campaigns failed");
  assert.deepEqual(await checkpoint.getRun("run-1"), {
    ...baseRun,
    updatedAt: 6_000,
    status: "partial",
    total: 25,
    pagesTotal: 3,
    pageLimit: null,
    lastError: "2 campaigns failed",
  });
  assert.equal(await checkpoint.getRun("nope"), undefined);
}, { now: () => clock });

contract(
  "Checkpoint latestUnfinished offers only an account's latest run, and only if unfinished",
  async ({ checkpoint }) => {
    await checkpoint.createRun({ ...baseRun, runId: "old", startedAt: 1_000 });
    await checkpoint.createRun({ ...baseRun, runId: "mid", startedAt: 2_000 });
    await checkpoint.createRun({ ...baseRun, runId: "new", startedAt: 3_000 });
    await checkpoint.createRun({ ...baseRun, runId: "other", account: "globex", startedAt: 4_000 });
    await checkpoint.finishRun("old", "interrupted");
    await checkpoint.finishRun("mid", "failed", "Database unreachable");
    assert.equal((await checkpoint.latestUnfinished("acme"))?.runId, "new");
    await checkpoint.finishRun("new", "ok");
    // The ok run supersedes the older unfinished ones: nothing of acme's is left to resume.
    assert.equal(await checkpoint.latestUnfinished("acme"), undefined);
    assert.equal((await checkpoint.latestUnfinished("globex"))?.status, "running");
    assert.equal(await checkpoint.latestUnfinished("nobody"), undefined);
    assert.deepEqual((await checkpoint.latestRuns(2)).map((r) => r.runId), ["other", "new"]);
  },
);

contract(
  "Checkpoint orders runs started in the same millisecond by creation",
  async ({ checkpoint }) => {
    for (const runId of ["b-first", "a-second", "c-third"]) {
      await checkpoint.createRun({ ...baseRun, runId, startedAt: 1_000 });
    }
    assert.equal((await checkpoint.latestUnfinished("acme"))?.runId, "c-third");
    const latest = await checkpoint.latestRuns(10);
    assert.deepEqual(latest.map((r) => r.runId), ["c-third", "a-second", "b-first"]);
  },
);

contract(
  "Checkpoint recentSends filters by time and account, in ascending order",
  async ({ checkpoint }) => {
    // Real epoch milliseconds, kept to the millisecond.
    const t = Date.parse("2026-03-01T12:34:56.789Z");
    for (const at of [t + 3, t + 1, t + 2, t + 4, t + 2]) await checkpoint.recordSend("acme", at);
    await checkpoint.recordSend("globex", t + 3);
    assert.deepEqual(await checkpoint.recentSends("acme", t + 2), [t + 2, t + 2, t + 3, t + 4]);
    assert.deepEqual(await checkpoint.recentSends("globex", 0), [t + 3]);
    await checkpoint.pruneSends("acme", t + 3);
    assert.deepEqual(await checkpoint.recentSends("acme", 0), [t + 3, t + 4]);
    assert.deepEqual(await checkpoint.recentSends("globex", 0), [t + 3]);
  },
);

contract(
  "Checkpoint recordSend prunes send times older than the retention now and then",
  async ({ checkpoint }) => {
    await checkpoint.recordSend("acme", 0);
    for (let i = 0; i < 99; i++) await checkpoint.recordSend("acme", 5_000 + i);
    const sends = await checkpoint.recentSends("acme", 0);
    assert.equal(sends.length, 99);
    assert.equal(sends[0], 5_000);
  },
  { sendRetentionMs: 1_000 },
);

contract("Checkpoint lets a second handle read while the first one writes", async (subject) => {
  const writer = subject.checkpoint;
  const reader = await subject.reopen();
  await writer.createRun(baseRun);
  await writer.markDone("run-1", ["c1"], "synced");
  await writer.recordSend("acme", 1_234);
  assert.deepEqual(await reader.done("run-1"), new Map([["c1", "synced"]]));
  assert.deepEqual(await reader.recentSends("acme", 0), [1_234]);
});

contract("Checkpoint keeps a platform sync until its row is committed", async ({ checkpoint }) => {
  await checkpoint.createRun(baseRun);
  await checkpoint.recordSynced("run-1", "c1", "2026-01-01T00:00:00.000Z");
  await checkpoint.recordSynced("run-1", "c2", "2026-01-01T00:00:01.000Z");
  assert.deepEqual(
    await checkpoint.syncedPending("run-1"),
    new Map([["c1", "2026-01-01T00:00:00.000Z"], ["c2", "2026-01-01T00:00:01.000Z"]]),
  );
  await checkpoint.markDone("run-1", ["c1"], "synced");
  assert.deepEqual([...(await checkpoint.syncedPending("run-1")).keys()], ["c2"]);
});

contract(
  "Checkpoint keeps the page size learnt from a capped platform for the resume",
  async ({ checkpoint }) => {
    await checkpoint.createRun({ ...baseRun, pageSize: 100 });
    assert.equal((await checkpoint.getRun("run-1"))?.pageLimit, null);
    await checkpoint.setPageLimit("run-1", 25);
    assert.equal((await checkpoint.getRun("run-1"))?.pageLimit, 25);
    assert.equal((await checkpoint.latestUnfinished("acme"))?.pageLimit, 25);
  },
);

contract(
  "Checkpoint refuses writes to an unknown run with a CheckpointError",
  async ({ checkpoint }) => {
    const refused = (action: string) => (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(error.name, "CheckpointError");
      assert.match(error.message, new RegExp(`^Cannot ${action} in checkpoint `));
      assert.ok(error.message.includes(checkpoint.where));
      return true;
    };
    await assert.rejects(checkpoint.setTotals("nope", 1, 1), refused("set totals of run nope"));
    await assert.rejects(checkpoint.finishRun("nope", "ok"), refused("finish run nope"));
    await assert.rejects(
      checkpoint.savePage("nope", { page: 1, records: [], total: 0, hasMore: false }),
      refused("save page 1 of run nope"),
    );
    await assert.rejects(
      checkpoint.markDone("nope", ["c1"], "synced"),
      refused("mark 1 campaigns synced in run nope"),
    );
    assert.deepEqual(await checkpoint.done("nope"), new Map(), "nothing of the write was kept");
    await checkpoint.createRun(baseRun);
    await assert.rejects(checkpoint.createRun(baseRun), refused("create run run-1"));
  },
);
