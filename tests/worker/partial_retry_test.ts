import assert from "node:assert/strict";
import {
  PARTIAL_BACKOFF_CAP_MS,
  PARTIAL_HAND_BACKS,
  settleFinishedRun,
} from "../../src/worker/partial_retry.ts";

const WINDOW = 60_000;
const first = { windowMs: WINDOW, handBacks: 0 };

Deno.test("A run that ended ok completes its job", () => {
  assert.deepEqual(settleFinishedRun({ status: "ok", failed: 0 }, first), { kind: "complete" });
});

Deno.test("A partial run with only rejected records completes its job: a retry would refuse them again", () => {
  assert.deepEqual(settleFinishedRun({ status: "partial", failed: 0 }, first), {
    kind: "complete",
  });
});

Deno.test("A partial run with failed campaigns is handed back for one window, then a doubling wait", () => {
  const partial = { status: "partial" as const, failed: 7 };
  const once = settleFinishedRun(partial, first);
  assert.deepEqual(once, {
    kind: "hand back",
    delayMs: WINDOW,
    reason: "run partial (7 campaigns failed); trying them again in 60 s",
  });
  const delays = Array.from({ length: PARTIAL_HAND_BACKS }, (_, handBacks) => {
    const settled = settleFinishedRun(partial, { windowMs: WINDOW, handBacks });
    assert.equal(settled.kind, "hand back");
    return settled.kind === "hand back" ? settled.delayMs : 0;
  });
  assert.deepEqual(delays, [1, 2, 4, 8, 16].map((n) => n * WINDOW));
});

Deno.test("A partial run's wait never exceeds the cap, however long the window", () => {
  const settled = settleFinishedRun({ status: "partial", failed: 1 }, {
    windowMs: 3_600_000,
    handBacks: 3,
  });
  assert.equal(settled.kind === "hand back" && settled.delayMs, PARTIAL_BACKOFF_CAP_MS);
  assert.match(
    settled.kind === "hand back" ? settled.reason : "",
    /\(1 campaign failed\); trying them again in 1800 s$/,
  );
});

Deno.test("A job handed back as often as allowed completes as partial, saying why", () => {
  const settled = settleFinishedRun({ status: "partial", failed: 3 }, {
    windowMs: WINDOW,
    handBacks: PARTIAL_HAND_BACKS,
  });
  assert.deepEqual(settled, {
    kind: "give up",
    reason: `3 campaigns failed after ${PARTIAL_HAND_BACKS} hand-backs; the next enqueue or ` +
      "schedule tick resumes them",
  });
});
