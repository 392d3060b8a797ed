import assert from "node:assert/strict";
import { createEndpointHandler, startHttpEndpoint } from "../../src/report/http_endpoint.ts";

const sources = {
  metrics: () => Promise.resolve("# HELP adsync_up Up.\n# TYPE adsync_up gauge\nadsync_up 1\n"),
  ready: () => Promise.resolve(undefined),
};

const get = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

Deno.test("The endpoint answers /metrics in the Prometheus text format", async () => {
  const response = await createEndpointHandler(sources)(get("/metrics"));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(
    await response.text(),
    "# HELP adsync_up Up.\n# TYPE adsync_up gauge\nadsync_up 1\n",
  );
});

Deno.test("/healthz says the process runs even while it is not ready", async () => {
  const handler = createEndpointHandler({ ...sources, ready: () => Promise.resolve("busy") });
  const response = await handler(get("/healthz"));
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "ok\n");
});

Deno.test("/readyz answers 200 when ready and 503 with the reason when not", async () => {
  const state: { reason?: string } = {};
  const handler = createEndpointHandler({ ...sources, ready: () => Promise.resolve(state.reason) });
  const ready = await handler(get("/readyz"));
  assert.deepEqual([ready.status, await ready.text()], [200, "ready\n"]);
  state.reason = "PostgreSQL at 127.0.0.1:5432/adsync does not answer";
  const unready = await handler(get("/readyz"));
  assert.deepEqual([unready.status, await unready.text()], [
    503,
    "not ready: PostgreSQL at 127.0.0.1:5432/adsync does not answer\n",
  ]);
  const failing = createEndpointHandler({
    ...sources,
    ready: () => Promise.reject(new Error("x")),
  });
  assert.equal((await failing(get("/readyz"))).status, 503);
});

Deno.test("Unknown paths are 404, other methods 405, and a failing collection is 500", async () => {
  const handler = createEndpointHandler({
    ...sources,
    metrics: () => Promise.reject(new Error("Cannot read the queue")),
  });
  const missing = await handler(get("/"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await handler(get("/metrics", { method: "POST" }));
  assert.deepEqual([post.status, post.headers.get("allow")], [405, "GET"]);
  await post.body?.cancel();
  const broken = await handler(get("/metrics"));
  assert.deepEqual([broken.status, await broken.text()], [
    500,
    "cannot collect the metrics: Cannot read the queue\n",
  ]);
});

Deno.test("Port 0 serves on a free port of 127.0.0.1 until closed", async () => {
  const endpoint = startHttpEndpoint({ ...sources, port: 0 });
  try {
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const response = await fetch(`${endpoint.url}/healthz`);
    assert.equal(await response.text(), "ok\n");
  } finally {
    await endpoint.close();
    await endpoint.close(); // twice is harmless
  }
  await assert.rejects(fetch(`${endpoint.url}/healthz`), TypeError);
});

Deno.test("A port already taken fails with one line naming the address", async () => {
  const taken = startHttpEndpoint({ ...sources, port: 0 });
  try {
    const port = Number(new URL(taken.url).port);
    assert.throws(
      () => startHttpEndpoint({ ...sources, port }),
      (error: Error) => {
        assert.match(error.message, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port} `));
        assert.ok(!error.message.includes("\n"));
        return true;
      },
    );
  } finally {
    await taken.close();
  }
});
