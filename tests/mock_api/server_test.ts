import assert from "node:assert/strict";
import {
  createMockApi,
  type MockRequestLogEntry,
  type ServedMockApi,
  serveMockApi,
} from "../../mock-api/server.ts";
import { call, CALM, EMAIL, PASSWORD, withMock } from "./_helpers.ts";

function basic(email: string, password: string): string {
  return `Basic ${btoa(`${email}:${password}`)}`;
}

async function login(mock: ServedMockApi, init: { headers?: Record<string, string> } = {}) {
  const answer = await call(`${mock.url}/auth/token`, {
    method: "POST",
    headers: { Authorization: basic(EMAIL, PASSWORD), ...init.headers },
  });
  assert.equal(answer.status, 200);
  return answer.body.access_token;
}

function list(mock: ServedMockApi, token: string, query = "", init: RequestInit = {}) {
  return call(`${mock.url}/api/campaigns${query}`, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, ...init.headers },
  });
}

Deno.test("login with the right credentials returns a bearer token", async () => {
  let t = Date.UTC(2025, 0, 1);
  await withMock({ tokenTtlMs: 90_000, now: () => t }, async (mock) => {
    const answer = await call(`${mock.url}/auth/token`, {
      method: "POST",
      headers: { Authorization: basic(EMAIL, PASSWORD) },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.token_type, "Bearer");
    assert.equal(answer.body.expires_in, 90);
    assert.equal(answer.body.issued_at, "2025-01-01T00:00:00.000Z");
    assert.match(answer.body.access_token, /^\S{16,}$/);
    t += 1;
    assert.equal((await list(mock, answer.body.access_token)).status, 200);
  });
});

Deno.test("login with a wrong password or no credentials is refused with 401", async () => {
  await withMock({}, async (mock) => {
    for (const headers of [{ Authorization: basic(EMAIL, "wrong") }, {} as HeadersInit]) {
      const answer = await call(`${mock.url}/auth/token`, { method: "POST", headers });
      assert.equal(answer.status, 401);
      assert.equal(typeof answer.body.error, "string");
      assert.equal(typeof answer.body.message, "string");
    }
  });
});

Deno.test("100 campaigns arrive as 10 distinct pages and only the last says has_more false", async () => {
  await withMock({ rateLimit: { count: 100, windowMs: 1_000 } }, async (mock) => {
    const token = await login(mock);
    const ids = new Set<string>();
    for (let page = 1; page <= 10; page++) {
      const { status, body } = await list(mock, token, `?page=${page}&limit=10`);
      assert.equal(status, 200);
      assert.equal(body.data.length, 10);
      assert.deepEqual(body.pagination, { page, limit: 10, total: 100, has_more: page < 10 });
      for (const campaign of body.data) ids.add(campaign.id);
    }
    assert.equal(ids.size, 100);
    assert.ok(ids.has("campaign_1") && ids.has("campaign_100"));
    const past = await list(mock, token, "?page=11");
    assert.deepEqual(past.body.data, []);
    assert.equal((await list(mock, token, "?page=0")).status, 400);
    assert.deepEqual(mock.log.filter((e) => e.status === 200).map((e) => e.page).slice(0, 3), [
      undefined,
      1,
      2,
    ]);
  });
});

Deno.test("the request log keeps each request's User-Agent", async () => {
  await withMock(CALM, async (mock) => {
    await login(mock, { headers: { "User-Agent": "adsync/1.2.3" } });
    assert.equal(mock.log.at(-1)?.userAgent, "adsync/1.2.3");
  });
});

Deno.test("the 11th request inside a window gets 429 until exactly when the oldest leaves", async () => {
  let t = 1_000_000;
  await withMock({ rateLimit: { count: 10, windowMs: 60_000 }, now: () => t }, async (mock) => {
    const token = await login(mock);
    for (let i = 0; i < 10; i++, t += 1_000) assert.equal((await list(mock, token)).status, 200);
    t = 1_000_000 + 30_000;
    const refused = await list(mock, token);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("Retry-After"), "30");
    assert.deepEqual(refused.body, { error: "Too Many Requests", retry_after: 30 });
    t = 1_000_000 + 59_999;
    assert.equal((await list(mock, token)).status, 429);
    t = 1_000_000 + 60_000;
    assert.equal((await list(mock, token)).status, 200);
    assert.equal((await list(mock, token)).status, 429);
    assert.equal(mock.log.filter((entry) => entry.status === 429).length, 3);
  });
});

Deno.test("the wait can come as a header only or a body field only", async () => {
  for (const retryAfter of ["header", "body"] as const) {
    await withMock({ rateLimit: { count: 1, windowMs: 5_000 }, retryAfter }, async (mock) => {
      const token = await login(mock);
      await list(mock, token);
      const refused = await list(mock, token);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.has("Retry-After"), retryAfter === "header");
      assert.equal("retry_after" in refused.body, retryAfter === "body");
    });
  }
});

Deno.test("each X-Client-ID has its own window while login and health are not limited", async () => {
  await withMock({ rateLimit: { count: 1, windowMs: 60_000 } }, async (mock) => {
    const as = (client: string) => ({ headers: { "X-Client-ID": client } });
    const acme = await login(mock, as("acme"));
    const globex = await login(mock, as("globex"));
    assert.equal((await list(mock, acme, "", as("acme"))).status, 200);
    assert.equal((await list(mock, acme, "", as("acme"))).status, 429);
    assert.equal((await list(mock, globex, "", as("globex"))).status, 200);
    assert.equal((await list(mock, await login(mock))).status, 200);
    await login(mock);
    assert.equal((await call(`${mock.url}/health`)).body.status, "ok");
    assert.deepEqual(mock.log.map((e) => e.client).slice(2, 5), ["acme", "acme", "globex"]);
  });
});

