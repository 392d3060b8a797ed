import assert from "node:assert/strict";
import { configureLogging, resetLogging } from "../../src/report/logging.ts";
import {
  createLimitLearner,
  enforcedCount,
  type LimitLearner,
  readAdvertisedLimit,
  type SentRequest,
  stricter,
} from "../../src/platform/limits.ts";
import { createRateLimiter } from "../../src/platform/rate_limiter.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { acmeAccount } from "../_fixtures.ts";

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

const WINDOW = { count: 100, windowMs: 6_000 };

/** `accepted` requests and then `refused` ones, all sent at `at`. */
function burst(at: number, accepted: number, refused: number): SentRequest[] {
  return [
    ...Array.from({ length: accepted }, () => ({ at, refused: false })),
    ...Array.from({ length: refused }, () => ({ at, refused: true })),
  ];
}

Deno.test("enforcedCount counts what the platform accepted in the window before the 429", () => {
  const sent = [...burst(1_000, 1, 0), ...burst(1_010, 9, 11)];
  assert.equal(enforcedCount(sent, 1_010, 1_020, WINDOW), 10);
});

Deno.test("enforcedCount counts requests sent together with the refused one, answered or not", () => {
  // Sent in one millisecond, they may have reached the platform in any order.
  const sent = [...burst(1_000, 4, 1), ...burst(1_000, 5, 0)];
  assert.equal(enforcedCount(sent, 1_000, 1_002, WINDOW), 9);
});

Deno.test("enforcedCount leaves out what left the window before the refused request", () => {
  const sent = [...burst(0, 7, 0), ...burst(7_000, 3, 1)];
  assert.equal(enforcedCount(sent, 7_000, 7_005, WINDOW), 3);
});

Deno.test("enforcedCount never says less than 1", () => {
  assert.equal(enforcedCount(burst(5_000, 0, 1), 5_000, 5_001, WINDOW), 1);
});

Deno.test("enforcedCount never says as much as the limit it disproves", () => {
  const limit = { count: 10, windowMs: 6_000 };
  assert.equal(enforcedCount(burst(0, 10, 1), 0, 1, limit), undefined);
  assert.equal(enforcedCount(burst(0, 9, 1), 0, 1, limit), 9);
});

Deno.test("enforcedCount lets a 429 that a late arrival explains lower nothing", () => {
  // An honest 10 a window: the next burst left a window and 50 ms after the first, and one of
  // the first reached the platform late; the refusal is the margin's to answer, not the limit's.
  const limit = { count: 10, windowMs: 6_000 };
  const sent = [...burst(0, 10, 0), ...burst(6_050, 9, 1)];
  assert.equal(enforcedCount(sent, 6_050, 6_060, limit), undefined);
  // A tenth of a window earlier, no late arrival explains it.
  const long = [...burst(0, 10, 0), ...burst(6_700, 9, 1)];
  assert.equal(enforcedCount(long, 6_700, 6_710, limit), 9);
});

const ietf = (q: number, w: number, r?: number, t?: number) =>
  new Headers({
    "RateLimit-Policy": `"default";q=${q};w=${w}`,
    ...(r === undefined ? {} : { "RateLimit": `"default";r=${r};t=${t ?? 0}` }),
  });

function setup(configured = { count: 10, windowMs: 60_000 }, auto = false) {
  const clock = createFakeClock();
  const limiter = createRateLimiter(configured, { clock, marginMs: 0 });
  const learner = createLimitLearner(limiter, { auto, clock });
  return { clock, limiter, learner };
}

/** Runs `fn` with logging captured as JSON records. */
async function logsOf(fn: () => void): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  await configureLogging({ level: "info", format: "json", write: (text) => chunks.push(text) });
  try {
    fn();
  } finally {
    await resetLogging();
  }
  return chunks.join("").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

Deno.test("LimitLearner adopts an advertised limit stricter than the configured ceiling", () => {
  const { limiter, learner } = setup();
  assert.equal(learner.source, "configured");
  learner.observe(ietf(5, 60));
  assert.deepEqual(limiter.limit, { count: 5, windowMs: 60_000 });
  assert.equal(learner.source, "advertised");
});

Deno.test("LimitLearner keeps the configured ceiling when the platform advertises more", () => {
  const { limiter, learner } = setup();
  learner.observe(ietf(20, 60));
  assert.deepEqual(limiter.limit, { count: 10, windowMs: 60_000 });
  assert.equal(learner.source, "configured");
});

Deno.test("LimitLearner with auto follows the platform above the default, and back down", () => {
  const { limiter, learner } = setup({ count: 10, windowMs: 60_000 }, true);
  assert.equal(learner.source, "default");
  learner.observe(ietf(20, 1));
  assert.deepEqual(limiter.limit, { count: 20, windowMs: 1_000 });
  assert.equal(learner.source, "advertised");
  learner.observe(ietf(3, 1));
  assert.deepEqual(limiter.limit, { count: 3, windowMs: 1_000 });
});

