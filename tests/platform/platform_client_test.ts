import assert from "node:assert/strict";
import {
  AuthError,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  TimeoutError,
} from "../../src/errors.ts";
import {
  createPlatformClient,
  listDeadlineMs,
  type PlatformClientOptions,
} from "../../src/platform/platform_client.ts";
import { LIST_DEADLINE_HORIZON_MS, MIN_LIST_DEADLINE_MS } from "../../src/platform/tuning.ts";
import { createHostGate } from "../../src/platform/host_gate.ts";
import { createMockApi, type MockApiOptions } from "../../mock-api/server.ts";
import { createFakeClock, settle } from "../_fake_clock.ts";
import { acmeAccount, CALM_MOCK, handlerFetch } from "../_fixtures.ts";
import { endlessBody, hangUntilCut, serveTiny, tokenAnswer } from "./_serve.ts";
import { createArrivalDelay } from "../../src/platform/lateness.ts";

const quiet = CALM_MOCK;

/** A client of account "acme" talking to an in-process mock. */
function setup(
  mock: Partial<MockApiOptions> = {},
  client: PlatformClientOptions = {},
  wrap: (f: typeof fetch) => typeof fetch = (f) => f,
) {
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 }, ...mock });
  const fetch = wrap(handlerFetch(api.handler));
  const account = acmeAccount({
    fetch,
  });
  const platform = createPlatformClient(account, {
    fetch,
    backoffBaseMs: 1,
    backoffCapMs: 2,
    ...client,
  });
  return { api, account, platform };
}

Deno.test("PlatformClient lists a page with its token and client id", async () => {
  const { api, platform } = setup();
  const page = await platform.listCampaigns(2, 10);
  assert.equal(page.pagination.page, 2);
  assert.equal(page.data.length, 10);
  const listed = api.log.filter((entry) => entry.path.startsWith("/api/campaigns"));
  assert.deepEqual(listed.map((entry) => [entry.client, entry.status]), [["acme", 200]]);
  api.close();
});

Deno.test("PlatformClient asks under its base URL's path: a platform behind a gateway's prefix", async () => {
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const asked: string[] = [];
  const mock = handlerFetch(api.handler);
  // The gateway: what it serves under /ads/v1 is the platform's root.
  const gateway: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    asked.push(url.pathname);
    if (!url.pathname.startsWith("/ads/v1/")) {
      return Promise.resolve(new Response(null, { status: 404 }));
    }
    url.pathname = url.pathname.slice("/ads/v1".length);
    return mock(url, init);
  };
  const account = acmeAccount({ baseUrl: "http://gw.test/ads/v1/", fetch: gateway });
  const platform = createPlatformClient(account, { fetch: gateway });
  const page = await platform.listCampaigns(1, 5);
  const { id } = page.data[0] as { id: string };
  await platform.syncCampaign(id);
  assert.deepEqual(asked, [
    "/ads/v1/auth/token",
    "/ads/v1/api/campaigns",
    `/ads/v1/api/campaigns/${id}/sync`,
  ]);
  api.close();
});

Deno.test("PlatformClient retries 503s and counts every attempt against the limit", async () => {
  let refusals = 2;
  const { api, account, platform } = setup({}, {}, (fetch) => (input, init) => {
    if (String(input).includes("/api/") && refusals-- > 0) {
      return Promise.resolve(new Response("{}", { status: 503 }));
    }
    return fetch(input, init);
  });
  const page = await platform.listCampaigns(1, 10);
  assert.equal(page.data.length, 10);
  assert.equal(account.stats.requests, 3);
  assert.equal(account.stats.retries, 2);
  api.close();
});

Deno.test("PlatformClient gives up after its attempts and says why", async () => {
  const { api, account, platform } = setup({ errorRate: 1 }, { listMaxAttempts: 3 });
  const error = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 503);
  assert.equal(error.message, "Cannot fetch page 1: 503 Service Unavailable");
  assert.equal(account.stats.requests, 3);
  api.close();
});

