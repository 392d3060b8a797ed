import assert from "node:assert/strict";
import {
  AdsyncError,
  AuthError,
  ConfigError,
  errorCode,
  errorFields,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  StoreError,
  TimeoutError,
  UnansweredError,
} from "../src/errors.ts";
import { CheckpointError } from "../src/store/checkpoint.ts";

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

Deno.test("every domain error is an AdsyncError with its class, stable code and message", () => {
  const cause = new Error("underlying");
  const cases: Array<[AdsyncError, new (...args: never[]) => AdsyncError, string, string]> = [
    [
      new ConfigError("AD_SYNC_CONCURRENCY", "must be at least 1"),
      ConfigError,
      "CONFIG_INVALID",
      "AD_SYNC_CONCURRENCY: must be at least 1",
    ],
    [
      new AuthError("Cannot log in: refused (401)", { url, cause }),
      AuthError,
      "AUTH_REFUSED",
      "Cannot log in: refused (401)",
    ],
    [
      new HttpError("Cannot fetch page 3: 429 Too Many Requests", { status: 429, url }),
      HttpError,
      "RATE_LIMITED",
      "Cannot fetch page 3: 429 Too Many Requests",
    ],
    [
      new HttpError("Cannot fetch page 3: 503 Service Unavailable", { status: 503, url }),
      HttpError,
      "PLATFORM_HTTP_ERROR",
      "Cannot fetch page 3: 503 Service Unavailable",
    ],
    [
      new HttpError("Cannot fetch page 3: 401 Unauthorized", { status: 401, url }),
      HttpError,
      "PLATFORM_HTTP_ERROR",
      "Cannot fetch page 3: 401 Unauthorized",
    ],
    [
      new TimeoutError("Cannot fetch page 3: no answer", { url }),
      TimeoutError,
      "PLATFORM_TIMEOUT",
      "Cannot fetch page 3: no answer",
    ],
    [
      new NetworkError("Cannot fetch page 3: connection refused", { url }),
      NetworkError,
      "PLATFORM_UNREACHABLE",
      "Cannot fetch page 3: connection refused",
    ],
    [
      new InvalidAnswerError("Cannot fetch page 3: not JSON", { url, status: 200 }),
      InvalidAnswerError,
      "PLATFORM_INVALID_ANSWER",
      "Cannot fetch page 3: not JSON",
    ],
    [
      new StoreError("Cannot connect to PostgreSQL: refused", { cause }),
      StoreError,
      "DATABASE_UNAVAILABLE",
      "Cannot connect to PostgreSQL: refused",
    ],
    [
      new StoreError("Cannot drive account acme: w1 drives it now", { code: "ACCOUNT_BUSY" }),
      StoreError,
      "ACCOUNT_BUSY",
      "Cannot drive account acme: w1 drives it now",
    ],
    [
      new CheckpointError("Cannot open checkpoint x.db: locked"),
      CheckpointError,
      "CHECKPOINT_UNAVAILABLE",
      "Cannot open checkpoint x.db: locked",
    ],
  ];
  for (const [error, kind, code, message] of cases) {
    assert.ok(error instanceof AdsyncError, kind.name);
    assert.ok(error instanceof kind, kind.name);
    assert.deepEqual([error.name, error.code, error.message], [kind.name, code, message]);
    assert.equal(errorCode(error), code);
  }
});

Deno.test("a timeout and a network failure share one parent and keep their own classes", () => {
  const timeout = new TimeoutError("Cannot fetch page 3: no answer", { url });
  const network = new NetworkError("Cannot fetch page 3: connection reset", { url });
  assert.ok(timeout instanceof UnansweredError && network instanceof UnansweredError);
  assert.ok(!(timeout instanceof NetworkError) && !(network instanceof TimeoutError));
});

Deno.test("errorCode calls anything that is no AdsyncError INTERNAL", () => {
  assert.equal(errorCode(new TypeError("x is undefined")), "INTERNAL");
  assert.equal(errorCode("a string"), "INTERNAL");
  assert.equal(errorCode(undefined), "INTERNAL");
});

Deno.test("errorFields gives a log line the error's message and its code", () => {
  const error = new AuthError("Cannot log in: refused (401)");
  assert.deepEqual(errorFields(error), {
    error: "Cannot log in: refused (401)",
    error_code: "AUTH_REFUSED",
  });
  assert.deepEqual(errorFields(new Error("boom")), { error: "boom", error_code: "INTERNAL" });
});

Deno.test("AdsyncError is the only class under src/ that extends a built-in error", async () => {
  const builtIn =
    /\bclass\s+(\w+)[^{]*?\bextends\s+(?:globalThis\.)?(?:Error|TypeError|RangeError|SyntaxError|AggregateError|DOMException)\b/g;
  const found: string[] = [];
  for await (const path of sourceFiles(new URL("../src/", import.meta.url))) {
    const text = await Deno.readTextFile(path);
    for (const match of text.matchAll(builtIn)) found.push(`${match[1]} (${path.pathname})`);
  }
  assert.deepEqual(found.map((f) => f.split(" ")[0]), ["AdsyncError"], found.join(", "));
});

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) yield* sourceFiles(new URL(`${entry.name}/`, dir));
    else if (entry.name.endsWith(".ts")) yield new URL(entry.name, dir);
  }
}
