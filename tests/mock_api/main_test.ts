/** The mock's entry point, as `deno task mock` runs it. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const PROJECT_DIR = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("The mock on a busy port says so in one line with its mock: prefix, exit 1", async () => {
  const busy = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    const { port } = busy.addr as Deno.NetAddr;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "mock-api/main.ts", "--port", String(port)],
      cwd: PROJECT_DIR,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stderr);
    assert.match(stderr, new RegExp(`^mock: --port: cannot listen on ${port}: .+\\n$`));
  } finally {
    busy.close();
  }
});
