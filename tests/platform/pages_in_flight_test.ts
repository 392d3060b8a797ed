import assert from "node:assert/strict";
import { createPagesInFlight } from "../../src/platform/pages_in_flight.ts";

/** Pages whose cuts run when `flush()` is called: the answers already received have been read. */
function pagesInFlight() {
  const pending: Array<() => void> = [];
  const pages = createPagesInFlight({ afterPending: (fn) => void pending.push(fn) });
  const flush = () => pending.splice(0).forEach((fn) => fn());
  return { pages, flush };
}

Deno.test("PagesInFlight cuts a page once a page that left 250 ms after it was answered", () => {
  const { pages, flush } = pagesInFlight();
  const hung = pages.track(1_000);
  const slow = pages.track(1_100);
  const soon = pages.track(1_200);
  soon.answered(1_250); // left 200 ms after the first: too soon to tell
  assert.equal(hung.cut.aborted, false);
  const later = pages.track(1_300);
  later.answered(1_350); // left 300 ms after the first, 200 after the second
  assert.equal(hung.cut.aborted, false, "not before the answers already received are read");
  flush();
  assert.equal(hung.cut.aborted, true, "its answer would have come before this one's");
  assert.equal((hung.cut.reason as DOMException).name, "TimeoutError");
  assert.equal(slow.cut.aborted, false);
  const last = pages.track(1_400);
  last.answered(1_450);
  flush();
  assert.equal(slow.cut.aborted, true);
  assert.equal(pages.size, 0);
});

Deno.test("PagesInFlight waits twice the host's quickest recent round trip when that is longer", () => {
  const { pages, flush } = pagesInFlight();
  pages.track(0).answered(1_000); // the platform takes a second for a page
  const slow = pages.track(10_000);
  pages.track(11_500).answered(12_600);
  flush();
  assert.equal(slow.cut.aborted, false, "left 1.5 s after: within twice the quickest, 2 s");
  pages.track(12_100).answered(13_200);
  flush();
  assert.equal(slow.cut.aborted, true, "left 2.1 s after");
});

Deno.test("PagesInFlight never cuts a page for the answer of one that left before it, nor once done", () => {
  const { pages, flush } = pagesInFlight();
  const first = pages.track(1_000);
  const second = pages.track(1_300);
  const third = pages.track(1_600);
  first.answered(5_000);
  assert.equal(second.cut.aborted, false, "left after the page answered");
  second.done();
  third.answered(5_010);
  flush();
  assert.equal(second.cut.aborted, false, "no longer tracked");
  assert.equal(pages.size, 0);
});

Deno.test("PagesInFlight does not cut a page answered among the answers already received", () => {
  const { pages, flush } = pagesInFlight();
  const early = pages.track(1_000);
  const late = pages.track(1_300);
  // A busy process reads both answers at once, the later page's first.
  late.answered(2_000);
  early.answered(2_000);
  flush();
  assert.equal(early.cut.aborted, false);
  assert.equal(pages.size, 0);
});