Deno.test("PlatformClient times out a request that never answers, then retries it", async () => {
  const { api, account, platform } = setup({ hangRate: 1 }, {
    listTimeoutMs: 30,
    listMaxAttempts: 2,
  });
  const error = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.message, "Cannot fetch page 1: no complete answer within 30 ms");
  assert.equal(account.stats.timeouts, 2);
  assert.equal(account.stats.retries, 1);
  api.close();
});

Deno.test("PlatformClient gives a list request twice the attempts of a sync by default", async () => {
  const { api, account, platform } = setup(
    {},
    { maxAttempts: 3 },
    (fetch) => (input, init) =>
      String(input).includes("/api/")
        ? Promise.resolve(new Response("{}", { status: 503 }))
        : fetch(input, init),
  );
  const list = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(list instanceof HttpError);
  assert.equal(list.message, "Cannot fetch page 1: 503 Service Unavailable");
  assert.equal(account.stats.outcomes.get("list 503"), 6);
  const sync = await platform.syncCampaign("campaign_001").catch((e) => e);
  assert.ok(sync instanceof HttpError);
  assert.equal(sync.message, "Cannot sync campaign_001: 503 Service Unavailable");
  assert.equal(account.stats.outcomes.get("sync 503"), 3);
  api.close();
});

Deno.test("PlatformClient backs a list request off from a quarter of the backoff, a sync from all of it", async () => {
  const waits: number[] = [];
  const clock = {
    now: () => Date.now(),
    sleep: (ms: number) => (waits.push(ms), Promise.resolve()),
  };
  const { api, platform } = setup(
    {},
    { clock, backoffBaseMs: 400, backoffCapMs: 10_000, maxAttempts: 3, random: () => 0.999 },
    (fetch) => (input, init) =>
      String(input).includes("/api/")
        ? Promise.resolve(new Response("{}", { status: 503 }))
        : fetch(input, init),
  );
  await platform.listCampaigns(1, 10).catch(() => {});
  assert.deepEqual(waits.slice(0, 2), [99, 199], "ceilings 100 and 200 ms");
  waits.length = 0;
  await platform.syncCampaign("campaign_1").catch(() => {});
  assert.deepEqual(waits, [399, 799], "ceilings 400 and 800 ms");
  api.close();
});

Deno.test("PlatformClient cuts a hung list request at the list deadline, a sync at its own", async () => {
  const server = serveTiny((req) => {
    if (new URL(req.url).pathname === "/auth/token") return tokenAnswer();
    return hangUntilCut(req);
  });
  try {
    const options = { timeoutMs: 300, listTimeoutMs: 50, maxAttempts: 1, listMaxAttempts: 1 };
    const { platform } = overHttp(server.url, options);
    const list = await platform.listCampaigns(1, 10).catch((e) => e);
    assert.ok(list instanceof TimeoutError, String(list));
    assert.equal(list.message, "Cannot fetch page 1: no complete answer within 50 ms");
    const sync = await platform.syncCampaign("c1").catch((e) => e);
    assert.ok(sync instanceof TimeoutError, String(sync));
    assert.equal(sync.message, "Cannot sync c1: no complete answer within 300 ms");
  } finally {
    await server.close();
  }
});

Deno.test("PlatformClient cuts a hung list request after a few of the host's recent page round trips, then asks again", async () => {
  let lists = 0;
  const hung = new Set([2, 4]); // the second and fourth list requests never answer
  const server = serveTiny((req) => {
    if (new URL(req.url).pathname === "/auth/token") return tokenAnswer();
    if (!hung.has(++lists)) {
      return Response.json({ data: [], pagination: { page: 1, limit: 10, total: 0 } });
    }
    return hangUntilCut(req);
  });
  try {
    // A page was just answered, in far less than 250 ms / 4: the hung page is cut at the
    // shortest list deadline, not at the 5 s configured.
    const once = overHttp(server.url, { listTimeoutMs: 5_000, listMaxAttempts: 1 });
    await once.platform.listCampaigns(1, 10);
    const cut = await once.platform.listCampaigns(1, 10).catch((e) => e);
    assert.ok(cut instanceof TimeoutError, String(cut));
    assert.equal(
      cut.message,
      `Cannot fetch page 1: no complete answer within ${MIN_LIST_DEADLINE_MS} ms`,
    );
    const { account, platform } = overHttp(server.url, { listTimeoutMs: 5_000 });
    await platform.listCampaigns(1, 10);
    const page = await platform.listCampaigns(1, 10); // the fourth hangs, is cut, and asked again
    assert.equal(page.pagination.total, 0);
    assert.equal(account.stats.timeouts, 1);
    assert.equal(account.stats.requests, 3);
  } finally {
    await server.close();
  }
});

