import assert from "node:assert/strict";
import {
  createHostGate,
  createHostGates,
  createInFlightSizer,
  type GatePriority,
  type HostGate,
  idleSocketBudget,
  socketBudget,
} from "../../src/platform/host_gate.ts";
import { createFakeClock, type FakeClock, settle } from "../_fake_clock.ts";
import type { RateLimit } from "../../src/duration.ts";

Deno.test("HostGate never lets more than its bound in, and lets the others in first come first served", async () => {
  const gate = createHostGate({ maxInFlight: 2 });
  const order: number[] = [];
  const leaves = await Promise.all([gate.enter(), gate.enter()]);
  const waiting = [3, 4, 5].map((n) => gate.enter().then((leave) => (order.push(n), leave)));
  await settle();
  assert.equal(gate.inFlight, 2);
  assert.equal(gate.waiting, 3);
  leaves[0]!();
  leaves[0]!(); // leaving twice frees one place only
  await settle();
  assert.deepEqual(order, [3]);
  assert.equal(gate.inFlight, 2);
  leaves[1]!();
  await settle();
  assert.deepEqual(order, [3, 4]);
  for (const leave of await Promise.all(waiting.slice(0, 2))) leave();
  (await waiting[2]!)();
  assert.deepEqual(order, [3, 4, 5]);
  assert.equal(gate.inFlight, 0);
  assert.equal(gate.waiting, 0);
});

Deno.test("HostGate lets a stopped waiter go without taking a place", async () => {
  const gate = createHostGate({ maxInFlight: 1 });
  const leave = await gate.enter();
  const stop = new AbortController();
  const stopped = gate.enter(stop.signal);
  const next = gate.enter();
  stop.abort(new Error("stop"));
  await assert.rejects(stopped, { message: "stop" });
  leave();
  (await next)();
  assert.equal(gate.inFlight, 0);
});

Deno.test("HostGate has no ceiling unless one is set, and refuses one below 1", () => {
  assert.equal(createHostGate().maxInFlight, Infinity, "no ceiling and no work declared");
  assert.equal(createHostGate().ceiling, Infinity);
  assert.throws(() => createHostGate({ maxInFlight: 0 }), {
    name: "RangeError",
    message: "maxInFlight must be a whole number of at least 1, not 0",
  });
});

Deno.test("HostGates gives every URL of one origin the same gate, and other origins their own", () => {
  const gates = createHostGates({ maxInFlight: 8 });
  const a = gates.forUrl("http://api.test:3001");
  assert.equal(gates.forUrl("http://api.test:3001/api/campaigns"), a);
  assert.notEqual(gates.forUrl("http://other.test:3001"), a);
  assert.equal(a.maxInFlight, 8);
});

Deno.test("HostGate lets waiters in ahead, then behind, each in order", async () => {
  const gate = createHostGate({ maxInFlight: 1 });
  const order: string[] = [];
  const leave = await gate.enter();
  const enter = (name: string, priority?: GatePriority) =>
    gate.enter(undefined, priority).then((out) => (order.push(name), out()));
  const all = [
    enter("sync 1"),
    enter("sync 2", "behind"),
    enter("list 1", "ahead"),
    enter("sync 3"),
    enter("login", "ahead"),
  ];
  await settle();
  assert.equal(gate.waiting, 5);
  leave();
  await Promise.all(all);
  assert.deepEqual(order, [
    "list 1",
    "login",
    "sync 1",
    "sync 2",
    "sync 3",
  ]);
  assert.equal(gate.inFlight, 0);
});

Deno.test("HostGate lets a stopped waiter that went ahead go without taking a place", async () => {
  const gate = createHostGate({ maxInFlight: 1 });
  const leave = await gate.enter();
  const stop = new AbortController();
  const stopped = gate.enter(stop.signal, "ahead");
  const next = gate.enter(undefined, "behind");
  stop.abort(new Error("stop"));
  await assert.rejects(stopped, { message: "stop" });
  assert.equal(gate.waiting, 1);
  leave();
  (await next)();
  assert.equal(gate.inFlight, 0);
});

