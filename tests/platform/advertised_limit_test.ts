import assert from "node:assert/strict";
import { parseList, readAdvertisedLimit } from "../../src/platform/advertised_limit.ts";

const NOW = Date.parse("2026-12-02T01:00:00Z");
const read = (headers: Record<string, string>, now = NOW) =>
  readAdvertisedLimit(new Headers(headers), now);

Deno.test("readAdvertisedLimit reads the IETF draft's policy and its remaining quota", () => {
  const advertised = read({
    "RateLimit-Policy": '"default";q=100;w=60',
    "RateLimit": '"default";r=50;t=30',
  });
  assert.deepEqual(advertised, {
    style: "ietf",
    limit: { count: 100, windowMs: 60_000 },
    remaining: [{ remaining: 50, resetAt: NOW + 30_000 }],
    garbage: [],
  });
});

Deno.test("readAdvertisedLimit mirrors the shortest of several policies and keeps every remaining", () => {
  const advertised = read({
    "RateLimit-Policy": '"daily";q=1000;w=86400, "burst";q=100;w=60, "tight";q=80;w=60',
    "RateLimit": '"burst";r=99;t=60, "daily";r=1;t=3600',
  });
  assert.deepEqual(advertised?.limit, { count: 80, windowMs: 60_000 });
  assert.deepEqual(advertised?.remaining, [
    { remaining: 99, resetAt: NOW + 60_000 },
    { remaining: 1, resetAt: NOW + 3_600_000 },
  ]);
});

Deno.test("readAdvertisedLimit takes the extra parameters and tokens of the draft in its stride", () => {
  const advertised = read({
    "RateLimit-Policy": 'permin;q=10;w=60;qu="requests";pk=:Y2xpZW50:',
    "RateLimit": "permin;r=0;t=12;pk=:Y2xpZW50:",
  });
  assert.deepEqual(advertised?.limit, { count: 10, windowMs: 60_000 });
  assert.deepEqual(advertised?.remaining, [{ remaining: 0, resetAt: NOW + 12_000 }]);
  assert.deepEqual(advertised?.garbage, []);
});

Deno.test("readAdvertisedLimit reads GitHub-style headers, the window from an answer that opens one", () => {
  // The platform's clock is 5 s behind ours: the reset is 60 s away by its clock.
  const date = new Date(NOW - 5_000).toUTCString();
  const reset = String((NOW - 5_000) / 1_000 + 60);
  const opening = read({
    "X-RateLimit-Limit": "20",
    "X-RateLimit-Remaining": "19",
    "X-RateLimit-Reset": reset,
    "Date": date,
  });
  assert.deepEqual(opening, {
    style: "x-ratelimit",
    limit: { count: 20, windowMs: 60_000 },
    remaining: [{ remaining: 19, resetAt: NOW + 60_000 }],
    garbage: [],
  });
  const later = read({
    "X-RateLimit-Limit": "20",
    "X-RateLimit-Remaining": "3",
    "X-RateLimit-Reset": reset,
    "Date": date,
  });
  assert.deepEqual(later?.limit, { count: 20, windowMs: undefined }, "no window: not an opener");
});

Deno.test("readAdvertisedLimit compares an epoch reset with our clock when the answer has no Date", () => {
  const advertised = read({
    "X-RateLimit-Limit": "5",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": String(NOW / 1_000 + 7),
  });
  assert.deepEqual(advertised?.remaining, [{ remaining: 0, resetAt: NOW + 7_000 }]);
});

Deno.test("readAdvertisedLimit says nothing of an answer without rate-limit headers", () => {
  assert.equal(read({ "Content-Type": "application/json", "Retry-After": "5" }), undefined);
});

Deno.test("readAdvertisedLimit lists garbage values and keeps what it can read", () => {
  const ietf = read({
    "RateLimit-Policy": 'unlimited;q=lots, "ok";q=5;w=1',
    "RateLimit": '"default";r=-1;t=soon',
  });
  assert.deepEqual(ietf?.limit, { count: 5, windowMs: 1_000 });
  assert.deepEqual(ietf?.remaining, []);
  assert.deepEqual(ietf?.garbage, [
    'RateLimit-Policy: unlimited;q=lots, "ok";q=5;w=1',
    'RateLimit: "default";r=-1;t=soon',
  ]);
  const github = read({
    "X-RateLimit-Limit": "ten",
    "X-RateLimit-Remaining": "1e3",
    "X-RateLimit-Reset": "tomorrow",
  });
  assert.deepEqual(github, {
    style: "x-ratelimit",
    remaining: [],
    garbage: [
      "X-RateLimit-Limit: ten",
      "X-RateLimit-Remaining: 1e3",
      "X-RateLimit-Reset: tomorrow",
    ],
  });
  for (const policy of ['"p";q=0;w=60', '"p";q=10;w=0', '"p";q=10.5;w=60', "", '"open']) {
    const advertised = read({ "RateLimit-Policy": policy });
    assert.equal(advertised?.limit, undefined, policy);
    assert.equal(advertised?.garbage.length, 1, policy);
  }
});

Deno.test("parseList keeps commas and semicolons inside quoted strings", () => {
  const items = parseList('"a,b;c";q=1, tok;w=2;flag');
  assert.deepEqual(items.map((item) => item && [item.value, Object.fromEntries(item.params)]), [
    ["a,b;c", { q: "1" }],
    ["tok", { w: "2", flag: "?1" }],
  ]);
});
