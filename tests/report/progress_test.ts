import assert from "node:assert/strict";
import {
  combineProgress,
  ETA_CANDIDATES,
  formatProgress,
  type ProgressSnapshot,
  startProgress,
} from "../../src/report/progress.ts";
import { createFakeClock } from "../_fake_clock.ts";

const base: ProgressSnapshot = {
  pagesDone: 4,
  pagesTotal: 10,
  campaignsDone: 37,
  campaignsTotal: 100,
  inFlight: 3,
  rateWaitMs: 130_000,
  retries: 2,
  etaMs: 400_000,
};

Deno.test("formatProgress shows the ETA first, then campaigns, pages, the total wait and retries", () => {
  assert.equal(
    formatProgress(base),
    "ETA 6m40s · campaigns 37/100 · pages 4/10 · rate-limit wait 2m10s in all · retries 2 · " +
      "in flight 3",
  );
});

Deno.test("At 80 columns the progress line keeps its ETA and leaves out the least needed parts", () => {
  const line = formatProgress({ ...base, campaignsDone: 1037, campaignsTotal: 10000 }, 79);
  assert.ok(line.length <= 79, line);
  assert.equal(
    line,
    "ETA 6m40s · campaigns 1037/10000 · pages 4/10 · rate-limit wait 2m10s in all",
  );
  assert.equal(formatProgress(base, 12), "ETA 6m40s");
});

Deno.test("formatProgress shows ? for totals and an ETA not known yet", () => {
  const line = formatProgress({ ...base, pagesTotal: null, campaignsTotal: null, etaMs: null });
  assert.match(line, /campaigns 37\/\? · pages 4\/\? · /);
  assert.match(line, /^ETA \? · /);
});

Deno.test("In log mode the progress line is logged every interval until stop()", async () => {
  const clock = createFakeClock();
  const logged: Array<[string, ProgressSnapshot]> = [];
  let done = 0;
  const progress = startProgress({
    mode: "log",
    clock,
    intervalMs: 5,
    snapshot: () => ({ ...base, campaignsDone: ++done }),
    log: (line, snapshot) => logged.push([line, snapshot]),
  });
  await clock.tick(10);
  progress.stop();
  const count = logged.length;
  assert.ok(count >= 2, `logged ${count} times`);
  const [line, snapshot] = logged[0]!;
  assert.equal(line, formatProgress(snapshot));
  await clock.tick(30);
  assert.equal(logged.length, count, "no line after stop()");
});

Deno.test("On a terminal the status line is redrawn in place and cleared on stop()", async () => {
  const clock = createFakeClock();
  const writes: string[] = [];
  const progress = startProgress({
    mode: "tty",
    clock,
    intervalMs: 5,
    snapshot: () => base,
    write: (text) => writes.push(text),
  });
  await clock.tick(15);
  progress.stop();
  progress.stop();
  const count = writes.length;
  assert.ok(count >= 3, `wrote ${count} times`);
  for (const text of writes.slice(0, -1)) {
    assert.ok(text.startsWith("\r\x1b[2K"), JSON.stringify(text));
    assert.ok(!text.includes("\n"), "a status line never scrolls the terminal");
    assert.match(text, /pages 4\/10/);
  }
  assert.equal(writes.at(-1), "\r\x1b[2K", "stop() leaves a clean line");
  await clock.tick(30);
  assert.equal(writes.length, count, "nothing drawn after stop()");
});

Deno.test("A tick that takes long waits fifty times as long before the next one", async () => {
  const clock = createFakeClock();
  const writes: number[] = [];
  let costMs = 20; // 10,000 accounts' snapshots
  const progress = startProgress({
    mode: "tty",
    clock,
    snapshot: () => {
      writes.push(clock.now());
      clock.stall(costMs);
      return base;
    },
    write: () => {},
  });
  const start = writes[0]!;
  await clock.tick(999); // the first tick ended at start + 20
  assert.equal(writes.length, 1, "not within 50 x 20 ms of the first tick's end");
  costMs = 0;
  await clock.tick(1);
  assert.deepEqual(writes, [start, start + 20 + 1_000]);
  await clock.tick(250);
  assert.equal(writes.length, 3, "a quick tick waits the interval again");
  progress.stop();
});