Deno.test("LimitLearner logs a change of limit once, however many answers repeat it", async () => {
  const { learner } = setup();
  const records = await logsOf(() => {
    for (let i = 0; i < 5; i++) learner.observe(ietf(5, 60));
  });
  const changes = records.filter((r) => String(r.message).startsWith("Rate limit now"));
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.message, "Rate limit now 5/60s (advertised), was 10/60s");
});

Deno.test("LimitLearner warns once per account about garbage values and keeps its limit", async () => {
  const first = setup();
  const second = setup();
  const garbage = new Headers({ "RateLimit-Policy": "unlimited;q=lots", "RateLimit": "r=soon" });
  const records = await logsOf(() => {
    for (let i = 0; i < 5; i++) first.learner.observe(garbage);
    second.learner.observe(new Headers({ "X-RateLimit-Limit": "ten" }));
  });
  const warnings = records.filter((r) => r.level === "warning");
  assert.equal(warnings.length, 2, "one per account");
  assert.match(String(warnings[0]!.message), /RateLimit-Policy: unlimited;q=lots/);
  assert.deepEqual(first.limiter.limit, { count: 10, windowMs: 60_000 });
  assert.equal(first.learner.source, "configured");
});

Deno.test("LimitLearner trusts a remaining count stricter than the limiter's own", async () => {
  const { clock, limiter, learner } = setup();
  learner.observe(ietf(10, 60, 2, 30));
  const admitted: number[] = [];
  const start = clock.now();
  const done = Promise.all(Array.from({ length: 3 }, async () => {
    (await limiter.acquire()).sent();
    admitted.push(clock.now() - start);
  }));
  await clock.runAll();
  await done;
  assert.deepEqual(admitted, [0, 0, 30_000], "two now, the third once the platform's reset came");
});

Deno.test("LimitLearner lets Retry-After take precedence over the answer's remaining and reset", async () => {
  const { clock, limiter, learner } = setup();
  const headers = ietf(10, 60, 0, 50);
  headers.set("Retry-After", "1");
  learner.observe(headers);
  const start = clock.now();
  const admitted = limiter.acquire().then(() => clock.now() - start);
  await clock.runAll();
  assert.equal(await admitted, 0, "the reset in 50 s is not second-guessing Retry-After");
});