Deno.test("PlatformClient lets a page slower than the host's others through as its deadline doubles", async () => {
  let lists = 0;
  const server = serveTiny(async (req) => {
    if (new URL(req.url).pathname === "/auth/token") return tokenAnswer();
    // The first page comes back at once; the next takes 1.2 s each time it is asked (a cache
    // miss), far longer than 4 x the first one's round trip.
    if (++lists > 1) await new Promise((resolve) => setTimeout(resolve, 1_200));
    return Response.json({ data: [], pagination: { page: 1, limit: 10, total: 0 } });
  });
  try {
    const options = { listTimeoutMs: 5_000, listMaxAttempts: 5 };
    const { account, platform } = overHttp(server.url, options);
    await platform.listCampaigns(1, 10);
    // Cut at 250, 250, 500 and 1,000 ms (or a little later if the first page was slow to come
    // back), then let through: without the doubling, five cuts at 250 ms and a failed page.
    const page = await platform.listCampaigns(2, 10);
    assert.equal(page.pagination.total, 0);
    assert.ok(
      account.stats.timeouts >= 1 && account.stats.timeouts <= 4,
      `${account.stats.timeouts}`,
    );
    assert.equal(account.stats.requests, 2 + account.stats.timeouts);
  } finally {
    await server.close();
  }
});

Deno.test("PlatformClient gives a list request its configured deadline while no page was answered lately, whatever a login took", async () => {
  const server = serveTiny((req) => {
    if (new URL(req.url).pathname === "/auth/token") return tokenAnswer();
    return hangUntilCut(req);
  });
  try {
    const { platform } = overHttp(server.url, { listTimeoutMs: 400, listMaxAttempts: 1 });
    const cut = await platform.listCampaigns(1, 10).catch((e) => e);
    assert.ok(cut instanceof TimeoutError, String(cut));
    assert.equal(cut.message, "Cannot fetch page 1: no complete answer within 400 ms");
  } finally {
    await server.close();
  }
});

Deno.test("PlatformClient sends list requests ahead of queued syncs at the host gate, syncs behind", async () => {
  const priorities: string[] = [];
  const gate = createHostGate();
  const spy = {
    ...gate,
    enter: (signal?: AbortSignal, priority?: "ahead" | "behind") => {
      priorities.push(priority ?? "behind");
      return gate.enter(signal, priority);
    },
  };
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const fetch = handlerFetch(api.handler);
  const account = acmeAccount({
    fetch,
    hostGate: spy,
  });
  const platform = createPlatformClient(account, { fetch });
  const page = await platform.listCampaigns(1, 10);
  await platform.syncCampaign((page.data[0] as { id: string }).id);
  assert.deepEqual(priorities, ["ahead", "ahead", "behind"], "login, list, sync");
  api.close();
});

Deno.test("PlatformClient does not retry a 404", async () => {
  const { api, account, platform } = setup();
  const error = await platform.syncCampaign("campaign_999").catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 404);
  assert.equal(account.stats.requests, 1);
  api.close();
});

Deno.test("PlatformClient refreshes an expired token once for all requests and replays them", async () => {
  let mockNow = 1_000_000;
  // Hold the first three syncs until all three are on the wire with the same (dead) token.
  const held: Array<() => void> = [];
  const { api, account, platform } = setup(
    { tokenTtlMs: 60_000, now: () => mockNow },
    {},
    (fetch) => async (input, init) => {
      if (String(input).endsWith("/sync") && held.length < 3) {
        await new Promise<void>((release) => {
          held.push(release);
          if (held.length === 3) held.forEach((go) => go());
        });
      }
      return fetch(input, init);
    },
  );
  await platform.listCampaigns(1, 10);
  mockNow += 61_000; // the platform's clock says the token died; ours does not know yet
  const results = await Promise.all([1, 2, 3].map((id) => platform.syncCampaign(`campaign_${id}`)));
  assert.equal(results.length, 3);
  assert.equal(api.log.filter((entry) => entry.status === 401).length, 3);
  assert.equal(api.log.filter((entry) => entry.path === "/auth/token").length, 2);
  assert.equal(account.tokens.refreshes, 1);
  api.close();
});

