import assert from "node:assert/strict";
import { createFakeClock, settle } from "../_fake_clock.ts";
import {
  AuthError,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  TimeoutError,
} from "../../src/errors.ts";
import {
  backoffDelay,
  classifyFailure,
  isRetryable,
  rateLimitHoldMs,
  retry,
} from "../../src/platform/retry.ts";

const url = "http://platform.test/api/campaigns";
const http = (status: number, retryAfterMs?: number) =>
  new HttpError(`Cannot fetch page 1: ${status}`, { status, url, retryAfterMs });

Deno.test("retry waits a full-jitter backoff between attempts and returns the first success", async () => {
  const clock = createFakeClock();
  const waits: number[] = [];
  let calls = 0;
  const result = retry(
    () => ++calls < 3 ? Promise.reject(http(503)) : Promise.resolve("ok"),
    {
      clock,
      random: () => 0.5,
      onRetry: (_error, _attempt, delayMs) => void waits.push(delayMs),
    },
  );
  await clock.runAll();
  assert.equal(await result, "ok");
  assert.deepEqual(waits, [250, 500]);
});

Deno.test("retry fails at once on an error retrying cannot help", async () => {
  let calls = 0;
  const invalid = new InvalidAnswerError("Cannot sync x: unexpected answer", { url, status: 200 });
  const error = await retry(() => {
    calls++;
    return Promise.reject(invalid);
  }).catch((e) => e);
  assert.equal(error, invalid);
  assert.equal(calls, 1);
});

Deno.test("retry returns a result that arrives after its stop signal fired", async () => {
  const stop = new AbortController();
  const answer = Promise.withResolvers<string>();
  const result = retry(() => answer.promise, { signal: stop.signal });
  stop.abort(new Error("stop"));
  answer.resolve("synced");
  assert.equal(await result, "synced");
});

Deno.test("retry ends a backoff when its stop signal fires, and starts no new attempt", async () => {
  const clock = createFakeClock();
  const stop = new AbortController();
  let calls = 0;
  const result = retry(() => {
    calls++;
    return Promise.reject(http(503));
  }, { clock, signal: stop.signal, random: () => 0.5 }).catch((e) => e);
  while (clock.pending === 0) await settle();
  stop.abort(new Error("stop"));
  assert.equal((await result).message, "stop");
  assert.equal(calls, 1);
});

Deno.test("backoffDelay draws below a doubling ceiling that stops at its cap", () => {
  assert.equal(backoffDelay(1, 500, 10_000, () => 0), 0);
  assert.equal(backoffDelay(1, 500, 10_000, () => 0.999_9), 499);
  assert.equal(backoffDelay(3, 500, 10_000, () => 0.999_9), 1_999);
  assert.equal(backoffDelay(10, 500, 10_000, () => 0.999_9), 9_999);
});

Deno.test("retry retries a timed-out attempt at once, and a timeout does not double the next backoff", async () => {
  const clock = createFakeClock();
  const waits: number[] = [];
  const failures = [
    http(503),
    new TimeoutError("Cannot fetch page 1: no complete answer within 5000 ms", { url }),
    http(503),
  ];
  const result = retry(
    () => failures.length > 0 ? Promise.reject(failures.shift()) : Promise.resolve("ok"),
    {
      clock,
      random: () => 0.5,
      onRetry: (_error, _attempt, delayMs) => void waits.push(delayMs),
    },
  );
  await clock.runAll();
  assert.equal(await result, "ok");
  // The second backoff's ceiling is the second (1,000 ms), not the third: a timeout is no
  // answer to back off from, and its retry already waited its deadline.
  assert.deepEqual(waits, [250, 0, 500]);
});

/** An attempt that fails with each of `failures` in turn, then succeeds; counts its calls. */
function failing(failures: Error[]) {
  const calls = { count: 0 };
  const attempt = () => {
    calls.count++;
    const failure = failures.shift();
    return failure ? Promise.reject(failure) : Promise.resolve("ok");
  };
  return { attempt, calls };
}

Deno.test("retry sends an attempt refused with 401 again at once after a refresh, and gives up on a second 401", async () => {
  const clock = createFakeClock();
  const refreshed: number[] = [];
  const retried: number[] = [];
  const { attempt, calls } = failing([http(401), http(401)]);
  const error = await retry(attempt, {
    clock,
    onRefresh: (e) => void refreshed.push(e.status),
    onRetry: (_e, n) => void retried.push(n),
  }).catch((e) => e);
  assert.equal(error.status, 401);
  assert.equal(calls.count, 2);
  assert.deepEqual(refreshed, [401]);
  assert.deepEqual(retried, [], "no backoff before the replay");
  assert.equal(clock.pending, 0);
});

Deno.test("retry replays a 429 after holding each time, and fails on the fifth 429 of an attempt", async () => {
  const held: number[] = [];
  const { attempt, calls } = failing(Array.from({ length: 6 }, () => http(429)));
  const onHold = (e: HttpError) => {
    held.push(e.status);
    return true;
  };
  const error = await retry(attempt, { onHold }).catch((e) => e);
  assert.equal(error.status, 429);
  assert.equal(calls.count, 5);
  assert.deepEqual(held, [429, 429, 429, 429, 429]);
});