Deno.test("HostGate keeps a sixteenth of its places for requests that go ahead", async () => {
  const gate = createHostGate({ maxInFlight: 32 });
  const syncs = await Promise.all(Array.from({ length: 30 }, () => gate.enter()));
  let queued = false;
  const sync = gate.enter().then((leave) => (queued = true, leave));
  await settle();
  assert.equal(queued, false, "30 syncs fill the places syncs may take");
  const lists = [await gate.enter(undefined, "ahead"), await gate.enter(undefined, "ahead")];
  assert.equal(gate.inFlight, 32);
  lists[0]!();
  await settle();
  assert.equal(queued, false, "a place kept for a list stays free of syncs");
  syncs[0]!();
  await settle();
  assert.equal(queued, false, "29 syncs and a list: the gate holds 30, as many as syncs may");
  lists[1]!();
  (await sync)();
  assert.equal(queued, true);
  for (const leave of syncs.slice(1)) leave();
  assert.equal(gate.inFlight, 0);
  assert.equal(createHostGate({ maxInFlight: 15 }).maxInFlight, 15);
});

/** Sends `n` requests through `gate` that each hold their place `holdMs` on `clock`. */
async function hold(gate: HostGate, clock: FakeClock, n: number, holdMs: number) {
  const leaves = await Promise.all(Array.from({ length: n }, () => gate.enter()));
  await clock.tick(holdMs);
  for (const leave of leaves) leave();
}

Deno.test("HostGate sizes its room by Little's law from the accounts' rates and the latency it measures", async () => {
  const clock = createFakeClock();
  const gate = createHostGate({ maxInFlight: 10_000, clock });
  const accounts = Array.from(
    { length: 1_000 },
    () => ({ limit: { count: 10, windowMs: 60_000 } }),
  );
  const leaves = accounts.map((account) => gate.addDemand(account));
  // 1,000 accounts x 10/60 s x 1 s assumed before any answer = 166.7, x 1.25 + 16 spare.
  assert.equal(gate.maxInFlight, Math.ceil(1_000 * (10 / 60_000) * 1_000 * 1.25) + 16);
  await hold(gate, clock, 64, 2_000);
  assert.equal(gate.maxInFlight, Math.ceil(1_000 * (10 / 60_000) * 2_000 * 1.25) + 16); // 433
  await hold(gate, clock, 64, 4_000);
  assert.equal(gate.maxInFlight, Math.ceil(1_000 * (10 / 60_000) * 4_000 * 1.25) + 16, "follows");
  for (const leave of leaves.slice(500)) leave();
  assert.equal(
    gate.maxInFlight,
    Math.ceil(1_000 * (10 / 60_000) * 4_000 * 1.25) + 16,
    "accounts that end leave the room to those still running, whose last windows leave together",
  );
  for (const leave of leaves.slice(0, 500)) leave();
  assert.equal(gate.maxInFlight, 10_000, "no account left: the ceiling");
  const again = gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  assert.equal(gate.maxInFlight, Math.ceil((10 / 60_000) * 4_000 * 1.25) + 16, "sized anew");
  again();
});

Deno.test("HostGate reads the accounts' limits again within a second, and at once when one comes", async () => {
  const clock = createFakeClock();
  const gate = createHostGate({ maxInFlight: 10_000, clock });
  const account = { limit: { count: 10, windowMs: 60_000 } };
  gate.addDemand(account);
  await hold(gate, clock, 1, 6_000);
  const before = Math.ceil((10 / 60_000) * 6_000 * 1.25) + 16;
  assert.equal(gate.maxInFlight, before);
  account.limit = { count: 100, windowMs: 60_000 }; // the platform advertised more
  assert.equal(gate.maxInFlight, before, "read at most once a second");
  await clock.tick(1_000);
  assert.equal(gate.maxInFlight, Math.ceil((100 / 60_000) * 6_000 * 1.25) + 100);
  gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  assert.equal(gate.maxInFlight, Math.ceil((110 / 60_000) * 6_000 * 1.25) + 100);
});