Deno.test("PlatformClient fails with AuthError when the credentials are wrong", async () => {
  const { api, platform } = setup({ password: "something else" });
  const error = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(error instanceof AuthError);
  assert.match(
    error.message,
    /^Cannot log in to http:\/\/mock\.test for account [\w-]+: .*\(401\)$/,
  );
  assert.doesNotMatch(error.message, /SuperSecret/);
  api.close();
});

for (const mode of ["header", "body"] as const) {
  Deno.test(`PlatformClient honours a 429 wait sent only in the ${mode}`, async () => {
    const { api, account, platform } = setup({
      rateLimit: { count: 1, windowMs: 200 },
      retryAfter: mode,
    });
    await platform.listCampaigns(1, 10);
    await platform.listCampaigns(2, 10);
    assert.equal(account.stats.rateLimited, 1);
    const statuses = api.log.filter((e) => e.path.startsWith("/api/")).map((e) => e.status);
    assert.deepEqual(statuses, [200, 429, 200]);
    api.close();
  });
}

/** A client of account "acme" on a tiny server over HTTP. */
function overHttp(url: string, client: PlatformClientOptions = {}) {
  const account = acmeAccount({ baseUrl: url });
  const platform = createPlatformClient(account, { backoffBaseMs: 1, backoffCapMs: 2, ...client });
  return { account, platform };
}

Deno.test("PlatformClient counts a body that never ends as a timeout, not a bad answer", async () => {
  const server = serveTiny((req) =>
    new URL(req.url).pathname === "/auth/token" ? tokenAnswer() : endlessBody()
  );
  try {
    const { account, platform } = overHttp(server.url, {
      listTimeoutMs: 100,
      listMaxAttempts: 2,
    });
    const error = await platform.listCampaigns(1, 10).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.message, "Cannot fetch page 1: no complete answer within 100 ms");
    assert.equal(account.stats.timeouts, 2);
    assert.equal(account.stats.retries, 1);
    assert.equal(account.stats.outcomes.get("list timeout"), 2);
  } finally {
    await server.close();
  }
});

Deno.test("PlatformClient does not follow a redirect to another host, nor retry it", async () => {
  const other = serveTiny(() => Response.json({ data: [], pagination: {} }));
  const server = serveTiny((req) =>
    new URL(req.url).pathname === "/auth/token"
      ? tokenAnswer()
      : Response.redirect(`${other.url}/api/campaigns?page=1&limit=10`, 301)
  );
  try {
    const { account, platform } = overHttp(server.url);
    const error = await platform.listCampaigns(1, 10).catch((e) => e);
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.status, 301);
    assert.match(
      error.message,
      new RegExp(`^Cannot fetch page 1: 301 .* redirects to ${other.url}/`),
    );
    assert.deepEqual(other.received, []);
    assert.equal(account.stats.requests, 1);
  } finally {
    await server.close();
    await other.close();
  }
});

