import assert from "node:assert/strict";
import { type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { systemClock } from "../../src/clock.ts";
import { HttpError, NetworkError, TimeoutError } from "../../src/errors.ts";
import { type ApiRequest, sendAttempt } from "../../src/platform/api_attempt.ts";
import { type AccountOptions, outcomeRows } from "../../src/platform/account.ts";
import { acmeAccount, CALM_MOCK } from "../_fixtures.ts";
import { hangUntilCut, serveTiny, tokenAnswer } from "./_serve.ts";

const SETTINGS = { fetch: undefined, clock: systemClock, deadlineMs: () => 5_000 };

function listPage(baseUrl: string, signals: ApiRequest["signals"] = {}): ApiRequest {
  return {
    endpoint: "list",
    url: `${baseUrl}/api/campaigns?page=1&limit=10`,
    method: "GET",
    what: "fetch page 1",
    signals,
  };
}

async function withMock(
  options: Parameters<typeof serveMockApi>[0],
  test: (mock: ServedMockApi) => Promise<void>,
): Promise<void> {
  const mock = serveMockApi({ ...CALM_MOCK, ...options });
  try {
    await test(mock);
  } finally {
    await mock.close();
  }
}

const account = (baseUrl: string, overrides: Partial<AccountOptions> = {}) =>
  acmeAccount({ baseUrl, ...overrides });

Deno.test("An attempt logs in, sends with its token and client id, and counts one request", async () => {
  await withMock({}, async (mock) => {
    const acme = account(mock.url);
    const request = listPage(mock.url);
    const answer = await sendAttempt(acme, request, SETTINGS);
    assert.equal(answer.status, 200);
    assert.equal((answer.body as { data: unknown[] }).data.length, 10);
    assert.deepEqual(
      mock.log.map((e) => `${e.method} ${e.path} ${e.client} ${e.status}`),
      ["POST /auth/token acme 200", "GET /api/campaigns acme 200"],
    );
    assert.ok(request.token, "the request knows the token it carried");
    assert.equal(acme.stats.requests, 1, "the login is not a rate-limited request");
    assert.equal(acme.stats.inFlight, 0);
    assert.equal(acme.hostGate.inFlight, 0, "its room at the host is given back");
    assert.deepEqual(
      outcomeRows(acme.stats).filter((r) => r.endpoint === "list"),
      [{ endpoint: "list", status: "200", count: 1 }],
    );
  });
});

Deno.test("An attempt answered 503 throws the HttpError and counts the outcome", async () => {
  await withMock({ errorRate: 1 }, async (mock) => {
    const acme = account(mock.url);
    const request = listPage(mock.url);
    const error = await sendAttempt(acme, request, SETTINGS).catch((e) => e);
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 503);
    assert.match(error.message, /^Cannot fetch page 1: 503/);
    assert.ok(request.token, "the token it carried stays known, for the caller to judge");
    assert.equal(acme.stats.requests, 1);
    assert.equal(acme.stats.inFlight, 0);
    assert.deepEqual(
      outcomeRows(acme.stats).filter((r) => r.endpoint === "list"),
      [{ endpoint: "list", status: "503", count: 1 }],
    );
  });
});

Deno.test("An attempt with no answer by its deadline is a TimeoutError counted as a timeout", async () => {
  const platform = serveTiny((req) =>
    new URL(req.url).pathname === "/auth/token" ? tokenAnswer() : hangUntilCut(req)
  );
  try {
    const acme = account(platform.url);
    const error = await sendAttempt(acme, listPage(platform.url), {
      ...SETTINGS,
      deadlineMs: () => 100,
    }).catch((e) => e);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.message, "Cannot fetch page 1: no complete answer within 100 ms");
    assert.equal(acme.stats.timeouts, 1);
    assert.deepEqual(
      outcomeRows(acme.stats).filter((r) => r.endpoint === "list"),
      [{ endpoint: "list", status: "timeout", count: 1 }],
    );
    assert.equal(acme.stats.inFlight, 0);
  } finally {
    await platform.close();
  }
});

Deno.test("An attempt whose send time cannot be recorded never leaves, as a NetworkError", async () => {
  await withMock({}, async (mock) => {
    const acme = account(mock.url, {
      onSend: () => Promise.reject(new Error("disk full")),
    });
    const request = listPage(mock.url);
    const error = await sendAttempt(acme, request, SETTINGS).catch((e) => e);
    assert.ok(error instanceof NetworkError);
    assert.equal(
      error.message,
      "Cannot fetch page 1: cannot record its send time (disk full)",
    );
    assert.equal(error.url, `${mock.url}/api/campaigns?page=1&limit=10`);
    assert.deepEqual(mock.log.map((e) => e.path), ["/auth/token"], "no list request left");
    assert.equal(request.token, undefined, "no token was carried to the platform");
    assert.equal(acme.stats.requests, 0);
    assert.equal(acme.hostGate.inFlight, 0, "its room at the host is given back");
  });
});

Deno.test("An attempt stopped before its turn sends nothing", async () => {
  await withMock({}, async (mock) => {
    const acme = account(mock.url);
    const stop = new AbortController();
    stop.abort(new DOMException("Stopped by SIGINT", "AbortError"));
    const error = await sendAttempt(acme, listPage(mock.url, { signal: stop.signal }), SETTINGS)
      .catch((e) => e);
    assert.equal(error, stop.signal.reason);
    assert.deepEqual(mock.log, []);
    assert.equal(acme.stats.requests, 0);
  });
});

Deno.test("An attempt on the wire runs to its end when only the stop signal fires", async () => {
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => answer = resolve);
  const stop = new AbortController();
  const platform = serveTiny(async (req) => {
    if (new URL(req.url).pathname === "/auth/token") return tokenAnswer();
    stop.abort(new DOMException("Stopped by SIGTERM", "AbortError")); // while it is on the wire
    await answered;
    return Response.json({ data: [], pagination: { page: 1, limit: 10, total: 0 } });
  });
  try {
    const acme = account(platform.url);
    const attempt = sendAttempt(acme, listPage(platform.url, { signal: stop.signal }), SETTINGS);
    while (!stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
    answer();
    assert.equal((await attempt).status, 200);
  } finally {
    await platform.close();
  }
});

Deno.test("The wire signal cuts an attempt on the wire with its reason", async () => {
  const wire = new AbortController();
  const platform = serveTiny((req) => {
    if (new URL(req.url).pathname === "/auth/token") return tokenAnswer();
    wire.abort(new DOMException("Grace period over", "AbortError"));
    return hangUntilCut(req);
  });
  try {
    const acme = account(platform.url);
    const error = await sendAttempt(
      acme,
      listPage(platform.url, { wireSignal: wire.signal }),
      SETTINGS,
    ).catch((e) => e);
    assert.equal(error, wire.signal.reason);
    assert.equal(acme.stats.inFlight, 0);
    assert.equal(acme.hostGate.inFlight, 0);
  } finally {
    await platform.close();
  }
});
