import assert from "node:assert/strict";
import { parseMockLine, startMockProcess } from "../../bench/mock_process.ts";

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
  const dir = await Deno.makeTempDir();
  const mock = await startMockProcess({
    logFile: `${dir}/mock.jsonl`,
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
    await mock.close();
    const limited = mock.log.filter((entry) => entry.path === "/api/campaigns");
    assert.deepEqual(
      limited.map((entry) => [entry.client, entry.status]),
      [["acct_001", 200], ["acct_002", 200], ["acct_001", 429]],
    );
    for (const entry of limited) assert.ok(entry.at >= before, "each line carries its answer time");
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startMockProcess with a log file reads the request lines once the mock stopped", async () => {
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/mock.jsonl`;
  const mock = await startMockProcess({
    args: ["--error-rate", "0", "--hang-rate", "0"],
    logFile,
  });
  try {
    for (const client of ["acct_001", "acct_002"]) {
      const res = await fetch(`${mock.url}/api/campaigns`, { headers: { "x-client-id": client } });
      await res.body?.cancel();
    }
    const deadline = Date.now() + 10_000;
    while (mock.firstLogged() === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(mock.firstLogged()?.client, "acct_001", "the first line, from the file's head");
    assert.equal(mock.log.length, 0, "nothing read while it runs");
    await mock.close();
    assert.deepEqual(mock.log.map((entry) => [entry.client, entry.status]), [
      ["acct_001", 401],
      ["acct_002", 401],
    ]);
    await mock.close();
    assert.equal(mock.log.length, 2, "a second close reads nothing again");
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