Deno.test("PlatformClient fails a sync answered 200 with success false once, without retrying", async () => {
  const { api, account, platform } = setup({}, {}, (fetch) => (input, init) => {
    if (String(input).endsWith("/sync")) {
      return Promise.resolve(Response.json({ success: false, campaign_id: "campaign_1" }));
    }
    return fetch(input, init);
  });
  const error = await platform.syncCampaign("campaign_1").catch((e) => e);
  assert.ok(error instanceof InvalidAnswerError, String(error));
  assert.match(error.message, /^Cannot sync campaign_1: unexpected answer \(success: /);
  assert.equal(error.status, 200);
  assert.equal(account.stats.requests, 1);
  assert.equal(account.stats.retries, 0);
  api.close();
});

Deno.test("PlatformClient returns an answer on the wire when a stop is requested", async () => {
  let release!: () => void;
  const onWire = Promise.withResolvers<void>();
  const { api, account, platform } = setup({}, {}, (fetch) => async (input, init) => {
    if (String(input).endsWith("/sync")) {
      onWire.resolve();
      await new Promise<void>((go) => (release = go));
    }
    return fetch(input, init);
  });
  const stop = new AbortController();
  const wire = new AbortController();
  const syncing = platform.syncCampaign("campaign_1", {
    signal: stop.signal,
    wireSignal: wire.signal,
  });
  await onWire.promise;
  stop.abort(new Error("stop starting work"));
  release();
  assert.match(await syncing, /^\d{4}-\d\d-\d\dT/);
  assert.equal(account.stats.requests, 1);
  // Nothing new starts after the stop.
  const next = await platform.syncCampaign("campaign_2", { signal: stop.signal }).catch((e) => e);
  assert.equal(next.message, "stop starting work");
  assert.equal(account.stats.requests, 1);
  api.close();
});

Deno.test("PlatformClient stops retrying when a stop is requested during a backoff", async () => {
  const stop = new AbortController();
  const clock = createFakeClock();
  const { api, account, platform } = setup({ errorRate: 1 }, {
    clock,
    backoffBaseMs: 60_000,
    backoffCapMs: 60_000,
    random: () => 0.5,
  });
  const listing = platform.listCampaigns(1, 10, { signal: stop.signal }).catch((e) => e);
  while (clock.pending === 0) await settle();
  assert.equal(account.stats.retries, 1);
  stop.abort(new Error("stop starting work"));
  assert.equal((await listing).message, "stop starting work");
  assert.equal(account.stats.requests, 1);
  api.close();
});

Deno.test("PlatformClient stamps a request when it leaves the host gate, not when admitted", async () => {
  const clock = createFakeClock(0);
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const fetch = handlerFetch(api.handler);
  const hostGate = createHostGate({ maxInFlight: 1 });
  const sends: number[] = [];
  const account = acmeAccount({
    rateLimit: { count: 1, windowMs: 1_000 },
    fetch,
    clock,
    hostGate,
    onSend: (at) => void sends.push(at),
  });
  const platform = createPlatformClient(account, { fetch, clock });
  await account.tokens.get();
  const leave = await hostGate.enter(); // another account holds the only place at the host
  const listing = platform.listCampaigns(1, 10);
  await clock.tick(700);
  assert.deepEqual(sends, [], "admitted by the limiter, but still waiting for the host");
  leave();
  await listing;
  assert.deepEqual(sends, [700]);
  assert.equal(account.limiter.finishTimeFor(1), 1_700 + account.limiter.marginMs);
  api.close();
});

/** An account "acme" on an in-process mock whose send log fails the first `failures` writes. */
function withFailingSendLog(failures: number) {
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const fetch = handlerFetch(api.handler);
  const account = acmeAccount({
    fetch,
    onSend: () => {
      if (failures-- > 0) {
        throw new Error("Cannot record a request in checkpoint x: disk I/O error");
      }
    },
  });
  const platform = createPlatformClient(account, {
    fetch,
    backoffBaseMs: 1,
    backoffCapMs: 2,
    maxAttempts: 3,
  });
  const listed = () => api.log.filter((entry) => entry.path.startsWith("/api/")).length;
  return { api, account, platform, listed };
}

Deno.test("PlatformClient sends nothing whose send time was not persisted, and retries it", async () => {
  const { api, account, platform, listed } = withFailingSendLog(1);
  const page = await platform.listCampaigns(1, 10);
  assert.equal(page.data.length, 10);
  assert.equal(listed(), 1, "only the attempt whose send was persisted reached the platform");
  assert.equal(account.stats.retries, 1);
  api.close();
});

Deno.test("PlatformClient fails a request like a network error when its send time cannot be persisted", async () => {
  const { api, platform, listed } = withFailingSendLog(Infinity);
  await assert.rejects(platform.listCampaigns(1, 10), (error: unknown) => {
    assert.ok(error instanceof NetworkError);
    assert.equal(
      error.message,
      "Cannot fetch page 1: cannot record its send time " +
        "(Cannot record a request in checkpoint x: disk I/O error)",
    );
    return true;
  });
  assert.equal(listed(), 0, "no request left without its send time recorded");
  api.close();
});

Deno.test("PlatformClient records list requests' round trips on the host gate, not logins' nor syncs'", async () => {
  const clock = createFakeClock(0);
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const inner = handlerFetch(api.handler);
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    await clock.tick(path.endsWith("/sync") ? 2_000 : path === "/auth/token" ? 50 : 40);
    return inner(input, init);
  };
  const account = acmeAccount({
    fetch,
    clock,
  });
  const platform = createPlatformClient(account, { fetch, clock });
  const page = await platform.listCampaigns(1, 10);
  const delay = account.hostGate.arrivalDelay;
  assert.equal(delay.recentMaxMs(clock.now(), 1_000), 40, "the page's 40 ms, not the login's 50");
  assert.equal(delay.recentMaxMs(clock.now(), 39), 40);
  await platform.syncCampaign((page.data[0] as { id: string }).id);
  assert.equal(delay.recentMaxMs(clock.now(), 60_000), 40, "a sync's 2 s is not a round trip");
  assert.equal(delay.recentMaxMs(clock.now(), 1_000), 0);
  api.close();
});

