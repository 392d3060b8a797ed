import assert from "node:assert/strict";
import { join } from "node:path";
import { StoreError } from "../../src/errors.ts";
import { openDatabase } from "../../src/store/database.ts";
import { serverTest, withEachDatabase } from "./_helpers.ts";

withEachDatabase("openDatabase answers queries through postgres.js", async ({ db, backend }) => {
  assert.equal(db.kind, backend);
  const [row] = await db.sql<{ answer: number }[]>`select ${41}::int + 1 as answer`;
  assert.equal(row?.answer, 42);
}, { migrate: false });

withEachDatabase("A closed database refuses queries and can be closed again", async ({ db }) => {
  await db.close();
  await assert.rejects(db.sql`select 1`);
  // The helper closes it a second time.
}, { migrate: false, ownDatabase: true });

Deno.test("The embedded database keeps its data across a close and a reopen", async () => {
  await withTempDir(async (stateDir) => {
    const first = await openDatabase({ stateDir });
    await first.sql`create table notes (body text)`;
    await first.sql`insert into notes values (${"kept"})`;
    await first.close();
    await first.close();

    const second = await openDatabase({ stateDir });
    try {
      const rows = await second.sql<{ body: string }[]>`select body from notes`;
      assert.deepEqual(rows.map((row) => row.body), ["kept"]);
    } finally {
      await second.close();
    }
  });
});

Deno.test("openDatabase refuses an embedded data dir that is already in use", async () => {
  await withTempDir(async (stateDir) => {
    const holder = await openDatabase({ stateDir });
    try {
      await assert.rejects(openDatabase({ stateDir, opener: "status" }), (error) => {
        assert.ok(error instanceof StoreError);
        assert.equal(
          error.message,
          `The embedded database under ${stateDir} is open by adsync (pid ${Deno.pid}); ` +
            "try again when it ends",
        );
        return true;
      });
    } finally {
      await holder.close();
    }
    const again = await openDatabase({ stateDir });
    await again.close();
  });
});

Deno.test("openDatabase reports a corrupt embedded data dir as a StoreError", async () => {
  await withTempDir(async (stateDir) => {
    await Deno.mkdir(join(stateDir, "pgdata"));
    await Deno.writeTextFile(join(stateDir, "pgdata", "PG_VERSION"), "99\n");
    await assert.rejects(openDatabase({ stateDir }), (error) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, /^Cannot open the embedded database at .*pgdata: PGlite/);
      assert.match(error.message, /may be corrupt, move it aside to start afresh$/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });
});

Deno.test("openDatabase reports a damaged pg_control as a StoreError", async () => {
  await withTempDir(async (stateDir) => {
    await (await openDatabase({ stateDir })).close();
    await Deno.writeTextFile(join(stateDir, "pgdata", "global", "pg_control"), "garbage");
    await assert.rejects(openDatabase({ stateDir }), (error) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, /: PGlite cannot start \(Aborted\(\)\); the data directory may/);
      return true;
    });
  });
});

Deno.test("openDatabase reports an embedded data dir that is a file", async () => {
  await withTempDir(async (stateDir) => {
    await Deno.writeTextFile(join(stateDir, "pgdata"), "not a database");
    await assert.rejects(openDatabase({ stateDir }), (error) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, /pgdata: it exists and is not a directory$/);
      return true;
    });
  });
});

Deno.test("openDatabase reports an unreachable server without revealing the password", async () => {
  const url = "postgres://u:s3cretpw@127.0.0.1:1/db";
  await assert.rejects(openDatabase({ url, stateDir: "unused" }), (error) => {
    assert.ok(error instanceof StoreError);
    assert.equal(
      error.message,
      "Cannot connect to PostgreSQL at 127.0.0.1:1/db: connection refused",
    );
    assert.ok(!String(error.cause).includes("s3cretpw"));
    return true;
  });
});

Deno.test("openDatabase rejects a malformed URL without echoing it", async () => {
  const url = "postgres://u:s3cretpw@[bad/db";
  await assert.rejects(openDatabase({ url, stateDir: "unused" }), (error) => {
    assert.ok(error instanceof StoreError);
    assert.ok(!error.message.includes("s3cretpw"));
    assert.match(error.message, /not a valid URL/);
    return true;
  });
});

serverTest("openDatabase names a database the server does not have", async (serverUrl) => {
  const url = new URL(serverUrl);
  url.pathname = "/adsync_no_such_database";
  url.password = "s3cretpw";
  await assert.rejects(openDatabase({ url: url.href, stateDir: "unused" }), (error) => {
    assert.ok(error instanceof StoreError);
    assert.match(
      error.message,
      /^Cannot connect to PostgreSQL at .+\/adsync_no_such_database: .*does not exist$/,
    );
    assert.ok(!error.message.includes("s3cretpw"));
    return true;
  });
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_db_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openDatabase gives up on a server that hangs up during startup", async () => {
  // postgres.js alone would reconnect to such a peer forever.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  try {
    const url = `postgres://u:s3cretpw@127.0.0.1:${listener.addr.port}/db`;
    await assert.rejects(
      openDatabase({ url, stateDir: "unused", connectTimeoutMs: 200 }),
      (error) => {
        assert.ok(error instanceof StoreError);
        assert.equal(
          error.message,
          `Cannot connect to PostgreSQL at 127.0.0.1:${listener.addr.port}/db: ` +
            "no answer within 0.2 s",
        );
        return true;
      },
    );
  } finally {
    listener.close();
    await accepting;
  }
});
