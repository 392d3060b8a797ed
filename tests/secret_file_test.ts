import assert from "node:assert/strict";
import { join } from "node:path";
import { readSecretFile } from "../src/secret_file.ts";

const fail = (reason: string): never => {
  throw new Error(reason);
};

Deno.test("A password_file that is a FIFO or a device is refused at once, never read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_secret_" });
  try {
    const fifo = join(dir, "password.fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo");
    let reads = 0;
    const read = (path: string) => {
      reads++;
      return Deno.readTextFileSync(path); // a FIFO without a writer would block here forever
    };
    for (const path of [fifo, "/dev/zero", dir]) {
      assert.throws(
        () => readSecretFile(path, read, fail),
        new RegExp(`^Error: ${path.replaceAll(".", "\\.")} is not a regular file`),
      );
    }
    assert.equal(reads, 0);
    const file = join(dir, "password");
    await Deno.writeTextFile(file, "s3cret\n");
    assert.equal(readSecretFile(file, read, fail), "s3cret");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