Deno.test("HostGate keeps its room for the slow kind of request while quick ones are measured", async () => {
  const clock = createFakeClock();
  const gate = createHostGate({ clock });
  for (let i = 0; i < 300; i++) gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  await hold(gate, clock, 10, 2_000); // syncs: 2 s
  const lists = await Promise.all(Array.from({ length: 64 }, () => gate.enter(undefined, "ahead")));
  await clock.tick(5);
  for (const leave of lists) leave();
  assert.equal(gate.maxInFlight, Math.ceil(300 * (10 / 60_000) * 2_000 * 1.25) + 16);
});

Deno.test("HostGate keeps its room for the slow kind while only the quick one was measured", async () => {
  const clock = createFakeClock();
  const gate = createHostGate({ clock });
  for (let i = 0; i < 300; i++) gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  // A run's pages come back first, in milliseconds; its syncs have not been measured yet.
  const lists = await Promise.all(Array.from({ length: 64 }, () => gate.enter(undefined, "ahead")));
  await clock.tick(5);
  for (const leave of lists) leave();
  assert.equal(gate.maxInFlight, Math.ceil(300 * (10 / 60_000) * 1_000 * 1.25) + 16, "1 s assumed");
});

Deno.test("HostGate never sizes its room above the operator's ceiling, nor below one account's window", async () => {
  const clock = createFakeClock();
  const capped = createHostGate({ maxInFlight: 100, clock });
  for (let i = 0; i < 1_000; i++) capped.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  assert.equal(capped.maxInFlight, 100);
  const lone = createHostGate({ clock });
  lone.addDemand({ limit: { count: 40, windowMs: 60_000 } });
  await hold(lone, clock, 4, 2_000);
  assert.equal(lone.maxInFlight, 2 + 40, "one account may send its whole window at once");
});

Deno.test("HostGate lets waiters in as soon as new work raises its bound", async () => {
  const clock = createFakeClock();
  const gate = createHostGate({ clock });
  gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  const bound = gate.maxInFlight;
  const held = await Promise.all(
    Array.from({ length: bound }, () => gate.enter(undefined, "ahead")),
  );
  let admitted = false;
  const next = gate.enter().then((leave) => (admitted = true, leave));
  await settle();
  assert.equal(admitted, false);
  for (let i = 0; i < 100; i++) gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  (await next)();
  assert.equal(admitted, true);
  for (const leave of held) leave();
});

const TEN_A_MINUTE: RateLimit = { count: 10, windowMs: 60_000 };

/** Counts `n` accounts of `limit`; returns their removers. */
function addAccounts(
  sizer: ReturnType<typeof createInFlightSizer>,
  n: number,
  limit = TEN_A_MINUTE,
): Array<() => void> {
  return Array.from({ length: n }, () => sizer.add({ limit }));
}

Deno.test("The bound is the ceiling while no account is counted", () => {
  const sizer = createInFlightSizer({ ceiling: 256, now: () => 0 });
  assert.equal(sizer.bound(), 256);
});

Deno.test("The bound follows Little's law: rate x hold time x headroom, plus the spare places", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  addAccounts(sizer, 600); // 600 x 10 a minute = 100 requests a second
  // 0.1 request/ms x 1,000 ms held (not measured yet) x 1.25 = 125, plus 16 spare.
  assert.equal(sizer.bound(), 141);
  sizer.observe(2_000);
  assert.equal(sizer.holdMs(), 2_000);
  assert.equal(sizer.bound(), 0.1 * 2_000 * 1.25 + 16);
});

Deno.test("The bound never goes above the operator's ceiling", () => {
  const sizer = createInFlightSizer({ ceiling: 50, now: () => 0 });
  addAccounts(sizer, 600);
  assert.equal(sizer.bound(), 50);
});

