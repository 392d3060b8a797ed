import assert from "node:assert/strict";
import { HttpError, InvalidAnswerError, NetworkError, TimeoutError } from "../../src/errors.ts";
import { retryAfterMs, send, withoutCredentials } from "../../src/platform/send.ts";
import { VERSION } from "../../src/version.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { endlessBody, serveTiny } from "./_serve.ts";

const request = (url: string, signal?: AbortSignal) => ({
  url,
  method: "GET",
  headers: { "x-client-id": "acme" },
  what: "fetch page 3",
  signal,
});

Deno.test("send names adsync and its version in the User-Agent of every request", async () => {
  const server = serveTiny(() => Response.json({ data: [] }));
  try {
    await send(request(`${server.url}/api/campaigns`));
    await send({ ...request(`${server.url}/auth/token`), method: "POST" });
    const agents = server.received.map((r) => r.headers.get("user-agent"));
    assert.deepEqual(agents, [`adsync/${VERSION}`, `adsync/${VERSION}`]);
    assert.equal(server.received[0]!.headers.get("x-client-id"), "acme", "its own headers too");
  } finally {
    await server.close();
  }
});

Deno.test("send never follows a redirect, and names where it pointed without credentials", async () => {
  const other = serveTiny(() => Response.json({ data: [] }));
  const origin = serveTiny(() =>
    new Response(null, {
      status: 301,
      headers: { location: other.url.replace("//", "//user:hunter2@") + "/elsewhere" },
    })
  );
  try {
    const outcomes: string[] = [];
    const error = await send(request(`${origin.url}/api/campaigns?page=3`), {
      onOutcome: (o) => void outcomes.push(o),
    }).catch((e) => e);
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 301);
    assert.equal(error.url, `${origin.url}/api/campaigns?page=3`);
    assert.equal(
      error.message,
      `Cannot fetch page 3: 301 Moved Permanently redirects to ${other.url}/elsewhere; ` +
        "redirects are not followed",
    );
    assert.doesNotMatch(error.message, /hunter2/);
    assert.deepEqual(other.received, [], "the other host never sees the request");
    assert.deepEqual(outcomes, ["301"]);
  } finally {
    await origin.close();
    await other.close();
  }
});

Deno.test("send ends a body that streams forever with a TimeoutError at its deadline", async () => {
  const server = serveTiny(() => endlessBody());
  try {
    const outcomes: string[] = [];
    const error = await send(request(`${server.url}/api/campaigns`), {
      timeoutMs: 100,
      onOutcome: (o) => void outcomes.push(o),
    }).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.message, "Cannot fetch page 3: no complete answer within 100 ms");
    assert.equal(error.url, `${server.url}/api/campaigns`);
    assert.deepEqual(outcomes, ["timeout"]);
  } finally {
    await server.close();
  }
});

