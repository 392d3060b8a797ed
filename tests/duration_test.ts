import assert from "node:assert/strict";
import { formatDuration, lacksUnit, parseDuration, parseRateLimit } from "../src/duration.ts";

Deno.test("parseDuration reads milliseconds, seconds, minutes and hours", () => {
  assert.equal(parseDuration("1500ms"), 1_500);
  assert.equal(parseDuration("15s"), 15_000);
  assert.equal(parseDuration("1.5s"), 1_500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration(" 1h "), 3_600_000);
});

Deno.test("parseDuration refuses a number without a unit", () => {
  assert.equal(parseDuration("60"), undefined);
  assert.equal(parseDuration("5"), undefined);
  assert.equal(lacksUnit("60"), true);
  assert.equal(lacksUnit("60s"), false);
  assert.equal(lacksUnit("soon"), false);
});

Deno.test("parseDuration refuses what is not a duration", () => {
  for (const text of ["", "soon", "-5s", "5 days", "5d", "1e3s"]) {
    assert.equal(parseDuration(text), undefined, text);
  }
});

Deno.test("parseRateLimit requires a unit on the window", () => {
  assert.deepEqual(parseRateLimit("10/60s"), { count: 10, windowMs: 60_000 });
  assert.deepEqual(parseRateLimit("10/1m"), { count: 10, windowMs: 60_000 });
  assert.equal(parseRateLimit("10/60"), undefined);
  assert.equal(parseRateLimit("0/60s"), undefined);
  assert.equal(parseRateLimit("10"), undefined);
});

Deno.test("formatDuration writes durations for people", () => {
  assert.equal(formatDuration(850), "850ms");
  assert.equal(formatDuration(12_300), "12.3s");
  assert.equal(formatDuration(245_000), "4m05s");
  assert.equal(formatDuration(3_720_000), "1h02m");
});
