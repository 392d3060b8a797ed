import assert from "node:assert/strict";
import { RUN_COUNTERS, type RunCounters } from "../src/run_counters.ts";

Deno.test("The table of counters names every counter once, with its column and its metric", () => {
  const every = {
    campaigns_total: 0,
    synced: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    rejected: 0,
    deleted: 0,
    deletions_withheld: 0,
    requests: 0,
    rate_limited: 0,
    retries: 0,
    timeouts: 0,
    token_refreshes: 0,
  } satisfies Record<keyof RunCounters, number>;
  assert.deepEqual(RUN_COUNTERS.map((c) => c.key).sort(), Object.keys(every).sort());
  for (const field of ["header", "metric"] as const) {
    const values = RUN_COUNTERS.map((c) => c[field]);
    assert.equal(new Set(values).size, values.length, `every ${field} is its own`);
  }
  for (const counter of RUN_COUNTERS) {
    assert.match(counter.metric, /^[a-z_]+$/);
    // Prometheus' convention: a counter's name ends in _total, a gauge's does not.
    assert.equal(counter.metric.endsWith("_total"), counter.type === "counter", counter.metric);
    assert.match(counter.help, /^[A-Z0-9].*\.$/);
  }
});
