import assert from "node:assert/strict";
import { createArrivalDelay } from "../../src/platform/arrival_delay.ts";
import {
  LIST_DEADLINE_HORIZON_MS,
  listDeadlineMs,
  MIN_LIST_DEADLINE_MS,
} from "../../src/platform/list_deadline.ts";

Deno.test("listDeadlineMs is the configured deadline until the host has answered lately", () => {
  const trips = createArrivalDelay();
  assert.equal(listDeadlineMs(trips, 10_000, 5_000), 5_000);
  trips.observe(10_000, 10_020);
  const later = 10_020 + LIST_DEADLINE_HORIZON_MS + 1;
  assert.equal(listDeadlineMs(trips, later, 5_000), 5_000, "that answer is no longer recent");
});

Deno.test("listDeadlineMs gives four times the longest recent round trip, within its bounds", () => {
  const trips = createArrivalDelay();
  trips.observe(9_990, 9_990);
  assert.equal(listDeadlineMs(trips, 10_000, 5_000), MIN_LIST_DEADLINE_MS, "answered within 1 ms");
  trips.observe(10_000, 10_020);
  assert.equal(
    listDeadlineMs(trips, 10_100, 5_000),
    MIN_LIST_DEADLINE_MS,
    "4 x 20 ms is too short",
  );
  trips.observe(10_050, 10_350);
  assert.equal(listDeadlineMs(trips, 10_400, 5_000), 1_200);
  trips.observe(10_100, 12_000);
  assert.equal(listDeadlineMs(trips, 12_010, 5_000), 5_000, "never above the configured one");
  assert.equal(listDeadlineMs(trips, 12_010, 100), 100, "even when it is below the minimum");
});

Deno.test("listDeadlineMs doubles after the second timeout of a page, up to the configured deadline", () => {
  const trips = createArrivalDelay();
  trips.observe(10_000, 10_010);
  const at = (timedOut: number) => listDeadlineMs(trips, 10_100, 5_000, timedOut);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(at), [
    250,
    250,
    500,
    1_000,
    2_000,
    4_000,
    5_000,
    5_000,
  ]);
});

Deno.test("listDeadlineMs follows the round trips of the half second before the latest answer", () => {
  const trips = createArrivalDelay();
  trips.observe(10_000, 10_450); // the start's burst: this process read its pages late
  trips.observe(10_300, 10_700);
  assert.equal(listDeadlineMs(trips, 10_800, 5_000), 1_800);
  trips.observe(11_000, 11_010); // half a second on, pages come back in ms
  trips.observe(11_250, 11_260);
  assert.equal(listDeadlineMs(trips, 11_300, 5_000), MIN_LIST_DEADLINE_MS);
  trips.observe(11_290, 11_500); // a slow one among them counts again
  assert.equal(listDeadlineMs(trips, 11_600, 5_000), 840);
});
