import assert from "node:assert/strict";
import {
  AuthError,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  TimeoutError,
} from "../src/errors.ts";

const url = "http://platform.test/api/campaigns?page=3";

Deno.test("each platform error names its kind and carries its URL and cause", () => {
  const cause = new Error("underlying");
  const errors = [
    new HttpError("Cannot fetch page 3: 503 Service Unavailable", { status: 503, url }, { cause }),
    new TimeoutError("Cannot fetch page 3: no complete answer within 15000 ms", { url }, { cause }),
    new NetworkError("Cannot fetch page 3: connection refused", { url }, { cause }),
    new InvalidAnswerError(
      "Cannot fetch page 3: the 200 answer is not JSON",
      { url, status: 200 },
      {
        cause,
      },
    ),
    new AuthError("Cannot log in: the platform refused the credentials (401)", { url, cause }),
  ];
  assert.deepEqual(errors.map((e) => e.name), [
    "HttpError",
    "TimeoutError",
    "NetworkError",
    "InvalidAnswerError",
    "AuthError",
  ]);
  for (const error of errors) {
    assert.ok(error instanceof Error);
    assert.equal(error.url, url);
    assert.equal(error.cause, cause);
    assert.match(error.message, /^Cannot /);
  }
});

Deno.test("HttpError keeps the status and the wait a 429 asked for", () => {
  const error = new HttpError("Cannot fetch page 1: 429 Too Many Requests", {
    status: 429,
    url,
    retryAfterMs: 7_000,
  });
  assert.equal(error.status, 429);
  assert.equal(error.retryAfterMs, 7_000);
});
