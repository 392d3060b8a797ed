import assert from "node:assert/strict";
import { computeFigures, floorMs, peakPerSecond } from "../../bench/figures.ts";
import type { MockLogLine } from "../../bench/mock_process.ts";

const LIMIT = { count: 2, windowMs: 1_000 };

/** A request that arrived at `arrival` and was answered `latency` ms later. */
function line(client: string, arrival: number, extra: Partial<MockLogLine> = {}): MockLogLine {
  const latency = extra.latency_ms ?? 10;
  return {
    method: "POST",
    path: "/api/campaigns/campaign_1/sync",
    status: 200,
    client,
    latency_ms: latency,
    at: arrival + latency,
    ...extra,
  };
}

Deno.test("floorMs counts the full windows after the first batch of requests", () => {
  assert.equal(floorMs(0, LIMIT), 0);
  assert.equal(floorMs(2, LIMIT), 0);
  assert.equal(floorMs(3, LIMIT), 1_000);
  assert.equal(floorMs(113, { count: 10, windowMs: 3_000 }), 33_000);
});

Deno.test("peakPerSecond counts the most arrivals within any one second", () => {
  assert.equal(peakPerSecond([]), 0);
  assert.equal(peakPerSecond([0, 100, 999, 1_000, 1_500, 1_600, 1_700]), 5);
  assert.equal(peakPerSecond([0, 1_000, 2_000]), 1);
});

Deno.test("computeFigures measures the run from the first arrival to the last answer", () => {
  const figures = computeFigures(
    [
      line("a", 10_000, { latency_ms: 500 }),
      line("a", 10_100),
      line("a", 11_000),
      line("b", 10_200),
      line("b", 10_300, { latency_ms: 900 }),
      { ...line("a", 9_000), path: "/auth/token" },
    ],
    LIMIT,
    new Map([["a", 3], ["b", 2]]),
  );
  assert.equal(figures.requests_sent, 5);
  assert.equal(figures.requests_needed, 5);
  assert.equal(figures.floor_ms, 1_000);
  assert.equal(figures.wall_ms, 11_200 - 10_000);
  assert.equal(figures.efficiency, Number((1_000 / 1_200).toFixed(3)));
  assert.equal(figures.http_429, 0);
  assert.deepEqual(figures.http_429_by_client, {});
  assert.equal(figures.clients.find((c) => c.client === "b")?.start_offset_ms, 200);
  assert.equal(figures.window_margin_ms, 0);
});

Deno.test("computeFigures names every client that got a 429 and how early it asked", () => {
  const figures = computeFigures(
    [
      line("a", 0),
      line("a", 100),
      line("a", 700, { status: 429 }),
      line("a", 1_000),
      line("b", 0),
    ],
    LIMIT,
    new Map([["a", 3], ["b", 1]]),
  );
  assert.equal(figures.http_429, 1);
  assert.deepEqual(figures.http_429_by_client, { a: 1 });
  const a = figures.clients.find((c) => c.client === "a");
  assert.equal(a?.worst_429_early_ms, 300);
  assert.equal(a?.sent, 4);
  assert.equal(figures.requests_sent, 5);
});

Deno.test("computeFigures counts pages, 503s and hangs as needed requests", () => {
  const list = { method: "GET", path: "/api/campaigns" };
  const figures = computeFigures(
    [
      line("a", 0, { ...list, page: 1, status: 503 }),
      line("a", 10, { ...list, page: 1, status: 0, hung: true }),
      line("a", 20, { ...list, page: 1 }),
      line("a", 30, { ...list, page: 2 }),
      line("a", 2_000),
    ],
    { count: 10, windowMs: 1_000 },
    new Map([["a", 1]]),
  );
  const a = figures.clients[0]!;
  assert.deepEqual([a.pages, a.forced, a.needed, a.sent], [2, 2, 5, 5]);
});

Deno.test("computeFigures reports a negative margin when a window held too many accepted requests", () => {
  const figures = computeFigures(
    [line("a", 0), line("a", 100), line("a", 900)],
    LIMIT,
    new Map([["a", 3]]),
  );
  assert.equal(figures.window_margin_ms, -100);
});

Deno.test("computeFigures says how long each client spent on its listing and when it ended", () => {
  const list = { method: "GET", path: "/api/campaigns", page: 1 };
  const figures = computeFigures(
    [
      line("a", 0, { ...list, status: 503 }),
      line("a", 800, list),
      line("a", 900),
      line("b", 100, list),
      line("b", 200),
    ],
    { count: 10, windowMs: 1_000 },
    new Map([["a", 1], ["b", 1]]),
  );
  assert.deepEqual(figures.clients.map((c) => [c.client, c.listing_ms]), [["a", 900], ["b", 100]]);
  assert.deepEqual(figures.client_end_ms, { p50: 910, p90: 910, p99: 910, max: 910 });
});

Deno.test("computeFigures takes a million requests: 10,000 accounts x 100 campaigns", () => {
  const log: MockLogLine[] = [];
  for (let client = 0; client < 10_000; client++) {
    for (let i = 0; i < 100; i++) log.push(line(`c${client}`, i * 500));
  }
  const figures = computeFigures(log, LIMIT, new Map());
  assert.equal(figures.requests_sent, 1_000_000);
  assert.equal(figures.wall_ms, 99 * 500 + 10);
});
