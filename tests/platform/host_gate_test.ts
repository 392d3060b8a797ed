import assert from "node:assert/strict";
import { createHostGate, createHostGates } from "../../src/platform/host_gate.ts";
import { settle } from "../_fake_clock.ts";

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

Deno.test("HostGate defaults to 64 requests in flight and refuses a bound below 1", () => {
  assert.equal(createHostGate().maxInFlight, 64);
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

Deno.test("HostGate lets every waiter that goes ahead in before any waiter behind, each in order", async () => {
  const gate = createHostGate({ maxInFlight: 1 });
  const order: string[] = [];
  const leave = await gate.enter();
  const enter = (name: string, priority?: "ahead" | "behind") =>
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
  assert.deepEqual(order, ["list 1", "login", "sync 1", "sync 2", "sync 3"]);
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
  assert.throws(() => createHostGate({ maxInFlight: 4, reservedAhead: 4 }), {
    name: "RangeError",
    message: "reservedAhead must be a whole number from 0 to maxInFlight - 1, not 4",
  });
});
