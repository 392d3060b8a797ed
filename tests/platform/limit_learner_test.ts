import assert from "node:assert/strict";
import { configureLogging, resetLogging } from "../../src/report/logging.ts";
import { createLimitLearner, stricter } from "../../src/platform/limit_learner.ts";
import { createRateLimiter } from "../../src/platform/rate_limiter.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { acmeAccount } from "../_fixtures.ts";

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
