import assert from "node:assert/strict";
import { advertisedHeaders } from "../../mock-api/advertise.ts";
import type { ServedMockApi } from "../../mock-api/server.ts";
import { call, EMAIL, PASSWORD, withMock } from "./_helpers.ts";

async function login(mock: ServedMockApi, client: string): Promise<string> {
  const answer = await call(`${mock.url}/auth/token`, {
    method: "POST",
    headers: { Authorization: `Basic ${btoa(`${EMAIL}:${PASSWORD}`)}`, "X-Client-ID": client },
  });
  return answer.body.access_token;
}

/** Lists page 1 `n` times as `client` and returns every answer. */
async function listTimes(mock: ServedMockApi, client: string, n: number) {
  const token = await login(mock, client);
  const answers = [];
  for (let i = 0; i < n; i++) {
    answers.push(
      await call(`${mock.url}/api/campaigns?page=1&limit=10`, {
        headers: { Authorization: `Bearer ${token}`, "X-Client-ID": client },
      }),
    );
  }
  return answers;
}

const window = { limit: { count: 5, windowMs: 60_000 }, remaining: 4, resetMs: 59_500 };

Deno.test("advertisedHeaders writes the IETF draft's fields and GitHub's, seconds rounded up", () => {
  assert.deepEqual(advertisedHeaders("ietf", window, 0), {
    "RateLimit-Policy": '"default";q=5;w=60',
    "RateLimit": '"default";r=4;t=60',
  });
  assert.deepEqual(advertisedHeaders("x-ratelimit", window, 1_700_000_000_000), {
    "X-RateLimit-Limit": "5",
    "X-RateLimit-Remaining": "4",
    "X-RateLimit-Reset": "1700000060",
  });
  assert.deepEqual(advertisedHeaders("none", window, 0), {});
});

Deno.test("the mock advertises nothing by default, as before", async () => {
  await withMock({}, async (mock) => {
    const [answer] = await listTimes(mock, "acme", 1);
    for (const name of ["ratelimit-policy", "ratelimit", "x-ratelimit-limit"]) {
      assert.equal(answer!.headers.get(name), null, name);
    }
  });
});

Deno.test("the mock with --advertise ietf counts down each client's own limit to its 429", async () => {
  await withMock({
    advertise: "ietf",
    rateLimit: { count: 10, windowMs: 60_000 },
    clientRateLimits: { acme: { count: 3, windowMs: 30_000 } },
  }, async (mock) => {
    const answers = await listTimes(mock, "acme", 4);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429]);
    assert.deepEqual(
      answers.map((a) => a.headers.get("ratelimit-policy")),
      Array(4).fill('"default";q=3;w=30'),
    );
    assert.deepEqual(
      answers.map((a) => a.headers.get("ratelimit")?.replace(/t=\d+/, "t")),
      ['"default";r=2;t', '"default";r=1;t', '"default";r=0;t', '"default";r=0;t'],
    );
    assert.equal(answers[3]!.headers.get("ratelimit"), '"default";r=0;t=30');
    assert.equal(answers[3]!.headers.get("retry-after"), "30");
    const [other] = await listTimes(mock, "globex", 1);
    assert.equal(other!.headers.get("ratelimit-policy"), '"default";q=10;w=60');
  });
});

Deno.test("the mock with --advertise x-ratelimit gives the reset in epoch seconds", async () => {
  await withMock(
    { advertise: "x-ratelimit", rateLimit: { count: 5, windowMs: 60_000 } },
    async (mock) => {
      const before = Date.now();
      const [answer] = await listTimes(mock, "acme", 1);
      assert.equal(answer!.headers.get("x-ratelimit-limit"), "5");
      assert.equal(answer!.headers.get("x-ratelimit-remaining"), "4");
      const reset = Number(answer!.headers.get("x-ratelimit-reset")) * 1_000;
      assert.ok(reset >= before + 60_000 && reset <= Date.now() + 61_000, `reset ${reset}`);
    },
  );
});

Deno.test("the mock advertises nothing on a refused token", async () => {
  await withMock({ advertise: "ietf" }, async (mock) => {
    const answer = await call(`${mock.url}/api/campaigns?page=1&limit=10`, {
      headers: { Authorization: "Bearer nope" },
    });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers.get("ratelimit"), null);
  });
});

Deno.test("the mock with --advertised-limit claims that limit while it enforces its own", async () => {
  await withMock({
    advertise: "ietf",
    rateLimit: { count: 3, windowMs: 60_000 },
    advertisedLimit: { count: 100, windowMs: 6_000 },
  }, async (mock) => {
    const answers = await listTimes(mock, "acme", 4);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429]);
    assert.deepEqual(
      answers.map((a) => a.headers.get("ratelimit-policy")),
      Array(4).fill('"default";q=100;w=6'),
    );
    assert.deepEqual(
      answers.map((a) => a.headers.get("ratelimit")?.replace(/t=\d+/, "t")),
      ['"default";r=99;t', '"default";r=98;t', '"default";r=97;t', '"default";r=97;t'],
      "remaining matches the claim, not the enforced window",
    );
  });
});
