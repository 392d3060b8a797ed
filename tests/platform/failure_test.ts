import assert from "node:assert/strict";
import {
  AuthError,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  TimeoutError,
} from "../../src/errors.ts";
import { classifyFailure, isRetryable, rateLimitHoldMs } from "../../src/platform/failure.ts";

const url = "http://platform.test/api/campaigns";
const http = (status: number, retryAfterMs?: number) =>
  new HttpError(`Cannot fetch page 1: ${status}`, { status, url, retryAfterMs });

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