Deno.test("PlatformClient holds a sync's place longer by as much as its answer came later than the host's quickest", async () => {
  const clock = createFakeClock(0);
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const inner = handlerFetch(api.handler);
  const syncsSent: number[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    if (!new URL(String(input)).pathname.endsWith("/sync")) return inner(input, init);
    syncsSent.push(clock.now());
    // The second sync's answer comes 3 s later than the first's: it may have arrived that late.
    await clock.tick(syncsSent.length === 2 ? 3_040 : 40);
    return inner(input, init);
  };
  const account = acmeAccount({ fetch, clock, rateLimit: { count: 1, windowMs: 10_000 } });
  const platform = createPlatformClient(account, { fetch, clock });
  const page = await platform.listCampaigns(1, 10);
  const ids = (page.data as Array<{ id: string }>).map((c) => c.id);
  const syncs = Promise.all(ids.slice(0, 3).map((id) => platform.syncCampaign(id)));
  await clock.runAll();
  await syncs;
  const [, second, third] = syncsSent;
  assert.equal(
    third! - second!,
    10_000 + 3_000,
    "a window and the 3 s the second may have been late",
  );
  api.close();
});

/** A client of account "acme" whose API answers every list request with `answer()`. */
function refusing(answer: () => Response, client: PlatformClientOptions = {}) {
  return setup(
    {},
    client,
    (fetch) => (input, init) =>
      String(input).includes("/api/") ? Promise.resolve(answer()) : fetch(input, init),
  );
}

Deno.test("PlatformClient fails with AuthError when the platform refuses a fresh token", async () => {
  const { api, account, platform } = refusing(() =>
    Response.json({ error: "Invalid token" }, { status: 401 })
  );
  const error = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(error instanceof AuthError, String(error));
  assert.equal(error.message, "Cannot fetch page 1: the platform refused a fresh token (401)");
  assert.ok(error.cause instanceof HttpError);
  assert.equal(account.stats.requests, 2, "the first answer 401 is replayed once");
  assert.equal(account.tokens.refreshes, 1);
  assert.equal(account.stats.retries, 0);
  api.close();
});

Deno.test("PlatformClient fails a request on its fifth 429 in a row, holding the account each time", async () => {
  const { api, account, platform } = refusing(() =>
    Response.json({ retry_after: 0 }, { status: 429, headers: { "retry-after": "0" } })
  );
  const error = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.message, "Cannot fetch page 1: 429 Too Many Requests");
  assert.equal(account.stats.requests, 5);
  assert.equal(account.stats.rateLimited, 5);
  assert.equal(account.stats.retries, 0, "a 429 is held, not retried");
  api.close();
});

