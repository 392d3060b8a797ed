import assert from "node:assert/strict";
import { createPagesInFlight } from "../../src/platform/pages_in_flight.ts";

Deno.test("PagesInFlight cuts a page once a page that left 250 ms after it was answered", () => {
  const pages = createPagesInFlight();
  const hung = pages.track(1_000);
  const slow = pages.track(1_100);
  const soon = pages.track(1_200);
  soon.answered(1_250); // left 200 ms after the first: too soon to tell
  assert.equal(hung.cut.aborted, false);
  const later = pages.track(1_300);
  later.answered(1_350); // left 300 ms after the first, 200 after the second
  assert.equal(hung.cut.aborted, true, "its answer would have come before this one's");
  assert.equal((hung.cut.reason as DOMException).name, "TimeoutError");
  assert.equal(slow.cut.aborted, false);
  const last = pages.track(1_400);
  last.answered(1_450);
  assert.equal(slow.cut.aborted, true);
  assert.equal(pages.size, 0);
});

Deno.test("PagesInFlight waits twice the host's quickest recent round trip when that is longer", () => {
  const pages = createPagesInFlight();
  pages.track(0).answered(1_000); // the platform takes a second for a page
  const slow = pages.track(10_000);
  pages.track(11_500).answered(12_600);
  assert.equal(slow.cut.aborted, false, "left 1.5 s after: within twice the quickest, 2 s");
  pages.track(12_100).answered(13_200);
  assert.equal(slow.cut.aborted, true, "left 2.1 s after");
});

Deno.test("PagesInFlight never cuts a page for the answer of one that left before it, nor once done", () => {
  const pages = createPagesInFlight();
  const first = pages.track(1_000);
  const second = pages.track(1_300);
  const third = pages.track(1_600);
  first.answered(5_000);
  assert.equal(second.cut.aborted, false, "left after the page answered");
  second.done();
  third.answered(5_010);
  assert.equal(second.cut.aborted, false, "no longer tracked");
  assert.equal(pages.size, 0);
});
