import assert from "node:assert/strict";
import { enforcedCount, type SentRequest } from "../../src/platform/enforced_limit.ts";

const WINDOW = { count: 100, windowMs: 6_000 };

/** `accepted` requests and then `refused` ones, all sent at `at`. */
function burst(at: number, accepted: number, refused: number): SentRequest[] {
  return [
    ...Array.from({ length: accepted }, () => ({ at, refused: false })),
    ...Array.from({ length: refused }, () => ({ at, refused: true })),
  ];
}

Deno.test("enforcedCount counts what the platform accepted in the window before the 429", () => {
  const sent = [...burst(1_000, 1, 0), ...burst(1_010, 9, 11)];
  assert.equal(enforcedCount(sent, 1_010, 1_020, WINDOW), 10);
});

Deno.test("enforcedCount counts requests sent together with the refused one, answered or not", () => {
  // Sent in one millisecond, they may have reached the platform in any order.
  const sent = [...burst(1_000, 4, 1), ...burst(1_000, 5, 0)];
  assert.equal(enforcedCount(sent, 1_000, 1_002, WINDOW), 9);
});

Deno.test("enforcedCount leaves out what left the window before the refused request", () => {
  const sent = [...burst(0, 7, 0), ...burst(7_000, 3, 1)];
  assert.equal(enforcedCount(sent, 7_000, 7_005, WINDOW), 3);
});

Deno.test("enforcedCount never says less than 1", () => {
  assert.equal(enforcedCount(burst(5_000, 0, 1), 5_000, 5_001, WINDOW), 1);
});

Deno.test("enforcedCount never says as much as the limit it disproves", () => {
  const limit = { count: 10, windowMs: 6_000 };
  assert.equal(enforcedCount(burst(0, 10, 1), 0, 1, limit), undefined);
  assert.equal(enforcedCount(burst(0, 9, 1), 0, 1, limit), 9);
});

Deno.test("enforcedCount lets a 429 that a late arrival explains lower nothing", () => {
  // An honest 10 a window: the next burst left a window and 50 ms after the first, and one of
  // the first reached the platform late; the refusal is the margin's to answer, not the limit's.
  const limit = { count: 10, windowMs: 6_000 };
  const sent = [...burst(0, 10, 0), ...burst(6_050, 9, 1)];
  assert.equal(enforcedCount(sent, 6_050, 6_060, limit), undefined);
  // A tenth of a window earlier, no late arrival explains it.
  const long = [...burst(0, 10, 0), ...burst(6_700, 9, 1)];
  assert.equal(enforcedCount(long, 6_700, 6_710, limit), 9);
});
