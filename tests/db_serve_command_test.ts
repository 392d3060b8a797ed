import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { connectionUrl, serveEmbeddedDatabase } from "../src/db_serve_command.ts";
import { StoreError } from "../src/errors.ts";
import { type EmbeddedServer, startEmbedded } from "../src/store/embedded_server.ts";

Deno.test("connectionUrl names the served database without a password", () => {
  assert.equal(
    connectionUrl({ host: "127.0.0.1", port: 5499 }),
    "postgres://postgres@127.0.0.1:5499/postgres",
  );
});

Deno.test("db serve serves the embedded database to a client until its signal, holding its lock", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_db_serve_" });
  try {
    const config = loadConfig({}, ["db", "serve", "--port", "0", "--state-dir", stateDir]);
    const stop = new AbortController();
    let ready!: (server: EmbeddedServer) => void;
    const listening = new Promise<EmbeddedServer>((resolve) => ready = resolve);
    const serving = serveEmbeddedDatabase(config, { signal: stop.signal, onReady: ready });
    const server = await listening;
    assert.equal(server.host, "127.0.0.1");
    assert.notEqual(server.port, 0, "port 0 asks for a free port, and the one taken is told");
    assert.equal(server.holder, `db serve (pid ${Deno.pid})`);

    const client = postgres(connectionUrl(server), { max: 1, onnotice: () => {} });
    try {
      await client`create table served (id int)`;
      await client`insert into served values (1), (2)`;
      assert.equal((await client`select count(*)::int as n from served`)[0]?.n, 2);
    } finally {
      await client.end();
    }
    await assert.rejects(
      startEmbedded(stateDir, { opener: "sync" }),
      (error) => error instanceof StoreError && /open by db serve/.test(error.message),
      "a sync started meanwhile is refused",
    );

    stop.abort();
    await serving;
    const after = await startEmbedded(stateDir, { opener: "sql" });
    try {
      const reader = postgres(connectionUrl(after), { max: 1, onnotice: () => {} });
      try {
        assert.equal((await reader`select count(*)::int as n from served`)[0]?.n, 2, "kept");
      } finally {
        await reader.end();
      }
    } finally {
      await after.close();
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("db serve with its signal already aborted opens, tells ready, and closes", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_db_serve_" });
  try {
    const config = loadConfig({}, ["db", "serve", "--port", "0", "--state-dir", stateDir]);
    let readyCalls = 0;
    await serveEmbeddedDatabase(config, {
      signal: AbortSignal.abort(),
      onReady: () => readyCalls++,
    });
    assert.equal(readyCalls, 1);
    const again = await startEmbedded(stateDir);
    await again.close();
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
