import assert from "node:assert/strict";
import { parseMockLine, startMockProcess, writeMockLog } from "../../bench/mock_process.ts";

Deno.test("parseMockLine reads request lines and ignores anything else", () => {
  const line = '{"method":"GET","path":"/api/campaigns","page":1,"status":200,"client":"a",' +
    '"latency_ms":3,"at":1700000000000}';
  assert.deepEqual(parseMockLine(line), {
    method: "GET",
    path: "/api/campaigns",
    page: 1,
    status: 200,
    client: "a",
    latency_ms: 3,
    at: 1_700_000_000_000,
  });
  assert.equal(parseMockLine("Mock Ad Platform listening on http://127.0.0.1:1"), undefined);
  assert.equal(parseMockLine('{"path":"/health"}'), undefined);
  assert.equal(parseMockLine("{not json"), undefined);
});

Deno.test("startMockProcess serves the mock in its own process and reads its request log", async () => {
  const mock = await startMockProcess({
    args: [
      ...["--rate-limit", "1/1m", "--error-rate", "0", "--hang-rate", "0"],
      ...["--email", "bench@adsync.local", "--password", "pw"],
    ],
  });
  try {
    assert.notEqual(mock.pid, Deno.pid);
    const before = Date.now();
    const tokens = new Map<string, string>();
    for (const client of ["acct_001", "acct_002", "acct_001"]) {
      if (!tokens.has(client)) {
        const login = await fetch(`${mock.url}/auth/token`, {
          method: "POST",
          headers: {
            authorization: `Basic ${btoa("bench@adsync.local:pw")}`,
            "x-client-id": client,
          },
        });
        tokens.set(client, (await login.json()).access_token);
      }
      const res = await fetch(`${mock.url}/api/campaigns?page=1`, {
        headers: { authorization: `Bearer ${tokens.get(client)}`, "x-client-id": client },
      });
      await res.body?.cancel();
    }
    const deadline = Date.now() + 10_000;
    while (mock.log.length < 5 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const limited = mock.log.filter((entry) => entry.path === "/api/campaigns");
    assert.deepEqual(
      limited.map((entry) => [entry.client, entry.status]),
      [["acct_001", 200], ["acct_002", 200], ["acct_001", 429]],
    );
    for (const entry of limited) assert.ok(entry.at >= before, "each line carries its answer time");
  } finally {
    await mock.close();
  }
});

Deno.test("writeMockLog writes lines that parseMockLine reads back", async () => {
  const file = await Deno.makeTempFile();
  const log = [
    { method: "GET", path: "/api/campaigns", status: 200, client: "a", latency_ms: 3, at: 10 },
    {
      method: "POST",
      path: "/api/campaigns/c1/sync",
      status: 429,
      client: "a",
      latency_ms: 0,
      at: 11,
    },
  ];
  try {
    await writeMockLog(file, log);
    const lines = (await Deno.readTextFile(file)).split("\n");
    assert.deepEqual(lines.at(-1), "", "each line ends");
    assert.deepEqual(lines.slice(0, -1).map(parseMockLine), log);
  } finally {
    await Deno.remove(file);
  }
});