Deno.test("One account whose window holds more than the spare gets its whole window of places", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  sizer.add({ limit: { count: 100, windowMs: 3_600_000 } });
  sizer.observe(10);
  assert.equal(sizer.bound(), 1 + 100, "a hair of rate, then the window's 100 at once");
});

Deno.test("The hold time is the mean of the latest samples only", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, samples: 3, now: () => 0 });
  for (const ms of [9_000, 100, 200, 300]) sizer.observe(ms);
  assert.equal(sizer.holdMs(), 200, "the 9 s outlier has rolled out");
  sizer.observe(-50);
  assert.equal(sizer.holdMs(), (200 + 300 + 0) / 3, "a negative hold counts as 0");
});

Deno.test("A hold longer than assumed counts only if the process kept up all through it", () => {
  let now = 100_000;
  let heldAt = now - 500; // the event loop was last held long half a second ago
  const sizer = createInFlightSizer({
    ceiling: 10_000,
    samples: 4,
    now: () => now,
    keptUp: (since) => heldAt < since,
  });
  sizer.observe(3_000);
  assert.equal(sizer.holdMs(), 1_000, "held during it: stretched by this process, not counted");
  sizer.observe(300);
  assert.equal(sizer.holdMs(), 300, "a quicker hold always counts");
  now += 10_000;
  sizer.observe(2_000);
  assert.equal(sizer.holdMs(), (300 + 2_000) / 2, "kept up all through it: the platform's latency");
  heldAt = now - 3_000;
  sizer.observe(2_500);
  assert.equal(sizer.holdMs(), (300 + 2_000 + 2_500) / 3, "held just before it began: counted");
});

Deno.test("HostGate's room grows only with holds during which the event loop was never held long", async () => {
  const clock = createFakeClock();
  const gate = createHostGate({ clock });
  for (let i = 0; i < 1_000; i++) gate.addDemand({ limit: { count: 10, windowMs: 60_000 } });
  await hold(gate, clock, 64, 2_000);
  const room = Math.ceil(1_000 * (10 / 60_000) * 2_000 * 1.25) + 16;
  assert.equal(gate.maxInFlight, room);
  const leaves = await Promise.all(Array.from({ length: 64 }, () => gate.enter()));
  await clock.tick(4_000);
  gate.stalls.note(clock.now() - 300, clock.now()); // held 300 ms: more than 250
  await clock.tick(4_000);
  for (const leave of leaves) leave();
  assert.equal(gate.maxInFlight, room, "8 s holds with the loop held among them: not counted");
  await hold(gate, clock, 64, 8_000);
  assert.equal(
    gate.maxInFlight,
    Math.ceil(1_000 * (10 / 60_000) * 8_000 * 1.25) + 16,
    "8 s holds with the loop free all along: the platform's latency grew",
  );
});

Deno.test("The bound keeps the peak work while accounts end, and resets once none is left", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  const removers = addAccounts(sizer, 600);
  const peak = sizer.bound();
  for (const remove of removers.slice(1)) remove();
  assert.equal(sizer.bound(), peak, "the last windows of accounts ending together still fit");
  removers[0]!();
  assert.equal(sizer.bound(), 10_000, "no account: the ceiling");
  addAccounts(sizer, 6);
  assert.equal(sizer.bound(), Math.ceil(0.001 * 1_000 * 1.25) + 16, "sized anew from the work");
});

Deno.test("Removing an account twice removes it once; an account counted twice is removed twice", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  const demand = { limit: TEN_A_MINUTE };
  const first = sizer.add(demand);
  const second = sizer.add(demand);
  first();
  first();
  assert.notEqual(sizer.bound(), 10_000, "the second count still holds");
  second();
  assert.equal(sizer.bound(), 10_000);
});

Deno.test("A limit that changes is read again after a second, not on every request", () => {
  let now = 0;
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => now });
  const demand = { limit: { count: 10, windowMs: 1_000 } }; // 0.01 request/ms
  sizer.add(demand);
  assert.equal(sizer.bound(), Math.ceil(0.01 * 1_000 * 1.25) + 16);
  demand.limit = { count: 100, windowMs: 1_000 }; // the platform advertised more
  now = 999;
  assert.equal(sizer.bound(), 13 + 16, "still the sum of a moment ago");
  now = 1_000;
  assert.equal(sizer.bound(), Math.ceil(0.1 * 1_000 * 1.25) + 100);
});

