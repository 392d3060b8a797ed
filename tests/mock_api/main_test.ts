/** The mock's entry point, as `deno task mock` runs it. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const PROJECT_DIR = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("The mock on a busy port says so in one line with its mock: prefix, exit 1", async () => {
  const busy = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    const { port } = busy.addr as Deno.NetAddr;
    const { code, stderr } = await runMock(["--port", String(port)]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^mock: --port: cannot listen on ${port}: .+\\n$`));
  } finally {
    busy.close();
  }
});

Deno.test("The mock writes its request lines to --log FILE, none to stdout", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/requests.jsonl`;
  const mock = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-net", "--allow-env", `--allow-write=${file}`, "mock-api/main.ts"],
      ...["--port", "0", "--log", file],
    ],
    cwd: PROJECT_DIR,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = mock.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) out += (await reader.read()).value ?? "";
    const url = /listening on (\S+)/.exec(out)![1]!;
    for (const client of ["a", "b"]) {
      const res = await fetch(`${url}/api/campaigns`, { headers: { "x-client-id": client } });
      await res.body?.cancel();
    }
    mock.kill("SIGTERM");
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      out += chunk.value;
    }
    await mock.status;
    assert.deepEqual(out.trim().split("\n").length, 1, `only the startup line: ${out}`);
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.client, l.path, l.status]), [
      ["a", "/api/campaigns", 401],
      ["b", "/api/campaigns", 401],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("The mock that cannot open its --log file says so in one line, exit 1", async () => {
  const { code, stderr } = await runMock(["--port", "0", "--log", "x.log"]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^mock: --log: cannot open x\.log: .+\n$/);
});

/** Runs the mock's entry point with `args` and no write permission, to its end. */
async function runMock(args: string[]): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "mock-api/main.ts", ...args],
    cwd: PROJECT_DIR,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}
