import assert from "node:assert/strict";
import { AuthError, HttpError } from "../../src/errors.ts";
import {
  basicAuth,
  createTokenManager,
  type TokenManagerOptions,
} from "../../src/platform/token_manager.ts";
import { createMockApi } from "../../mock-api/server.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { handlerFetch, MOCK_CREDENTIALS } from "../_fixtures.ts";
import { endlessBody, serveTiny, tokenAnswer } from "./_serve.ts";

function setup(tokenTtlMs = 60_000) {
  const api = createMockApi({ tokenTtlMs, seed: 1 });
  const clock = createFakeClock();
  const issued: string[] = [];
  const tokens = createTokenManager("http://mock.test", MOCK_CREDENTIALS, {
    fetch: handlerFetch(api.handler),
    clock,
    onToken: (token) => issued.push(token),
  });
  const logins = () => api.log.filter((entry) => entry.path === "/auth/token").length;
  return { api, clock, tokens, issued, logins };
}

Deno.test("TokenManager logs in once for many concurrent callers", async () => {
  const { api, tokens, issued, logins } = setup();
  const got = await Promise.all([tokens.get(), tokens.get(), tokens.get()]);
  assert.equal(logins(), 1);
  assert.deepEqual(got, [issued[0], issued[0], issued[0]]);
  assert.equal(tokens.refreshes, 0);
  api.close();
});

Deno.test("TokenManager refreshes before the token's life runs out, less a tenth as margin", async () => {
  const { api, clock, tokens, logins } = setup(60_000);
  const first = await tokens.get();
  await clock.tick(53_999);
  assert.equal(await tokens.get(), first);
  assert.ok(tokens.isFresh(first));
  await clock.tick(1);
  assert.ok(!tokens.isFresh(first));
  const second = await tokens.get();
  assert.notEqual(second, first);
  assert.equal(logins(), 2);
  assert.equal(tokens.refreshes, 1);
  api.close();
});

Deno.test("TokenManager logs in again after the platform refuses its token", async () => {
  const { api, tokens, logins } = setup();
  const first = await tokens.get();
  tokens.invalidate(first);
  tokens.invalidate(first); // a second 401 for the same token asks for no second login
  const second = await tokens.get();
  assert.notEqual(second, first);
  assert.equal(logins(), 2);
  api.close();
});

Deno.test("TokenManager throws AuthError naming the status when credentials are refused", async () => {
  const api = createMockApi({ seed: 1 });
  const tokens = createTokenManager("http://mock.test", { ...MOCK_CREDENTIALS, password: "nope" }, {
    fetch: handlerFetch(api.handler),
  });
  await assert.rejects(tokens.get(), (error: unknown) => {
    assert.ok(error instanceof AuthError);
    assert.equal(
      error.message,
      "Cannot log in to http://mock.test for account default: the platform refused the credentials (401)",
    );
    return true;
  });
  api.close();
});

Deno.test("A refused login names the settings that hold the credentials", async () => {
  const api = createMockApi({ seed: 1 });
  const credentials = {
    ...MOCK_CREDENTIALS,
    password: "nope",
    from: "AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD",
  };
  const tokens = createTokenManager("http://mock.test", credentials, {
    fetch: handlerFetch(api.handler),
  });
  await assert.rejects(tokens.get(), (error: unknown) => {
    assert.ok(error instanceof AuthError);
    assert.equal(
      error.message,
      "Cannot log in to http://mock.test for account default: the platform refused the " +
        "credentials (401); check AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD",
    );
    return true;
  });
  api.close();
});

Deno.test("basicAuth encodes non-ASCII credentials as UTF-8", () => {
  assert.equal(basicAuth({ email: "a@b.c", password: "pässword" }), "Basic YUBiLmM6cMOkc3N3b3Jk");
});

/** A token manager for client "acme" logging in at a tiny server over HTTP. */
function tinyTokens(url: string, options: TokenManagerOptions = {}) {
  return createTokenManager(url, MOCK_CREDENTIALS, {
    clientId: "acme",
    backoffBaseMs: 1,
    backoffCapMs: 2,
    ...options,
  });
}

Deno.test("TokenManager retries a login answered 502, and sends its client id", async () => {
  let failures = 1;
  const server = serveTiny(() =>
    failures-- > 0 ? new Response("bad gateway", { status: 502 }) : tokenAnswer("second-try")
  );
  try {
    const retried: string[] = [];
    const tokens = tinyTokens(server.url, { onRetry: (error) => void retried.push(error.message) });
    assert.equal(await tokens.get(), "second-try");
    assert.deepEqual(retried, [`Cannot log in to ${server.url} for account acme: 502 Bad Gateway`]);
    assert.deepEqual(server.received.map((r) => r.line), Array(2).fill("POST /auth/token"));
    assert.deepEqual(server.received.map((r) => r.headers.get("x-client-id")), ["acme", "acme"]);
  } finally {
    await server.close();
  }
});

Deno.test("TokenManager retries a login whose body does not arrive in time", async () => {
  let slow = 1;
  const server = serveTiny(() => slow-- > 0 ? endlessBody() : tokenAnswer("in-time"));
  try {
    const outcomes: string[] = [];
    const tokens = tinyTokens(server.url, {
      timeoutMs: 100,
      onOutcome: (o) => void outcomes.push(o),
    });
    assert.equal(await tokens.get(), "in-time");
    assert.deepEqual(outcomes, ["timeout", "200"]);
  } finally {
    await server.close();
  }
});

Deno.test("TokenManager takes a refusal of the credentials as final, after one request", async () => {
  const server = serveTiny(() => Response.json({ error: "Invalid credentials" }, { status: 403 }));
  try {
    const error = await tinyTokens(server.url).get().catch((e) => e);
    assert.ok(error instanceof AuthError);
    assert.equal(
      error.message,
      `Cannot log in to ${server.url} for account acme: the platform refused the credentials (403)`,
    );
    assert.equal(server.received.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("TokenManager never takes a token from where a redirect points", async () => {
  const other = serveTiny(() => tokenAnswer("foreign"));
  const server = serveTiny(() => Response.redirect(`${other.url}/auth/token`, 307));
  try {
    const error = await tinyTokens(server.url).get().catch((e) => e);
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.status, 307);
    assert.match(error.message, /redirects to http:\/\/127\.0\.0\.1:\d+\/auth\/token; redirects/);
    assert.deepEqual(other.received, []);
    assert.equal(server.received.length, 1);
  } finally {
    await server.close();
    await other.close();
  }
});

Deno.test("TokenManager gives up on a login after its attempts", async () => {
  const server = serveTiny(() => new Response(null, { status: 503 }));
  try {
    const error = await tinyTokens(server.url, { maxAttempts: 3 }).get().catch((e) => e);
    assert.ok(error instanceof HttpError);
    assert.equal(
      error.message,
      `Cannot log in to ${server.url} for account acme: 503 Service Unavailable`,
    );
    assert.equal(server.received.length, 3);
  } finally {
    await server.close();
  }
});
