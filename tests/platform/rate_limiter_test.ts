import assert from "node:assert/strict";
import { createLoopStalls } from "../../src/platform/lateness.ts";
import { createRateLimiter, type Departure } from "../../src/platform/rate_limiter.ts";
import { createFakeClock, settle } from "../_fake_clock.ts";

const limit = { count: 10, windowMs: 60_000 };
const marginMs = 100;

/** Queues `n` acquires and returns the time each one was admitted. */
function queue(limiter: ReturnType<typeof createRateLimiter>, n: number, clock: { now(): number }) {
  const admitted: number[] = [];
  const done = Promise.all(
    Array.from({ length: n }, () =>
      limiter.acquire().then((departure) => {
        departure.sent();
        admitted.push(clock.now());
      })),
  );
  return { admitted, done };
}

Deno.test("RateLimiter never lets 11 requests into one window", async () => {
  const clock = createFakeClock();
  const limiter = createRateLimiter(limit, { clock, marginMs });
  const { admitted, done } = queue(limiter, 35, clock);
  await clock.runAll();
  await done;
  assert.equal(admitted.length, 35);
  for (let i = limit.count; i < admitted.length; i++) {
    assert.ok(
      admitted[i]! - admitted[i - limit.count]! >= limit.windowMs,
      `request ${i} too early`,
    );
  }
});

Deno.test("RateLimiter sustains exactly N requests per window", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs });
  const { admitted, done } = queue(limiter, 30, clock);
  await clock.runAll();
  await done;
  const step = limit.windowMs + marginMs;
  assert.deepEqual(admitted, [
    ...Array(10).fill(0),
    ...Array(10).fill(step),
    ...Array(10).fill(2 * step),
  ]);
});

Deno.test("RateLimiter counts the sends of an earlier run it is given", async () => {
  const clock = createFakeClock(100_000);
  const history = Array.from({ length: 10 }, (_, i) => 90_000 + i * 1_000);
  const limiter = createRateLimiter(limit, { clock, marginMs, history });
  const { admitted, done } = queue(limiter, 2, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [90_000 + 60_000 + marginMs, 91_000 + 60_000 + marginMs]);
});

Deno.test("RateLimiter reports every send as the request leaves", async () => {
  const clock = createFakeClock(0);
  const sent: number[] = [];
  const limiter = createRateLimiter(limit, { clock, marginMs, onSend: (at) => void sent.push(at) });
  const first = await limiter.acquire();
  const second = await limiter.acquire();
  assert.deepEqual(sent, [], "nothing has left yet");
  first.sent();
  second.sent();
  second.sent(); // once only
  assert.deepEqual(sent, [0, 0]);
});

Deno.test("RateLimiter stamps a request when it leaves, so a late departure shifts the next window", async () => {
  const clock = createFakeClock(0);
  const sent: number[] = [];
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, {
    clock,
    marginMs: 0,
    onSend: (at) => void sent.push(at),
  });
  const first = await limiter.acquire();
  await clock.tick(400); // held on its way, e.g. by the host gate
  first.sent();
  const { admitted, done } = queue(limiter, 1, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(sent, [400, 1_400]);
  assert.deepEqual(admitted, [1_400]);
});

Deno.test("RateLimiter counts an admitted request that has not left yet as leaving now", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, { clock, marginMs: 0 });
  const first = await limiter.acquire();
  const { admitted, done } = queue(limiter, 1, clock);
  await clock.tick(5_000);
  assert.deepEqual(admitted, [], "a window after its admission, the first may still leave");
  first.sent();
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [6_000]);
});

Deno.test("RateLimiter frees the place of a request stopped before it left", async () => {
  const clock = createFakeClock(0);
  const sent: number[] = [];
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, {
    clock,
    marginMs: 0,
    onSend: (at) => void sent.push(at),
  });
  const first = await limiter.acquire();
  first.cancel();
  first.sent(); // too late: it was cancelled
  const { admitted, done } = queue(limiter, 1, clock);
  await done;
  assert.deepEqual(admitted, [0]);
  assert.deepEqual(sent, [0]);
});

Deno.test("RateLimiter holds every request until a 429's wait is over", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs });
  limiter.holdUntil(5_000);
  const { admitted, done } = queue(limiter, 3, clock);
  await clock.tick(4_999);
  assert.equal(admitted.length, 0);
  await clock.tick(1);
  await done;
  assert.deepEqual(admitted, [5_000, 5_000, 5_000]);
});

