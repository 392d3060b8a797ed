import assert from "node:assert/strict";
import { AuthError } from "../../src/errors.ts";
import { basicAuth, createTokenManager } from "../../src/platform/token_manager.ts";
import { createMockApi } from "../../mock-api/server.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { handlerFetch, MOCK_CREDENTIALS } from "../_fixtures.ts";

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
      "Cannot log in at http://mock.test/auth/token: the platform refused the credentials (401)",
    );
    return true;
  });
  api.close();
});

Deno.test("basicAuth encodes non-ASCII credentials as UTF-8", () => {
  assert.equal(basicAuth({ email: "a@b.c", password: "pässword" }), "Basic YUBiLmM6cMOkc3N3b3Jk");
});