Deno.test("PlatformClient holds the account two minutes at most, whatever wait a 429 asks", async () => {
  const clock = createFakeClock(0);
  let refusals = 1;
  const api = createMockApi({ ...quiet, rateLimit: { count: 1000, windowMs: 60_000 } });
  const inner = handlerFetch(api.handler);
  const fetch: typeof globalThis.fetch = (input, init) =>
    String(input).includes("/api/") && refusals-- > 0
      ? Promise.resolve(new Response("{}", { status: 429, headers: { "retry-after": "3600" } }))
      : inner(input, init);
  const account = acmeAccount({ fetch, clock, rateLimit: { count: 1000, windowMs: 60_000 } });
  const platform = createPlatformClient(account, { fetch, clock });
  const listing = platform.listCampaigns(1, 10);
  while (account.stats.rateLimited === 0) await settle();
  await clock.tick(119_999);
  assert.equal(account.stats.requests, 1, "still held");
  await clock.tick(1);
  assert.equal(account.stats.requests, 2, "sent again when the two minutes are over");
  assert.equal((await listing).data.length, 10);
  api.close();
});

Deno.test("PlatformClient fails a request whose new login is answered 429, without holding the account", async () => {
  let logins = 0;
  const { api, account, platform } = setup({}, {}, (fetch) => (input, init) => {
    const path = new URL(String(input)).pathname;
    if (path === "/auth/token" && ++logins > 1) {
      return Promise.resolve(new Response("{}", { status: 429, headers: { "retry-after": "0" } }));
    }
    if (path.startsWith("/api/")) return Promise.resolve(new Response("{}", { status: 401 }));
    return fetch(input, init);
  });
  const error = await platform.listCampaigns(1, 10).catch((e) => e);
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.status, 429);
  assert.match(error.message, /^Cannot log in .*: 429 Too Many Requests$/);
  assert.equal(logins, 2);
  assert.equal(account.stats.requests, 1);
  assert.equal(account.stats.rateLimited, 0, "a login's 429 is not the account's");
  api.close();
});

Deno.test("listDeadlineMs is the configured deadline until the host has answered lately", () => {
  const trips = createArrivalDelay();
  assert.equal(listDeadlineMs(trips, 10_000, 5_000), 5_000);
  trips.observe(10_000, 10_020);
  const later = 10_020 + LIST_DEADLINE_HORIZON_MS + 1;
  assert.equal(listDeadlineMs(trips, later, 5_000), 5_000, "that answer is no longer recent");
});

Deno.test("listDeadlineMs gives four times the longest recent round trip, within its bounds", () => {
  const trips = createArrivalDelay();
  trips.observe(9_990, 9_990);
  assert.equal(listDeadlineMs(trips, 10_000, 5_000), MIN_LIST_DEADLINE_MS, "answered within 1 ms");
  trips.observe(10_000, 10_020);
  assert.equal(
    listDeadlineMs(trips, 10_100, 5_000),
    MIN_LIST_DEADLINE_MS,
    "4 x 20 ms is too short",
  );
  trips.observe(10_050, 10_350);
  assert.equal(listDeadlineMs(trips, 10_400, 5_000), 1_200);
  trips.observe(10_100, 12_000);
  assert.equal(listDeadlineMs(trips, 12_010, 5_000), 5_000, "never above the configured one");
  assert.equal(listDeadlineMs(trips, 12_010, 100), 100, "even when it is below the minimum");
});

Deno.test("listDeadlineMs doubles after the second timeout of a page, up to the configured deadline", () => {
  const trips = createArrivalDelay();
  trips.observe(10_000, 10_010);
  const at = (timedOut: number) => listDeadlineMs(trips, 10_100, 5_000, timedOut);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(at), [
    250,
    250,
    500,
    1_000,
    2_000,
    4_000,
    5_000,
    5_000,
  ]);
});

Deno.test("listDeadlineMs follows the round trips of the half second before the latest answer", () => {
  const trips = createArrivalDelay();
  trips.observe(10_000, 10_450); // the start's burst: this process read its pages late
  trips.observe(10_300, 10_700);
  assert.equal(listDeadlineMs(trips, 10_800, 5_000), 1_800);
  trips.observe(11_000, 11_010); // half a second on, pages come back in ms
  trips.observe(11_250, 11_260);
  assert.equal(listDeadlineMs(trips, 11_300, 5_000), MIN_LIST_DEADLINE_MS);
  trips.observe(11_290, 11_500); // a slow one among them counts again
  assert.equal(listDeadlineMs(trips, 11_600, 5_000), 840);
});
