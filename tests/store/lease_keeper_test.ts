import assert from "node:assert/strict";
import postgres from "postgres";
import { createDatabaseGuard } from "../../src/store/database_guard.ts";
import { createAccountLeases } from "../../src/store/lease_keeper.ts";
import { migrate } from "../../src/store/migrations.ts";
import { startPostgres } from "../_pg_server.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("A send recorded while the database is frozen is stamped when it committed, not when it was sent", async () => {
  // A server of its own: freezing the shared test server would stall the other test files.
  await using server = await startPostgres();
  const sql = postgres(server.url, { max: 2, onnotice: () => {} });
  try {
    await migrate(sql);
    // One attempt outlasts the freeze, as a frozen server's socket stays open without answering.
    const guard = createDatabaseGuard("test PostgreSQL", { timeoutMs: 60_000 });
    const leases = createAccountLeases(sql, guard, { holder: "worker w1" });
    const held = await leases.hold("acme");
    assert.ok("fence" in held);
    await held.fence(Date.now()); // a send before the freeze, for comparison
    const before = await leases.recentSends("acme", 0);
    assert.equal(before.length, 1);

    await server.signal("SIGSTOP");
    const sentAt = Date.now();
    const fenced = held.fence(sentAt);
    await sleep(2_000);
    const thawedAt = Date.now(); // the write cannot commit before this
    await server.signal("SIGCONT");
    await fenced;
    const wroteAt = Date.now();

    const sends = await leases.recentSends("acme", 0);
    assert.equal(sends.length, 2);
    const stored = sends[1]!;
    assert.ok(
      stored >= thawedAt,
      `the send is stored at ${stored}, ${thawedAt - stored} ms before the database thawed ` +
        `(${thawedAt}); the request left after ${wroteAt}`,
    );
    await held.release();
  } finally {
    await sql.end({ timeout: 1 });
  }
});
