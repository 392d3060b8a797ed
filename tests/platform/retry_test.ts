import assert from "node:assert/strict";
import { HttpError, InvalidAnswerError, NetworkError, TimeoutError } from "../../src/errors.ts";
import { backoffDelay, isRetryable, withRetries } from "../../src/platform/retry.ts";
import { createFakeClock, settle } from "../_fake_clock.ts";

const url = "http://platform.test/api/campaigns";
const http = (status: number) => new HttpError(`Cannot fetch page 1: ${status}`, { status, url });

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

Deno.test("withRetries waits a full-jitter backoff between attempts and returns the first success", async () => {
  const clock = createFakeClock();
  const waits: number[] = [];
  let calls = 0;
  const result = withRetries(
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

Deno.test("withRetries fails at once on an error retrying cannot help", async () => {
  let calls = 0;
  const invalid = new InvalidAnswerError("Cannot sync x: unexpected answer", { url, status: 200 });
  const error = await withRetries(() => {
    calls++;
    return Promise.reject(invalid);
  }).catch((e) => e);
  assert.equal(error, invalid);
  assert.equal(calls, 1);
});

Deno.test("withRetries returns a result that arrives after its stop signal fired", async () => {
  const stop = new AbortController();
  const answer = Promise.withResolvers<string>();
  const result = withRetries(() => answer.promise, { signal: stop.signal });
  stop.abort(new Error("stop"));
  answer.resolve("synced");
  assert.equal(await result, "synced");
});

Deno.test("withRetries ends a backoff when its stop signal fires, and starts no new attempt", async () => {
  const clock = createFakeClock();
  const stop = new AbortController();
  let calls = 0;
  const result = withRetries(() => {
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

Deno.test("withRetries retries a timed-out attempt at once: it already waited its deadline", async () => {
  const clock = createFakeClock();
  const waits: number[] = [];
  const failures = [
    http(503),
    new TimeoutError("Cannot fetch page 1: no complete answer within 5000 ms", { url }),
    http(503),
  ];
  const result = withRetries(
    () => failures.length > 0 ? Promise.reject(failures.shift()) : Promise.resolve("ok"),
    {
      clock,
      random: () => 0.5,
      onRetry: (_error, _attempt, delayMs) => void waits.push(delayMs),
    },
  );
  await clock.runAll();
  assert.equal(await result, "ok");
  assert.deepEqual(waits, [250, 0, 1_000]);
});