Deno.test("Progress stops quietly when reading the state fails", async () => {
  const clock = createFakeClock();
  const writes: string[] = [];
  const progress = startProgress({
    mode: "tty",
    clock,
    intervalMs: 5,
    snapshot: () => {
      throw new Error("state unavailable");
    },
    write: (text) => writes.push(text),
  });
  await clock.tick(20);
  progress.stop();
  assert.deepEqual(writes, ["\r\x1b[2K"]);
});

Deno.test("A many-account line shows the accounts done and leaves out the per-account wait", () => {
  assert.equal(
    formatProgress({ ...base, accountsDone: 3, accountsTotal: 20 }),
    "ETA 6m40s · campaigns 37/100 · accounts 3/20 · pages 4/10 · retries 2 · in flight 3",
  );
  assert.equal(
    formatProgress({ ...base, accountsDone: 0, accountsTotal: 1 }),
    formatProgress(base),
  );
});

Deno.test("combineProgress adds the accounts up and takes the slowest account's ETA", () => {
  const combined = combineProgress([
    { done: false, snapshot: base },
    { done: false, snapshot: { ...base, campaignsDone: 3, etaMs: 900_000, inFlight: 1 } },
    { done: true, snapshot: { ...base, pagesDone: 10, campaignsDone: 100, etaMs: 0 } },
  ]);
  assert.deepEqual(combined, {
    pagesDone: 18,
    pagesTotal: 30,
    campaignsDone: 140,
    campaignsTotal: 300,
    inFlight: 7,
    rateWaitMs: 390_000,
    retries: 6,
    etaMs: 900_000,
    accountsDone: 1,
    accountsTotal: 3,
  });
});

Deno.test("combineProgress knows no totals or ETA while an account has not planned its work", () => {
  const waiting = combineProgress([
    { done: false, snapshot: base },
    { done: false, snapshot: undefined },
  ]);
  assert.equal(waiting.pagesTotal, null);
  assert.equal(waiting.campaignsTotal, null);
  assert.equal(waiting.etaMs, null);
  const listing = combineProgress([
    { done: false, snapshot: base },
    { done: false, snapshot: { ...base, pagesTotal: null, campaignsTotal: null, etaMs: null } },
  ]);
  assert.equal(listing.pagesTotal, null);
  assert.equal(listing.etaMs, null);
});

Deno.test("combineProgress reads the ETA of the accounts with the most pace left only", () => {
  const read: number[] = [];
  /** An account with `paceLeftMs` of pace left, whose ETA is that plus `waitMs`. */
  const account = (i: number, paceLeftMs: number, waitMs = 0) => ({
    done: false,
    snapshot: {
      ...base,
      paceLeftMs,
      get etaMs() {
        read.push(i);
        return paceLeftMs + waitMs;
      },
    },
  });
  // Each finishes half a second after its pace says; the one ranked last is 999 s from its end.
  const accounts = Array.from({ length: 1_000 }, (_, i) => account(i, i * 1_000, 500));
  const combined = combineProgress(accounts);
  assert.equal(combined.etaMs, 999_500);
  assert.equal(read.length, ETA_CANDIDATES);
  const top = Array.from({ length: ETA_CANDIDATES }, (_, i) => 1_000 - ETA_CANDIDATES + i);
  assert.deepEqual(read.toSorted((a, b) => a - b), top);
  const unranked = combineProgress([...accounts, {
    done: false,
    snapshot: { ...base, etaMs: 5_000_000 },
  }]);
  assert.equal(unranked.etaMs, 5_000_000, "an account without pace left is always read");
  const unplanned = combineProgress([...accounts, {
    done: false,
    snapshot: { ...base, paceLeftMs: null, etaMs: null },
  }]);
  assert.equal(unplanned.etaMs, null, "an account that has not planned its work is not ranked");
});

Deno.test("combineProgress counts an account that failed before listing as done with nothing left", () => {
  const combined = combineProgress([
    { done: false, snapshot: base },
    { done: true, snapshot: undefined },
    { done: true, snapshot: { ...base, pagesDone: 0, pagesTotal: null, campaignsTotal: null } },
  ]);
  assert.equal(combined.pagesTotal, 10);
  assert.equal(combined.campaignsTotal, 137);
  assert.equal(combined.etaMs, 400_000);
  assert.equal(combined.accountsDone, 2);
});
