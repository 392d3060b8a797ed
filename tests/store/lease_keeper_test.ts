import assert from "node:assert/strict";
import postgres from "postgres";
import { createDatabaseGuard } from "../../src/store/database_guard.ts";
import { takeLease } from "../../src/store/account_lease.ts";
import { createAccountLeases, type HeldAccount } from "../../src/store/lease_keeper.ts";
import { migrate } from "../../src/store/migrations.ts";
import { startPostgres } from "../_pg_server.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "./_helpers.ts";

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

Deno.test("The sends of many accounts go in one statement, and a lost lease refuses only its own account's", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const sql = postgres(url, { max: 4, onnotice: () => {} });
    try {
      await migrate(sql);
      const guard = createDatabaseGuard("test PostgreSQL");
      const leases = createAccountLeases(sql, guard, { holder: "worker w1", ttlMs: 10_000 });
      const accounts = Array.from({ length: 20 }, (_, i) => `acct_${i}`);
      const held = await Promise.all(accounts.map((account) => leases.hold(account)));
      const ours = held.filter((lease): lease is HeldAccount => "fence" in lease);
      assert.equal(ours.length, 20);
      // Another process takes acct_0's lease (as after a long outage: here, from a holder
      // it is told is gone), while acct_0 still thinks it holds it.
      const taken = await takeLease(sql, "acct_0", {
        holder: "worker w2",
        ttlMs: 10_000,
        replacing: "worker w1",
      });
      assert.ok("token" in taken);

      const before = leases.statements;
      const fenced = await Promise.allSettled(ours.map((lease) => lease.fence(Date.now())));
      assert.ok(leases.statements - before < 5, `${leases.statements - before} statements`);
      assert.equal(fenced[0]?.status, "rejected");
      assert.equal((fenced[0] as PromiseRejectedResult).reason.code, "ACCOUNT_BUSY");
      assert.equal(ours[0]!.signal.aborted, true);
      assert.deepEqual(
        fenced.slice(1).map((outcome) => outcome.status),
        Array(19).fill("fulfilled"),
      );
      assert.equal(ours.slice(1).some((lease) => lease.signal.aborted), false);
      assert.deepEqual(await leases.recentSends("acct_0", 0), []);
      assert.equal((await leases.recentSends("acct_7", 0)).length, 1);
      await Promise.all(ours.map((lease) => lease.release()));
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

Deno.test("One beat renews every held lease in one statement, with the sends noted since", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const sql = postgres(url, { max: 4, onnotice: () => {} });
    try {
      await migrate(sql);
      const guard = createDatabaseGuard("test PostgreSQL");
      const ttlMs = 600; // a beat every 200 ms
      const leases = createAccountLeases(sql, guard, { holder: "sync on box-1", ttlMs });
      const held = await Promise.all(["acme", "globex", "initech"].map((a) => leases.hold(a)));
      const ours = held.filter((lease): lease is HeldAccount => "fence" in lease);
      ours.forEach((lease, i) => lease.noteSend(1_000 + i));
      await sleep(1_500); // lapsed twice over, unless renewed
      assert.ok(leases.statements >= 2 && leases.statements <= 9, `${leases.statements}`);
      const [row] = await sql`
        select count(*)::int as live from account_leases where expires_at > now()`;
      assert.equal(row?.live, 3);
      assert.deepEqual(await leases.recentSends("globex", 0), [1_001]);
      assert.equal(ours.some((lease) => lease.signal.aborted), false);
      await Promise.all(ours.map((lease) => lease.release()));
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

Deno.test("Leases released together go in one statement, with the sends noted since the last beat", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const sql = postgres(url, { max: 4, onnotice: () => {} });
    try {
      await migrate(sql);
      const guard = createDatabaseGuard("test PostgreSQL");
      const leases = createAccountLeases(sql, guard, { holder: "sync on box-1", ttlMs: 60_000 });
      const accounts = Array.from({ length: 50 }, (_, i) => `acct_${i}`);
      const held = await Promise.all(accounts.map((account) => leases.hold(account)));
      const ours = held.filter((lease): lease is HeldAccount => "fence" in lease);
      assert.equal(ours.length, 50);
      ours.forEach((lease, i) => lease.noteSend(1_000 + i));
      const before = leases.statements;
      await Promise.all(ours.map((lease) => lease.release()));
      assert.equal(leases.statements - before, 1, "the 50 releases went in one statement");
      const [left] = await sql`select count(*)::int as count from account_leases`;
      assert.equal(left?.count, 0);
      assert.deepEqual(await leases.recentSends("acct_7", 0), [1_007]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
