import assert from "node:assert/strict";
import { startLoad } from "../../bench/load.ts";

Deno.test("The bench's load runs busy loops and a disk writer until stopped, then leaves nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_load_test_" });
  try {
    const load = await startLoad({ cpuProcesses: 1, diskProcesses: 1, dir });
    assert.equal(load.cpu, 1);
    assert.equal(load.disk, 1);
    let written = false;
    for (let i = 0; i < 600 && !written; i++) {
      written = [...Deno.readDirSync(dir)].some((entry) => entry.name.startsWith("load_"));
      if (!written) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(written, "the disk writer writes in the dir it was given");
    await load.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
