import assert from "node:assert/strict";
import { generateCampaigns } from "../../mock-api/campaigns.ts";
import { createClientAccounts } from "../../mock-api/clients.ts";
import type { ServedMockApi } from "../../mock-api/server.ts";
import { call, EMAIL, PASSWORD, withMock } from "./_helpers.ts";

/** Headers naming the client, or none for the `default` client. */
function clientHeader(client?: string): Record<string, string> {
  return client === undefined ? {} : { "X-Client-ID": client };
}

function login(mock: ServedMockApi, email: string, password: string, client?: string) {
  return call(`${mock.url}/auth/token`, {
    method: "POST",
    headers: { Authorization: `Basic ${btoa(`${email}:${password}`)}`, ...clientHeader(client) },
  });
}

async function tokenFor(mock: ServedMockApi, client?: string): Promise<string> {
  const answer = await login(mock, EMAIL, PASSWORD, client);
  assert.equal(answer.status, 200);
  return answer.body.access_token;
}

function list(mock: ServedMockApi, token: string, client?: string, query = "?limit=100") {
  return call(`${mock.url}/api/campaigns${query}`, {
    headers: { Authorization: `Bearer ${token}`, ...clientHeader(client) },
  });
}

Deno.test("a request with a bad token is refused without spending the client's quota", async () => {
  await withMock({ rateLimit: { count: 2, windowMs: 60_000 } }, async (mock) => {
    for (let n = 0; n < 3; n++) {
      const refused = await list(mock, "mock_forged", "acme");
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, "Invalid token");
    }
    const token = await tokenFor(mock, "acme");
    assert.equal((await list(mock, token, "acme")).status, 200);
    assert.equal((await list(mock, token, "acme")).status, 200);
    assert.equal((await list(mock, token, "acme")).status, 429);
  });
});

Deno.test("a sync with a bad token is refused without spending the client's quota", async () => {
  await withMock({ rateLimit: { count: 1, windowMs: 60_000 } }, async (mock) => {
    const sync = (token: string) =>
      call(`${mock.url}/api/campaigns/campaign_1/sync`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      });
    assert.equal((await sync("mock_forged")).status, 401);
    const token = await tokenFor(mock);
    assert.equal((await sync(token)).status, 200);
  });
});

Deno.test("the default client keeps exactly the seed's campaigns", async () => {
  await withMock({ campaigns: 30 }, async (mock) => {
    const answer = await list(mock, await tokenFor(mock));
    assert.deepEqual(answer.body.data, generateCampaigns(30, 7));
    assert.ok(answer.body.data.every((c: { name: string }) => !c.name.includes("[")));
  });
});

Deno.test("each client gets campaigns of its own, named after it, the same on every call", async () => {
  await withMock({ campaigns: 30 }, async (mock) => {
    const pages: Record<string, { id: string; name: string; budget: number }[]> = {};
    for (const client of ["acme", "globex", "acme"]) {
      const answer = await list(mock, await tokenFor(mock, client), client);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.pagination.total, 30);
      if (pages[client]) assert.deepEqual(answer.body.data, pages[client]);
      pages[client] = answer.body.data;
    }
    for (const client of ["acme", "globex"]) {
      const campaigns = pages[client]!;
      assert.deepEqual(campaigns.map((c) => c.id), generateCampaigns(30, 7).map((c) => c.id));
      for (const campaign of campaigns) {
        assert.match(campaign.name, new RegExp(` \\[${client}\\]$`));
      }
    }
    const budgets = (client: string) => pages[client]!.map((c) => c.budget);
    assert.notDeepEqual(budgets("acme"), budgets("globex"));
  });
});

Deno.test("a token used with another client id than it was issued to is refused", async () => {
  await withMock({}, async (mock) => {
    const acme = await tokenFor(mock, "acme");
    const refused = await list(mock, acme, "globex");
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, "Invalid token");
    assert.equal(refused.body.message, "The token was issued to another client");
    assert.equal((await list(mock, acme)).status, 401, "nor with the default client");
    assert.equal((await list(mock, acme, "acme")).status, 200);
  });
});

Deno.test("a client with credentials of its own refuses the shared ones and its own elsewhere", async () => {
  const clients = { globex: { email: "x@globex.example", password: "globex:secret" } };
  await withMock({ clients }, async (mock) => {
    assert.equal((await login(mock, EMAIL, PASSWORD, "globex")).status, 401);
    const own = await login(mock, "x@globex.example", "globex:secret", "globex");
    assert.equal(own.status, 200);
    assert.equal((await list(mock, own.body.access_token, "globex")).status, 200);
    assert.equal((await login(mock, "x@globex.example", "globex:secret", "acme")).status, 401);
    assert.equal((await login(mock, EMAIL, PASSWORD, "acme")).status, 200);
  });
});

Deno.test("each client is limited by its own window", async () => {
  await withMock({ rateLimit: { count: 1, windowMs: 60_000 } }, async (mock) => {
    const clients = Array.from({ length: 20 }, (_, n) => `client_${n}`);
    for (const client of clients) {
      assert.equal((await list(mock, await tokenFor(mock, client), client)).status, 200);
    }
    const again = await list(mock, await tokenFor(mock, "client_0"), "client_0");
    assert.equal(again.status, 429);
  });
});

Deno.test("createClientAccounts serves injected records to every client unchanged", () => {
  const records = [{ id: "x" }, { id: 7 }];
  const accounts = createClientAccounts({
    campaigns: 5,
    seed: 1,
    records,
    email: "e",
    password: "p",
  });
  for (const client of ["default", "acme"]) {
    assert.equal(accounts.data(client).records, records);
    assert.deepEqual([...accounts.data(client).ids], ["x"]);
  }
});
