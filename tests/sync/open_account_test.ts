import assert from "node:assert/strict";
import { mergeSendLogs } from "../../src/sync/open_account.ts";

Deno.test("Merged send logs keep every send of a burst that shares a millisecond", () => {
  // Ten sends in one millisecond, as a burst leaves: all ten fill the window.
  const burst = Array.from({ length: 10 }, () => 1_000);
  assert.deepEqual(mergeSendLogs(burst, []), burst);
  assert.deepEqual(mergeSendLogs([], burst), burst);
});

Deno.test("Merged send logs count a send copied into both logs once", () => {
  const local = [100, 200, 200, 300];
  const server = [200, 200, 300, 400]; // the sync's copies, and a worker's send at 400
  assert.deepEqual(mergeSendLogs(local, server), [100, 200, 200, 300, 400]);
});
