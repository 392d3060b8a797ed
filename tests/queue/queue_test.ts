import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { createQueueErrorLog, queueErrorMessage } from "../../src/queue/queue.ts";

Deno.test("pg-boss errors during an outage make one readable line, not [object Object] each time", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record) => records.push(record) },
    loggers: [{ category: ["adsync"], sinks: ["memory"], lowestLevel: "debug" }],
    reset: true,
  });
  try {
    let now = 0;
    const onError = createQueueErrorLog(() => now);
    // pg-boss emits some errors as plain objects spread from the Error.
    const lost = new Error("Connection terminated unexpectedly");
    for (let i = 0; i < 100; i++, now += 500) onError({ ...lost, message: lost.message });
    assert.equal(records.length, 1);
    assert.match(String(records[0]!.properties.error), /^Connection terminated unexpectedly$/);
    now += 60_000; // quiet for a minute: the next outage is news again
    onError(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
    assert.equal(records.length, 2);
    assert.equal(records[1]!.properties.unsaid, 99);
  } finally {
    await reset();
  }
});

Deno.test("queueErrorMessage reads Errors, spread errors and anything else", () => {
  assert.equal(queueErrorMessage(new Error("boom")), "boom");
  assert.equal(queueErrorMessage({ message: "one\n  two", code: "57P01" }), "one two");
  assert.equal(queueErrorMessage({ code: "57P01" }), '{"code":"57P01"}');
});