Deno.test("LimitLearner reads the window of X-RateLimit headers from an answer that opens one", () => {
  const { clock, limiter, learner } = setup({ count: 10, windowMs: 60_000 }, true);
  const reset = Math.ceil(clock.now() / 1_000) + 2;
  learner.observe(new Headers({ "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "7" }));
  assert.deepEqual(limiter.limit, { count: 20, windowMs: 60_000 }, "no window known yet");
  learner.observe(
    new Headers({
      "X-RateLimit-Limit": "20",
      "X-RateLimit-Remaining": "19",
      "X-RateLimit-Reset": String(reset),
    }),
  );
  assert.deepEqual(limiter.limit, {
    count: 20,
    windowMs: Math.ceil((reset * 1_000 - clock.now()) / 1_000) * 1_000,
  });
});

Deno.test("stricter compares requests per second, then burst size", () => {
  assert.ok(stricter({ count: 5, windowMs: 60_000 }, { count: 10, windowMs: 60_000 }));
  assert.ok(!stricter({ count: 20, windowMs: 1_000 }, { count: 10, windowMs: 60_000 }));
  assert.ok(stricter({ count: 1, windowMs: 6_000 }, { count: 10, windowMs: 60_000 }));
  assert.ok(!stricter({ count: 10, windowMs: 60_000 }, { count: 10, windowMs: 60_000 }));
});

Deno.test("An account starts from the limit the platform advertised to its last run", () => {
  const auto = acmeAccount({
    rateLimit: { count: 10, windowMs: 60_000 },
    rateLimitAuto: true,
    advertisedBefore: { count: 20, windowMs: 1_000 },
  });
  assert.deepEqual(auto.limiter.limit, { count: 20, windowMs: 1_000 });
  assert.equal(auto.limits.source, "advertised");
  const ceiling = acmeAccount({
    rateLimit: { count: 10, windowMs: 1_000 },
    advertisedBefore: { count: 20, windowMs: 1_000 },
  });
  assert.deepEqual(ceiling.limiter.limit, { count: 10, windowMs: 1_000 }, "within the ceiling");
});

/** Sends `n` requests at once through the learner; answers the last `refused` of them 429. */
function answerBurst(learner: LimitLearner, at: number, n: number, refused: number): void {
  const answers = Array.from({ length: n }, () => learner.sent(at));
  // Refusals come back first: a 429 is answered at once, a sync takes seconds.
  answers.slice(n - refused).forEach((answer) => answer(429));
  answers.slice(0, n - refused).forEach((answer) => answer(200));
}

/** A learner on auto that has believed the platform's 100 per 6 s. */
function believing100() {
  const s = setup({ count: 10, windowMs: 60_000 }, true);
  s.learner.observe(ietf(100, 6));
  assert.deepEqual(s.limiter.limit, { count: 100, windowMs: 6_000 });
  return s;
}

Deno.test("A 429 under an advertised 100 lowers the limit to the 10 the platform accepted", async () => {
  const { clock, limiter, learner } = believing100();
  answerBurst(learner, clock.now(), 1, 0); // page 1
  await clock.tick(5);
  answerBurst(learner, clock.now(), 20, 11);
  assert.deepEqual(limiter.limit, { count: 10, windowMs: 6_000 });
  assert.equal(learner.source, "enforced");
  assert.deepEqual(learner.disproved, { count: 100, windowMs: 6_000 });
});

Deno.test("Later advertisements do not raise a disproved limit again during the run", () => {
  const { clock, limiter, learner } = believing100();
  answerBurst(learner, clock.now(), 11, 1);
  learner.observe(ietf(100, 6, 90, 6));
  learner.observe(ietf(500, 6));
  assert.deepEqual(limiter.limit, { count: 10, windowMs: 6_000 });
  assert.equal(learner.source, "enforced");
  learner.observe(ietf(4, 6));
  assert.deepEqual(limiter.limit, { count: 4, windowMs: 6_000 }, "a stricter one is still taken");
  assert.equal(learner.source, "advertised");
});

Deno.test("A disproved limit keeps falling while 429s show less accepted", async () => {
  const { clock, limiter, learner } = believing100();
  answerBurst(learner, clock.now(), 11, 1);
  assert.equal(limiter.limit.count, 10);
  await clock.tick(7_000);
  answerBurst(learner, clock.now(), 10, 4);
  assert.deepEqual(limiter.limit, { count: 6, windowMs: 6_000 });
});

Deno.test("A 429 the platform's advertised limit explains lowers nothing", async () => {
  const { clock, limiter, learner } = setup({ count: 10, windowMs: 60_000 }, true);
  learner.observe(ietf(10, 6));
  answerBurst(learner, clock.now(), 10, 0);
  await clock.tick(6_050);
  // One of the first burst reached the platform late: a matter for the margin.
  answerBurst(learner, clock.now(), 10, 1);
  assert.deepEqual(limiter.limit, { count: 10, windowMs: 6_000 });
  assert.equal(learner.source, "advertised");
});

Deno.test("A 429 under a configured or default limit lowers nothing", () => {
  for (const auto of [false, true]) {
    const { clock, limiter, learner } = setup({ count: 10, windowMs: 60_000 }, auto);
    answerBurst(learner, clock.now(), 5, 1);
    assert.deepEqual(limiter.limit, { count: 10, windowMs: 60_000 });
    assert.equal(learner.source, auto ? "default" : "configured");
    assert.equal(learner.disproved, undefined);
  }
});

Deno.test("A disproved advertisement is warned about once per run", async () => {
  const { clock, learner } = believing100();
  const records = await logsOf(() => {
    answerBurst(learner, clock.now(), 20, 11);
  });
  const warnings = records.filter((r) => r.level === "warning");
  assert.equal(warnings.length, 1, JSON.stringify(records));
  assert.equal(
    warnings[0]!.message,
    "The platform advertises 100/6s but enforces about 19/6s: keeping to that for the rest of the run",
    "the first 429 read, before the other refusals were",
  );
});

Deno.test("An account starts from what the platform enforced in its last run while it makes the same claim", () => {
  const before = {
    rateLimit: { count: 10, windowMs: 60_000 },
    rateLimitAuto: true,
    advertisedBefore: { count: 100, windowMs: 6_000 },
    enforcedBefore: { count: 10, windowMs: 6_000 },
  };
  const same = acmeAccount(before);
  assert.deepEqual(same.limiter.limit, { count: 10, windowMs: 6_000 });
  assert.equal(same.limits.source, "enforced");
  assert.deepEqual(same.limits.disproved, { count: 100, windowMs: 6_000 });
  same.limits.observe(ietf(100, 6));
  assert.deepEqual(same.limiter.limit, { count: 10, windowMs: 6_000 }, "the same claim");
  const changed = acmeAccount(before);
  changed.limits.observe(ietf(50, 6));
  assert.deepEqual(changed.limiter.limit, { count: 50, windowMs: 6_000 }, "a new claim");
  assert.equal(changed.limits.source, "advertised");
  assert.equal(changed.limits.disproved, undefined);
});

Deno.test("A 429 that the last run's sends explain lowers nothing", () => {
  const clock = createFakeClock();
  const limiter = createRateLimiter({ count: 10, windowMs: 60_000 }, { clock, marginMs: 0 });
  const history = Array.from({ length: 15 }, () => clock.now() - 500);
  const learner = createLimitLearner(limiter, { auto: true, clock, history });
  learner.observe(ietf(20, 1));
  answerBurst(learner, clock.now(), 6, 1);
  assert.deepEqual(limiter.limit, { count: 20, windowMs: 1_000 });
  assert.equal(learner.source, "advertised");
});
