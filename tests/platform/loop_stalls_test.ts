import assert from "node:assert/strict";
import { createLoopStalls } from "../../src/platform/loop_stalls.ts";

Deno.test("LoopStalls says how long after a moment the loop was still held, and 0 outside stalls", () => {
  const stalls = createLoopStalls();
  stalls.note(1_000, 1_140);
  stalls.note(5_000, 5_020);
  assert.equal(stalls.heldAfter(1_000), 140);
  assert.equal(stalls.heldAfter(1_100), 40);
  assert.equal(stalls.heldAfter(999), 0);
  assert.equal(stalls.heldAfter(1_140), 0);
  assert.equal(stalls.heldAfter(3_000), 0);
  assert.equal(stalls.heldAfter(5_010), 10);
  assert.equal(stalls.heldAfter(9_000), 0);
});

Deno.test("LoopStalls keeps only its latest stalls", () => {
  const stalls = createLoopStalls(2);
  stalls.note(0, 100);
  stalls.note(200, 300);
  stalls.note(400, 500);
  assert.equal(stalls.heldAfter(50), 0);
  assert.equal(stalls.heldAfter(250), 50);
  assert.equal(stalls.heldAfter(450), 50);
});

Deno.test("LoopStalls tells the longest stall that ended after a time, and a new stall at once", () => {
  const stalls = createLoopStalls();
  assert.equal(stalls.longestSince(0), 0);
  stalls.note(1_000, 1_300);
  stalls.note(2_000, 2_100);
  assert.equal(stalls.longestSince(0), 300);
  assert.equal(stalls.longestSince(1_500), 100, "the 300 ms one ended before");
  stalls.note(2_500, 3_000);
  assert.equal(stalls.longestSince(1_500), 500, "noted since the last answer");
  assert.equal(stalls.longestSince(3_000), 0);
});
