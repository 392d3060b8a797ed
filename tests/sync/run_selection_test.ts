import assert from "node:assert/strict";
import { join } from "node:path";
import { openCheckpoint } from "../../src/store/checkpoint.ts";
import { chooseRun, newRunId, type RunSelectionOptions } from "../../src/sync/run_selection.ts";

const HOUR = 3_600_000;
const base: RunSelectionOptions = {
  resume: true,
  account: "acme",
  apiUrl: "http://api.test",
  pageSize: 10,
  maxAgeMs: 24 * HOUR,
  now: 100 * HOUR,
};

async function withRuns(
  runs: Array<{ runId: string; account?: string; apiUrl?: string; at: number; status?: string }>,
  fn: (
    choose: (options: Partial<RunSelectionOptions>) => ReturnType<typeof chooseRun>,
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "adsync_select_" });
  let clock = 0;
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"), { now: () => clock });
  try {
    for (const run of runs) {
      clock = run.at;
      await checkpoint.createRun({
        runId: run.runId,
        account: run.account ?? "acme",
        apiUrl: run.apiUrl ?? "http://api.test",
        pageSize: 10,
        startedAt: run.at,
      });
      if (run.status) await checkpoint.finishRun(run.runId, run.status as "ok");
    }
    await fn((options) => chooseRun(checkpoint, { ...base, ...options }));
  } finally {
    await checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("--resume continues the account's latest run when it is unfinished", async () => {
  await withRuns([
    { runId: "old", at: 90 * HOUR, status: "failed" },
    { runId: "newer", at: 95 * HOUR, status: "interrupted" },
  ], async (choose) => {
    const choice = await choose({});
    assert.equal(choice.kind, "resume");
    assert.equal(choice.kind === "resume" && choice.run.runId, "newer");
  });
});

Deno.test("--resume never resurrects a run that a later ok run superseded", async () => {
  await withRuns([
    { runId: "older", at: 90 * HOUR, status: "interrupted" },
    { runId: "failed", at: 95 * HOUR, status: "failed" },
    { runId: "done", at: 96 * HOUR, status: "ok" },
  ], async (choose) => {
    const choice = await choose({});
    assert.equal(choice.kind, "new");
    assert.match(choice.kind === "new" ? choice.note ?? "" : "", /latest run ended ok/);
  });
});

Deno.test("--resume starts afresh, saying why, when the checkpoint is too old", async () => {
  await withRuns([{ runId: "stale", at: 70 * HOUR, status: "interrupted" }], async (choose) => {
    const choice = await choose({});
    assert.equal(choice.kind, "new");
    assert.match(
      choice.kind === "new" ? choice.note ?? "" : "",
      /^Not resuming run stale: its checkpoint is 30h00m old \(SYNC_RESUME_MAX_AGE is 24h00m\)/,
    );
  });
});

Deno.test("--resume does not continue a run from another API URL or page size", async () => {
  await withRuns(
    [{ runId: "elsewhere", at: 99 * HOUR, apiUrl: "http://other.test" }],
    async (choose) => {
      const byUrl = await choose({});
      assert.match(
        byUrl.kind === "new" ? byUrl.note ?? "" : "",
        /synced from http:\/\/other\.test/,
      );
      const bySize = await choose({ apiUrl: "http://other.test", pageSize: 25 });
      assert.match(bySize.kind === "new" ? bySize.note ?? "" : "", /page size 10, not 25/);
    },
  );
});

Deno.test("--resume ignores another account's unfinished run", async () => {
  await withRuns([{ runId: "theirs", at: 99 * HOUR, account: "globex" }], async (choose) => {
    const choice = await choose({});
    assert.equal(choice.kind, "new");
    assert.match(choice.kind === "new" ? choice.note ?? "" : "", /account acme has no run/);
  });
});

Deno.test("A run without --resume starts afresh without a warning about older runs", async () => {
  await withRuns([{ runId: "left", at: 99 * HOUR, status: "failed" }], async (choose) => {
    assert.deepEqual(await choose({ resume: false }), { kind: "new" });
  });
});

Deno.test("A run without --resume says that --resume would continue a stopped or crashed run", async () => {
  await withRuns([{ runId: "stopped", at: 99 * HOUR, status: "interrupted" }], async (choose) => {
    assert.deepEqual(await choose({ resume: false }), {
      kind: "new",
      note: "Starting a new run: run stopped of account acme was interrupted; " +
        "--resume continues it instead",
    });
    assert.deepEqual(await choose({ resume: false, apiUrl: "http://other.test" }), {
      kind: "new",
    }, "no note when --resume could not continue it either");
  });
  await withRuns([{ runId: "crashed", at: 99 * HOUR }], async (choose) => {
    const choice = await choose({ resume: false });
    assert.ok(choice.kind === "new");
    assert.match(
      choice.note ?? "",
      /^Starting a new run: run crashed of account acme stopped without finishing; --resume/,
    );
  });
});

Deno.test("Run ids sort by their start time", () => {
  const early = newRunId(Date.parse("2026-11-22T01:02:03Z"));
  const late = newRunId(Date.parse("2026-11-22T10:00:00Z"));
  assert.match(early, /^20261122T010203Z-[0-9a-f]{8}$/);
  assert.ok(early < late);
});