Deno.test("send reports a refused connection as a NetworkError", async () => {
  const server = serveTiny(() => new Response());
  await server.close(); // nothing listens on its port any more
  const error = await send(request(`${server.url}/api/campaigns`)).catch((e) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.match(error.message, /^Cannot fetch page 3: /);
  assert.equal(error.url, `${server.url}/api/campaigns`);
  assert.ok(error.cause instanceof Error);
});

Deno.test("send calls a 2xx whose body is not JSON an InvalidAnswerError", async () => {
  const server = serveTiny(() => new Response("<html>maintenance</html>"));
  try {
    const error = await send(request(`${server.url}/api/campaigns`)).catch((e) => e);
    assert.ok(error instanceof InvalidAnswerError);
    assert.equal(error.message, "Cannot fetch page 3: the 200 answer is not JSON");
    assert.equal(error.status, 200);
    assert.ok(error.cause instanceof SyntaxError);
  } finally {
    await server.close();
  }
});

Deno.test("send gives a 429 its wait from the header or the body", async () => {
  const server = serveTiny(() => Response.json({ retry_after: 7 }, { status: 429 }));
  try {
    const error = await send(request(`${server.url}/api/campaigns`)).catch((e) => e);
    assert.ok(error instanceof HttpError);
    assert.equal(error.message, "Cannot fetch page 3: 429 Too Many Requests");
    assert.equal(error.retryAfterMs, 7_000);
  } finally {
    await server.close();
  }
});

Deno.test("send throws the wire signal's reason when the caller cuts the request", async () => {
  const server = serveTiny(() => endlessBody());
  try {
    const wire = new AbortController();
    const sent = send(request(`${server.url}/api/campaigns`, wire.signal), { timeoutMs: 60_000 });
    const reason = new Error("cut by the test");
    setTimeout(() => wire.abort(reason), 50);
    await assert.rejects(sent, (error) => error === reason);
  } finally {
    await server.close();
  }
});

Deno.test("retryAfterMs reads seconds, dates and the body field", () => {
  const now = Date.parse("2026-11-22T00:00:00Z");
  const withHeader = (value: string) => new Response(null, { headers: { "retry-after": value } });
  assert.equal(retryAfterMs(withHeader("7"), undefined, now), 7_000);
  assert.equal(retryAfterMs(withHeader("Sun, 22 Nov 2026 00:00:03 GMT"), undefined, now), 3_000);
  assert.equal(retryAfterMs(new Response(null), { retry_after: 2.5 }, now), 2_500);
  assert.equal(retryAfterMs(new Response(null), { error: "x" }, now), undefined);
});

Deno.test("withoutCredentials drops the user and password of a URL", () => {
  assert.equal(withoutCredentials("http://admin:hunter2@h.test/x?y=1"), "http://h.test/x?y=1");
  assert.equal(withoutCredentials("http://h.test/x"), "http://h.test/x");
  assert.equal(withoutCredentials("not a url"), "(an unparsable URL)");
});

/** A platform that holds its answer until the test lets it go, and says when a request came. */
function heldPlatform() {
  const arrived = Promise.withResolvers<void>();
  const answer = Promise.withResolvers<Response>();
  const server = serveTiny((req) => {
    arrived.resolve();
    req.signal.addEventListener("abort", () => answer.resolve(new Response(null, { status: 500 })));
    return answer.promise;
  });
  return {
    server,
    arrived: arrived.promise,
    answer: (response: Response) => answer.resolve(response),
  };
}

Deno.test("send reads an answer that came while this process was too busy to run its deadline timer", async () => {
  const { server, arrived, answer } = heldPlatform();
  const clock = createFakeClock();
  try {
    const sent = send(request(`${server.url}/api/campaigns`), { timeoutMs: 100, clock })
      .catch((error) => error);
    await arrived;
    clock.stall(400); // A long synchronous task: the deadline's timer cannot run.
    await clock.tick(0); // Its timer runs at last, 300 ms late.
    // Only now is the answer read, so a deadline that cut at its late timer fails here.
    answer(Response.json({ ok: true }));
    assert.deepEqual(await sent, { status: 200, body: { ok: true } });
  } finally {
    await server.close();
  }
});

Deno.test("send still ends a request that hangs through a busy spell, within twice its deadline", async () => {
  const { server, arrived, answer } = heldPlatform();
  const clock = createFakeClock();
  try {
    const started = clock.now();
    let ended = false;
    const sent = send(request(`${server.url}/api/campaigns`), { timeoutMs: 100, clock })
      .catch((e) => e).finally(() => (ended = true));
    await arrived;
    clock.stall(150); // Busy: the deadline's timer fires 50 ms late and waits 50 ms more.
    await clock.tick(49);
    assert.equal(ended, false, "waits for the time it was busy");
    await clock.tick(1);
    assert.equal(clock.pending, 0, "its timer ran out at 200 ms and was not armed again");
    const error = await sent;
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.message, "Cannot fetch page 3: no complete answer within 100 ms");
    assert.equal(clock.now() - started, 200, "ends at twice its deadline");
  } finally {
    answer(new Response(null, { status: 503 })); // unblocks the server if the test failed early
    await server.close();
  }
});