Deno.test("RateLimiter lets an aborted waiter go without blocking the queue", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, { clock, marginMs: 0 });
  (await limiter.acquire()).sent();
  const controller = new AbortController();
  const first = limiter.acquire(controller.signal);
  const second = limiter.acquire();
  await settle();
  controller.abort(new Error("stop"));
  await assert.rejects(first, /stop/);
  await clock.runAll();
  (await second).sent();
  assert.equal(clock.now(), 1_000);
  assert.equal(limiter.waiting, 0);
});

Deno.test("RateLimiter predicts when the last of N queued requests can leave", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs });
  assert.equal(limiter.finishTimeFor(10), 0);
  assert.equal(limiter.finishTimeFor(25), 2 * (limit.windowMs + marginMs));
  (await limiter.acquire()).sent();
  assert.equal(limiter.finishTimeFor(10), limit.windowMs + marginMs);
});

Deno.test("RateLimiter measures the time requests spent waiting", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, { clock, marginMs: 0 });
  const { done } = queue(limiter, 3, clock);
  await clock.runAll();
  await done;
  assert.equal(limiter.waitedMs, 2_000);
});

Deno.test("RateLimiter widens its margin after an unexpected 429, up to a tenth of the window", () => {
  const limiter = createRateLimiter(limit, { marginMs: 1_000 });
  limiter.widenMargin();
  assert.equal(limiter.marginMs, 2_000);
  for (let i = 0; i < 10; i++) limiter.widenMargin();
  assert.equal(limiter.marginMs, 6_000);
});

Deno.test("RateLimiter.adopt paces at the advertised limit from then on, counting earlier sends", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs: 0 });
  (await limiter.acquire()).sent(); // page 1, before the answer advertised 20 per second
  limiter.adopt({ count: 20, windowMs: 1_000 });
  assert.deepEqual(limiter.limit, { count: 20, windowMs: 1_000 });
  const { admitted, done } = queue(limiter, 39, clock);
  await clock.runAll();
  await done;
  assert.equal(admitted.filter((at) => at === 0).length, 19, "19 more in page 1's window");
  const all = [0, ...admitted];
  for (let i = 20; i < all.length; i++) {
    assert.ok(all[i]! - all[i - 20]! >= 1_000, `request ${i} too early`);
  }
  assert.equal(all.at(-1), 1_000, "40 requests in two windows of 20");
});

Deno.test("RateLimiter.adopt counts an earlier run's sends against a larger quota", async () => {
  const clock = createFakeClock(100_000);
  const history = Array.from({ length: 15 }, (_, i) => 90_000 + i);
  const limiter = createRateLimiter(limit, { clock, marginMs: 0, history });
  limiter.adopt({ count: 20, windowMs: 60_000 });
  const { admitted, done } = queue(limiter, 6, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [100_000, 100_000, 100_000, 100_000, 100_000, 150_000]);
});

Deno.test("RateLimiter.trustRemaining holds back to what the platform says is left, not more", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs: 0 });
  for (let i = 0; i < 2; i++) (await limiter.acquire()).sent();
  limiter.trustRemaining(9, 60_000); // looser than our own count of 8 left: ignored
  limiter.trustRemaining(3, 20_000);
  const { admitted, done } = queue(limiter, 4, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [0, 0, 0, 20_000]);
});

Deno.test("RateLimiter.trustRemaining of 0 holds every request until the reset", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs: 0 });
  limiter.trustRemaining(0, 45_000);
  const { admitted, done } = queue(limiter, 1, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [45_000]);
});

Deno.test("RateLimiter.trustRemaining of 0 with a coarse reset does not hold a limiter that is as strict", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs: 0 });
  const { done } = queue(limiter, 10, clock);
  await done;
  await clock.tick(20_000);
  // The platform rounds its reset up to a whole second: 41 s, where our own count says 40 s.
  limiter.trustRemaining(0, 61_000);
  const next = queue(limiter, 1, clock);
  await clock.runAll();
  await next.done;
  assert.deepEqual(next.admitted, [60_000]);
});