Deno.test("a token used at the end of its TTL is refused with Token expired", async () => {
  let t = 5_000_000;
  await withMock({ tokenTtlMs: 2_000, now: () => t }, async (mock) => {
    const token = await login(mock);
    t += 1_999;
    assert.equal((await list(mock, token)).status, 200);
    t += 1;
    const expired = await list(mock, token);
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, { error: "Token expired" });
  });
});

Deno.test("an unknown or missing bearer token is refused with 401", async () => {
  await withMock({}, async (mock) => {
    const unknown = await list(mock, "not-a-token-we-issued");
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, { error: "Invalid token" });
    const missing = await call(`${mock.url}/api/campaigns`);
    assert.equal(missing.status, 401);
  });
});

/** The status of each of `count` list requests as the mock logged them, 0 for a hang. */
async function failureSequence(seed: number, count: number): Promise<number[]> {
  const mock = serveMockApi({
    ...CALM,
    seed,
    errorRate: 0.3,
    hangRate: 0.3,
    rateLimit: { count: 100, windowMs: 1_000 },
  });
  const token = await login(mock);
  for (let page = 1; page <= count; page++) {
    // The client gives up on hangs; the mock's log says what it did, however slow the machine.
    await list(mock, token, `?page=${page}`, { signal: AbortSignal.timeout(100) }).catch(() => {});
  }
  await mock.close();
  return mock.log
    .filter((entry) => entry.page !== undefined)
    .sort((a, b) => a.page! - b.page!)
    .map((entry) => (entry.hung ? 0 : entry.status));
}

Deno.test("the same seed repeats the same sequence of 503s and hangs", async () => {
  const first = await failureSequence(12345, 10);
  const second = await failureSequence(12345, 10);
  assert.equal(first.length, 10);
  assert.deepEqual(second, first);
  assert.ok(first.includes(503) && first.includes(0) && first.includes(200));
});

Deno.test("a hung request never answers and is logged as hung once the client gives up", async () => {
  const logged = Promise.withResolvers<MockRequestLogEntry>();
  const onRequest = (entry: MockRequestLogEntry) => entry.hung && logged.resolve(entry);
  await withMock({ hangRate: 1, onRequest }, async (mock) => {
    const token = await login(mock);
    await assert.rejects(list(mock, token, "?page=3", { signal: AbortSignal.timeout(100) }), {
      name: "TimeoutError",
    });
    const entry = await logged.promise;
    assert.equal(entry.status, 0);
    assert.equal(entry.page, 3);
  });
});

Deno.test("close releases hung requests in process and over HTTP", async () => {
  const api = createMockApi({ ...CALM, hangRate: 1 });
  const headers = { Authorization: basic(EMAIL, PASSWORD) };
  const auth = await api.handler(
    new Request("http://mock/auth/token", { method: "POST", headers }),
  );
  const { access_token: token } = await auth.json();
  const pending = api.handler(
    new Request("http://mock/api/campaigns", { headers: { Authorization: `Bearer ${token}` } }),
  );
  api.close();
  await assert.rejects(pending, { name: "AbortError" });
  assert.deepEqual(api.log.at(-1)?.hung, true);

  const mock = serveMockApi({ ...CALM, hangRate: 1 });
  const hanging = list(mock, await login(mock)).then(() => "answered", () => "dropped");
  await mock.close();
  assert.equal(await hanging, "dropped");
});

Deno.test("sync answers after its delay, and an unknown campaign is 404", async () => {
  await withMock({ syncDelayMs: 20 }, async (mock) => {
    const token = await login(mock);
    const sync = (id: string) =>
      call(`${mock.url}/api/campaigns/${id}/sync`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      });
    const done = await sync("campaign_42");
    assert.equal(done.status, 200);
    assert.equal(done.body.success, true);
    assert.equal(done.body.campaign_id, "campaign_42");
    assert.ok(!Number.isNaN(Date.parse(done.body.synced_at)));
    assert.equal((await sync("campaign_101")).status, 404);
    assert.deepEqual(mock.log.map((e) => e.campaignId).slice(1), ["campaign_42", "campaign_101"]);
  });
});

Deno.test("injected records are served raw and can be synced by their string id", async () => {
  const records = [
    { id: "a'; DROP TABLE campaigns; --", name: '\\ 🚀 "quoted"', extra: true },
    { id: 5, budget: "lots" },
    { id: "plain" },
  ];
  await withMock({ records, hasMoreLies: true, pastEndRecords: true }, async (mock) => {
    const token = await login(mock);
    const page = await list(mock, token, "?page=1&limit=2");
    assert.deepEqual(page.body.data, records.slice(0, 2));
    assert.deepEqual(page.body.pagination, { page: 1, limit: 2, total: 3, has_more: false });
    assert.deepEqual((await list(mock, token, "?page=9&limit=2")).body.data, [records[2]]);
    const id = encodeURIComponent(records[0]!.id as string);
    const sync = await call(`${mock.url}/api/campaigns/${id}/sync`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(sync.body.campaign_id, records[0]!.id);
  });
});

Deno.test("with keepLog false the mock tells onRequest of each request and keeps none", async () => {
  const told: MockRequestLogEntry[] = [];
  await withMock({ keepLog: false, onRequest: (entry) => void told.push(entry) }, async (mock) => {
    await login(mock);
    await (await fetch(`${mock.url}/health`)).body?.cancel();
    assert.deepEqual(told.map((entry) => entry.path), ["/auth/token", "/health"]);
    assert.equal(mock.log.length, 0);
  });
});