/** A `/proc/self/limits` whose open-files soft limit is `soft`. */
const limits = (soft: string) => () =>
  `Limit                     Soft Limit           Hard Limit           Units     \n` +
  `Max processes             95044                95044                processes \n` +
  `Max open files            ${soft.padEnd(20)} 1048576              files     \n`;

Deno.test("The process's sockets bound the requests in flight: four fifths of the open-files limit", () => {
  assert.equal(socketBudget(limits("20000")), 16_000 - 64);
  assert.equal(socketBudget(limits("1024")), 819 - 64);
  assert.equal(socketBudget(limits("unlimited")), Infinity);
  assert.equal(
    socketBudget(() => {
      throw new Error("no /proc here");
    }),
    Infinity,
  );
  assert.equal(createHostGates().forUrl("http://x.test").ceiling, socketBudget());
  assert.equal(createHostGates({ maxInFlight: 8 }).forUrl("http://x.test").ceiling, 8);
});

Deno.test("Idle kept-alive connections may take a tenth of the open-files limit", () => {
  assert.equal(idleSocketBudget(limits("20000")), 2_000);
  assert.equal(idleSocketBudget(limits("100")), 16, "never below the spare places");
  assert.equal(idleSocketBudget(limits("unlimited")), Infinity);
});

Deno.test("HostGates' fetch keeps at most its idle budget of connections once requests end", async () => {
  // Each batch of 60 requests is answered only once all 60 arrived, so 60 connections are open at
  // once; a connection is told by its client port.
  let batch: { ports: Set<number>; allIn: () => void; together: Promise<void> } | undefined;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (_, info) => {
    batch!.ports.add(info.remoteAddr.port);
    if (batch!.ports.size === 60) batch!.allIn();
    await batch!.together;
    return new Response("ok");
  });
  const gates = createHostGates({}, limits("200")); // 20 idle connections a host
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const sendBatch = async () => {
    let allIn = () => {};
    const together = new Promise<void>((resolve) => allIn = resolve);
    batch = { ports: new Set(), allIn, together };
    await Promise.all(Array.from({ length: 60 }, async () => (await gates.fetch(url)).text()));
    return batch.ports;
  };
  try {
    const first = await sendBatch();
    const second = await sendBatch();
    const reused = [...second].filter((port) => first.has(port)).length;
    assert.equal(first.size, 60);
    assert.ok(reused > 0 && reused <= 20, `${reused} connections kept from the first batch`);
  } finally {
    gates.close();
    await server.shutdown();
  }
});

Deno.test("HostGate admits its waiters in order past thousands that left the queue", async () => {
  const gate = createHostGate({ maxInFlight: 1 });
  const leave = await gate.enter();
  const order: number[] = [];
  const stops = Array.from({ length: 3_000 }, () => new AbortController());
  const entries = stops.map((stop, n) =>
    gate.enter(stop.signal).then((out) => (order.push(n), out()), () => "left")
  );
  stops.forEach((stop, n) => n % 3 !== 0 && stop.abort(new Error("stop")));
  await settle();
  assert.equal(gate.waiting, 1_000);
  leave();
  await Promise.all(entries);
  assert.deepEqual(order, Array.from({ length: 1_000 }, (_, i) => 3 * i));
  assert.equal(gate.waiting, 0);
  assert.equal(gate.inFlight, 0);
  // Every waiter gone before its turn: the queue is empty, and the next one walks in.
  const held = await gate.enter();
  const gone = new AbortController();
  const left = gate.enter(gone.signal);
  gone.abort(new Error("stop"));
  await assert.rejects(left, { message: "stop" });
  assert.equal(gate.waiting, 0);
  held();
  (await gate.enter())();
  assert.equal(gate.inFlight, 0);
});