Deno.test("RateLimiter lets a request leave only once its send time is persisted", async () => {
  const clock = createFakeClock(0);
  let persisted!: () => void;
  const limiter = createRateLimiter(limit, {
    clock,
    marginMs,
    onSend: () => new Promise<void>((resolve) => persisted = resolve),
  });
  const departure = await limiter.acquire();
  let left = false;
  const leaving = departure.sent().then(() => left = true);
  await settle();
  assert.equal(left, false, "the send is not persisted yet");
  persisted();
  await leaving;
  assert.equal(left, true);
});

Deno.test("RateLimiter moves a send to when persisting it ended, since the request left then", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, {
    clock,
    marginMs: 0,
    onSend: () => clock.sleep(300), // a slow checkpoint write
  });
  const first = await limiter.acquire();
  const leaving = first.sent();
  await clock.tick(300);
  await leaving;
  const { admitted, done } = queue(limiter, 1, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [1_300]);
});

Deno.test("RateLimiter frees the place of a request whose send time could not be persisted", async () => {
  const clock = createFakeClock(0);
  let fail = true;
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, {
    clock,
    marginMs: 0,
    onSend: () =>
      fail ? Promise.reject(new Error("Cannot record a request: disk full")) : undefined,
  });
  const first = await limiter.acquire();
  await assert.rejects(first.sent(), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.equal(error.message, "Cannot record a request: disk full");
    return true;
  });
  fail = false;
  const { admitted, done } = queue(limiter, 1, clock);
  await done;
  assert.deepEqual(admitted, [0], "the request that never left takes no place in the window");
});

Deno.test("RateLimiter widens its margin to the recent round trip of quick requests, up to a tenth of the window", async () => {
  const clock = createFakeClock(0);
  let tripMs = 300;
  const horizons: number[] = [];
  const arrivalDelay = {
    recentMaxMs: (_now: number, horizonMs: number) => (horizons.push(horizonMs), tripMs),
  };
  const limiter = createRateLimiter({ count: 1, windowMs: 1_000 }, {
    clock,
    marginMs: 50,
    arrivalDelay,
  });
  const { admitted, done } = queue(limiter, 3, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [0, 1_100, 2_200], "300 ms learnt, capped at 100 ms");
  assert.deepEqual([...new Set(horizons)], [1_250], "round trips of the last 1.25 windows");
  tripMs = 70;
  const next = queue(limiter, 1, clock);
  await clock.runAll();
  await next.done;
  assert.deepEqual(next.admitted, [3_270]);
  tripMs = 10;
  const last = queue(limiter, 1, clock);
  await clock.runAll();
  await last.done;
  assert.deepEqual(last.admitted, [4_320], "never below the set margin");
});

Deno.test("RateLimiter defaults its margin to 2% of the window, from 50 ms to 500 ms", () => {
  assert.equal(createRateLimiter({ count: 10, windowMs: 1_000 }).marginMs, 50);
  assert.equal(createRateLimiter({ count: 10, windowMs: 3_000 }).marginMs, 60);
  assert.equal(createRateLimiter({ count: 10, windowMs: 60_000 }).marginMs, 500);
});

Deno.test("RateLimiter makes the request a window after a stalled send wait as long as the stall held it", async () => {
  const clock = createFakeClock(0);
  const stalls = createLoopStalls();
  const limiter = createRateLimiter(limit, { clock, marginMs, stalls });
  // The loop was held from 0 to 1,400 ms: the first window's sends left late by up to 1,400 ms.
  stalls.note(0, 1_400);
  const { admitted, done } = queue(limiter, 20, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted.slice(10), Array(10).fill(60_000 + 1_400));
  // The sends after it left long after the stall, which can have held none of them.
  const after = queue(limiter, 1, clock);
  await clock.runAll();
  await after.done;
  assert.deepEqual(after.admitted, [61_400 + 60_000 + marginMs]);
});

Deno.test("RateLimiter makes the requests after sends a long stall held wait all of it, beyond a tenth of the window", async () => {
  const clock = createFakeClock(0);
  const stalls = createLoopStalls();
  const limiter = createRateLimiter(limit, { clock, marginMs, stalls });
  // The loop was held 9 s right after the first window's sends were stamped: they left at 9 s.
  stalls.note(0, 9_000);
  const { admitted, done } = queue(limiter, 20, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted.slice(10), Array(10).fill(60_000 + 9_000), "not the 6 s cap");
});

