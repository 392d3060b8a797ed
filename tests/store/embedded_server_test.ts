import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { StoreError } from "../../src/errors.ts";
import { EmbeddedBusyError } from "../../src/store/embedded_lock.ts";
import { errorText, startEmbedded } from "../../src/store/embedded_server.ts";

async function withStateDir(fn: (stateDir: string) => Promise<void>): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_embedded_server_" });
  try {
    await fn(stateDir);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("startEmbedded serves PGlite on 127.0.0.1, keeps its data, and refuses a second opener", async () => {
  await withStateDir(async (parent) => {
    const stateDir = join(parent, "nested", "state"); // created on first start
    const server = await startEmbedded(stateDir, { opener: "sync" });
    try {
      assert.equal(server.host, "127.0.0.1");
      assert.ok(server.port > 0);
      assert.equal(server.dataDir, join(stateDir, "pgdata"));
      assert.equal(server.holder, `sync (pid ${Deno.pid})`);
      assert.ok((await Deno.stat(join(server.dataDir, "PG_VERSION"))).isFile);
      const url = `postgres://postgres@${server.host}:${server.port}/postgres`;
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql`create table kept (note text)`;
        await sql`insert into kept values ('still here')`;
      } finally {
        await sql.end();
      }
      await assert.rejects(startEmbedded(stateDir, { opener: "sql" }), (error) => {
        assert.ok(error instanceof EmbeddedBusyError);
        assert.ok(error instanceof StoreError);
        assert.match(error.message, /is open by sync \(pid \d+\)/);
        return true;
      });
    } finally {
      await server.close();
      await server.close(); // safe twice
    }

    const reopened = await startEmbedded(stateDir, { opener: "sql", port: 0 });
    try {
      const url = `postgres://postgres@${reopened.host}:${reopened.port}/postgres`;
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        assert.deepEqual([...await sql`select note from kept`], [{ note: "still here" }]);
      } finally {
        await sql.end();
      }
    } finally {
      await reopened.close();
    }
  });
});

Deno.test("startEmbedded names the data directory when it cannot create the state dir", async () => {
  await withStateDir(async (parent) => {
    const file = join(parent, "a-file");
    await Deno.writeTextFile(file, "not a directory");
    const stateDir = join(file, "state");
    await assert.rejects(startEmbedded(stateDir), (error) => {
      assert.ok(error instanceof StoreError);
      assert.match(
        error.message,
        new RegExp(
          `^Cannot open the embedded database at ${join(stateDir, "pgdata")}: ` +
            "cannot create the state directory",
        ),
      );
      return true;
    });
  });
});

Deno.test("startEmbedded refuses a data directory that is a file, and releases its lock", async () => {
  await withStateDir(async (stateDir) => {
    await Deno.writeTextFile(join(stateDir, "pgdata"), "not a directory");
    await assert.rejects(
      startEmbedded(stateDir),
      (error) =>
        error instanceof StoreError && /it exists and is not a directory/.test(error.message),
    );
    // Refused for its data dir, not for a lock left behind by the first attempt.
    await assert.rejects(
      startEmbedded(stateDir),
      (error) => !(error instanceof EmbeddedBusyError) && /not a directory/.test(String(error)),
    );
  });
});

Deno.test("errorText gives an error's first line, or its name", () => {
  assert.equal(errorText(new Error("first line\nsecond line")), "first line");
  assert.equal(errorText({ name: "AbortError" }), "AbortError");
  assert.equal(errorText("plain"), "plain");
});