Deno.test("retry gives up on a 429 its caller does not hold", async () => {
  const { attempt, calls } = failing([http(429)]);
  const error = await retry(attempt, { onHold: () => false }).catch((e) => e);
  assert.equal(error.status, 429);
  assert.equal(calls.count, 1);
});

Deno.test("retry gives up on a 401 or a 429 when no one can refresh or hold (a login)", async () => {
  for (const status of [401, 429]) {
    const { attempt, calls } = failing([http(status)]);
    const error = await retry(attempt).catch((e) => e);
    assert.equal(error.status, status);
    assert.equal(calls.count, 1);
  }
});

Deno.test("retry keeps one refresh per attempt across holds, and starts both budgets anew after a retry", async () => {
  const clock = createFakeClock();
  const kinds: string[] = [];
  const options = {
    clock,
    random: () => 0,
    onRefresh: () => void kinds.push("refresh"),
    onHold: () => {
      kinds.push("hold");
      return true;
    },
    onRetry: () => void kinds.push("retry"),
  };
  const fresh = failing([http(401), http(429), http(503), http(401), http(429), http(429)]);
  const result = retry(fresh.attempt, options);
  await clock.runAll();
  assert.equal(await result, "ok");
  assert.deepEqual(kinds, ["refresh", "hold", "retry", "refresh", "hold", "hold"]);
  const refused = failing([http(401), http(429), http(401)]);
  const error = await retry(refused.attempt, options).catch((e) => e);
  assert.equal(error.status, 401, "a second 401 in one attempt is final, holds or not");
  assert.equal(refused.calls.count, 3);
});

Deno.test("isRetryable repeats 5xx, timeouts and network failures, never a 2xx, 3xx or other 4xx", () => {
  assert.ok(isRetryable(http(500)));
  assert.ok(isRetryable(http(503)));
  assert.ok(isRetryable(new TimeoutError("Cannot fetch page 1: no complete answer", { url })));
  assert.ok(isRetryable(new NetworkError("Cannot fetch page 1: connection refused", { url })));
  assert.ok(
    !isRetryable(new InvalidAnswerError("Cannot sync x: unexpected answer", { url, status: 200 })),
  );
  for (const status of [301, 307, 400, 401, 403, 404, 429]) assert.ok(!isRetryable(http(status)));
  assert.ok(!isRetryable(new Error("a bug")));
});

Deno.test("classifyFailure retries 5xx, timeouts and network failures", () => {
  for (const status of [500, 502, 503, 504, 599]) {
    assert.equal(classifyFailure(http(status)), "retry");
  }
  const timeout = new TimeoutError("Cannot fetch page 1: no complete answer within 50 ms", { url });
  assert.equal(classifyFailure(timeout), "retry");
  const network = new NetworkError("Cannot fetch page 1: connection refused", { url });
  assert.equal(classifyFailure(network), "retry");
});

Deno.test("classifyFailure gives up on a 501: a server that does not implement the request", () => {
  assert.equal(classifyFailure(http(501)), "fatal");
  assert.ok(!isRetryable(http(501)));
});

Deno.test("classifyFailure refreshes the token on a 401, and gives up on a 401 after a refresh", () => {
  assert.equal(classifyFailure(http(401)), "refresh");
  assert.equal(classifyFailure(http(401), { refreshed: false }), "refresh");
  assert.equal(classifyFailure(http(401), { refreshed: true }), "fatal");
});

Deno.test("classifyFailure holds the account on a 429, before and after a refresh", () => {
  assert.equal(classifyFailure(http(429)), "hold");
  assert.equal(classifyFailure(http(429), { refreshed: true }), "hold");
});

Deno.test("classifyFailure gives up on redirects, other 4xx, invalid answers, refused credentials and bugs", () => {
  for (const status of [301, 307, 400, 403, 404, 409, 422]) {
    assert.equal(classifyFailure(http(status)), "fatal", `status ${status}`);
  }
  const invalid = new InvalidAnswerError("Cannot sync x: unexpected answer", { url, status: 200 });
  assert.equal(classifyFailure(invalid), "fatal");
  assert.equal(classifyFailure(new AuthError("Cannot log in: refused (401)")), "fatal");
  assert.equal(classifyFailure(new TypeError("x is not a function")), "fatal");
  assert.equal(classifyFailure("a string thrown"), "fatal");
});

Deno.test("rateLimitHoldMs waits what the platform asked, at most two minutes, else a whole window", () => {
  assert.equal(rateLimitHoldMs(http(429, 7_000), 60_000), 7_000);
  assert.equal(rateLimitHoldMs(http(429, 0), 60_000), 0);
  assert.equal(rateLimitHoldMs(http(429, 3_600_000), 60_000), 120_000);
  assert.equal(rateLimitHoldMs(http(429), 60_000), 60_000);
  assert.equal(rateLimitHoldMs(http(429), 600_000), 120_000);
});
