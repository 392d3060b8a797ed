import assert from "node:assert/strict";
import { anySignal, onAbort } from "../src/abort_listeners.ts";

Deno.test("onAbort calls each callback once when the signal aborts, but not the removed ones", () => {
  const controller = new AbortController();
  const calls: string[] = [];
  onAbort(controller.signal, () => calls.push("a"));
  const off = onAbort(controller.signal, () => calls.push("b"));
  onAbort(controller.signal, () => calls.push("c"));
  off();
  off();
  controller.abort();
  controller.abort();
  assert.deepEqual(calls, ["a", "c"]);
});

Deno.test("onAbort on a signal already aborted calls back in a microtask, unless removed", async () => {
  const calls: string[] = [];
  onAbort(AbortSignal.abort(), () => calls.push("kept"));
  const off = onAbort(AbortSignal.abort(), () => calls.push("removed"));
  off();
  assert.deepEqual(calls, []);
  await Promise.resolve();
  assert.deepEqual(calls, ["kept"]);
});

Deno.test("onAbort adds one real listener to a signal however many callbacks wait on it", () => {
  const controller = new AbortController();
  let added = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  controller.signal.addEventListener = (...args: Parameters<typeof add>) => {
    added++;
    add(...args);
  };
  let called = 0;
  for (let i = 0; i < 1_000; i++) onAbort(controller.signal, () => called++);
  controller.abort();
  assert.equal(added, 1);
  assert.equal(called, 1_000);
});

Deno.test("anySignal aborts with the reason of the first source to abort, and not once disposed", () => {
  const a = new AbortController();
  const b = new AbortController();
  const either = anySignal([a.signal, b.signal]);
  b.abort("b went first");
  a.abort("a");
  assert.equal(either.signal.reason, "b went first");

  const c = new AbortController();
  const disposed = anySignal([c.signal]);
  disposed.dispose();
  c.abort();
  assert.equal(disposed.signal.aborted, false);

  assert.equal(anySignal([AbortSignal.abort("already")]).signal.reason, "already");
});