Deno.test("RateLimiter reuses the place of a send whose round trip says it arrived late that much later, the others' at once", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter(limit, { clock, marginMs });
  const departures = [];
  for (let i = 0; i < 10; i++) {
    const departure = await limiter.acquire();
    await departure.sent();
    departures.push(departure);
  }
  await clock.tick(9_500);
  // The first one's round trip took 9 s longer than the host's quickest of its kind.
  departures[0]!.answered(clock.now(), 9_000);
  for (const departure of departures.slice(1)) departure.answered(clock.now(), 0);
  const { admitted, done } = queue(limiter, 10, clock);
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [...Array(9).fill(60_000 + marginMs), 60_000 + 9_000]);
});

Deno.test("RateLimiter counts a stall while a send was on its way in the margin of the slot it frees", async () => {
  const clock = createFakeClock(0);
  const stalls = createLoopStalls();
  const limiter = createRateLimiter(limit, { clock, marginMs, stalls });
  for (let i = 0; i < 10; i++) (await limiter.acquire()).sent(); // a full window at 0, unanswered
  stalls.note(30_000, 31_000); // the loop held 1 s, half a window later, the sends on their way
  const soon = queue(limiter, 1, clock);
  await clock.runAll();
  await soon.done;
  assert.deepEqual(soon.admitted, [60_000 + 1_000], "a busy machine may have held their reading");
  await clock.tick(2 * 60_000);
  const window: Departure[] = [];
  for (let i = 0; i < 10; i++) window.push(await limiter.acquire()); // a full window at 181 s
  for (const departure of window) await departure.sent();
  await clock.tick(2_000);
  for (const departure of window) departure.answered(); // answered 2 s later
  stalls.note(200_000, 201_000); // a stall after their answers
  const later = queue(limiter, 1, clock);
  await clock.runAll();
  await later.done;
  assert.deepEqual(later.admitted, [181_000 + 60_000 + marginMs], "no stall while on their way");
});

Deno.test("RateLimiter needs no more margin after an answered send than its round trip", async () => {
  const clock = createFakeClock(0);
  const stalls = createLoopStalls();
  const arrivalDelay = { recentMaxMs: () => 5_000 }; // the host's pages came back in 5 s lately
  const limiter = createRateLimiter(limit, { clock, marginMs, stalls, arrivalDelay });
  stalls.note(0, 3_000); // and the loop was held 3 s
  const first = await limiter.acquire();
  await first.sent();
  const rest = queue(limiter, 9, clock);
  await rest.done;
  await clock.tick(200);
  first.answered(); // the platform answered the first send 200 ms after it left
  const next = queue(limiter, 2, clock);
  await clock.runAll();
  await next.done;
  // The first send was counted by 200 ms; the next one, unanswered, waits the learnt 5 s.
  assert.deepEqual(next.admitted, [60_000 + 200, 60_000 + 5_000]);
});

Deno.test("RateLimiter keeps its set margin after a send answered sooner", async () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ count: 1, windowMs: 60_000 }, { clock, marginMs });
  const first = await limiter.acquire();
  await first.sent();
  first.answered(10);
  const next = queue(limiter, 1, clock);
  await clock.runAll();
  await next.done;
  assert.deepEqual(next.admitted, [60_000 + marginMs]);
});

Deno.test("RateLimiter never forgets a send whose write outlasts later sends (a database outage)", async () => {
  const clock = createFakeClock(0);
  let release = () => {};
  const slow = new Promise<void>((resolve) => release = resolve);
  let writes = 0;
  const limiter = createRateLimiter({ count: 2, windowMs: 1_000 }, {
    clock,
    marginMs: 0,
    onSend: () => writes++ === 0 ? slow : undefined,
  });
  const late = (await limiter.acquire()).sent(); // its write hangs: the database is away
  await (await limiter.acquire()).sent();
  await clock.tick(5_000);
  await (await limiter.acquire()).sent(); // at 5 000 s, while the first write still waits
  release();
  await late; // the first request leaves now, at 5 000 too
  let admittedAt: number | undefined;
  limiter.acquire().then(() => admittedAt = clock.now());
  await clock.tick(999);
  await settle();
  assert.equal(admittedAt, undefined, "two requests left at 5 000: a third must wait a window");
  await clock.tick(1);
  await settle();
  assert.equal(admittedAt, 6_000);
});
