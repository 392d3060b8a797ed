import assert from "node:assert/strict";
import postgres from "postgres";
import {
  accountLeaseHolders,
  fenceSend,
  releaseLease,
  renewLeases,
  takeLease,
} from "../../src/store/account_lease.ts";
import { migrate } from "../../src/store/migrations.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "./_helpers.ts";

/** Two processes' pools on one fresh, migrated database. */
async function withTwoPools(fn: (one: postgres.Sql, two: postgres.Sql) => Promise<void>) {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const one = postgres(url, { max: 2, onnotice: () => {} });
    const two = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await migrate(one);
      await fn(one, two);
    } finally {
      await one.end();
      await two.end();
    }
  });
}

Deno.test("takeLease lets one process drive an account and tells the other who does", async () => {
  await withTwoPools(async (one, two) => {
    const first = await takeLease(one, "acme", { holder: "worker w1", ttlMs: 30_000 });
    assert.ok("token" in first);
    const second = await takeLease(two, "acme", { holder: "sync on box-1", ttlMs: 30_000 });
    assert.ok(!("token" in second));
    assert.equal(second.holder, "worker w1");
    assert.ok(second.expiresInMs > 25_000 && second.expiresInMs <= 30_000);
    assert.ok("token" in await takeLease(two, "globex", { holder: "sync on box-1", ttlMs: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual([...await accountLeaseHolders(two, ["acme", "globex", "x"])], [
      ["acme", "worker w1"],
    ], "a lapsed lease holds nothing");
    await releaseLease(one, "acme", first.token);
    assert.ok("token" in await takeLease(two, "acme", { holder: "sync on box-1", ttlMs: 30_000 }));
  });
});

Deno.test("Of many processes taking one account's lease at once, exactly one gets it", async () => {
  await withTwoPools(async (one, two) => {
    const takes = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => takeLease(i % 2 ? one : two, "acme", { holder: `worker w${i}`, ttlMs: 30_000 }),
      ),
    );
    assert.equal(takes.filter((take) => "token" in take).length, 1);
  });
});

Deno.test("A lapsed lease is taken over, and the process that held it can no longer record a send", async () => {
  await withTwoPools(async (one, two) => {
    const old = await takeLease(one, "acme", { holder: "worker w1", ttlMs: 50 });
    assert.ok("token" in old);
    // Lapsed but not taken: still ours, so the send is recorded and the lease renewed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await fenceSend(one, "acme", old.token, 50, 1_000), true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const taker = await takeLease(two, "acme", { holder: "worker w2", ttlMs: 30_000 });
    assert.ok("token" in taker, "a lapsed lease is free");
    assert.equal(await fenceSend(one, "acme", old.token, 30_000, 2_000), false);
    assert.equal(await fenceSend(one, "acme", old.token, 30_000), false);
    assert.equal(await fenceSend(two, "acme", taker.token, 30_000, 3_000), true);
    const sends =
      await one`select at::int from checkpoint_sends where account = 'acme' order by at`;
    assert.deepEqual(
      sends.map((row) => row.at),
      [1_000, 3_000],
      "the fenced-off send is not recorded",
    );
    await releaseLease(one, "acme", old.token); // a lease another took is left alone
    assert.deepEqual([...await accountLeaseHolders(one, ["acme"])], [["acme", "worker w2"]]);
  });
});

Deno.test("takeLease takes an unlapsed lease only from the holder it is told is gone", async () => {
  await withTwoPools(async (one, two) => {
    assert.ok(
      "token" in await takeLease(one, "acme", { holder: "sync on box-1-41", ttlMs: 30_000 }),
    );
    const wrong = await takeLease(two, "acme", {
      holder: "sync on box-1-42",
      ttlMs: 30_000,
      replacing: "sync on box-1-40",
    });
    assert.ok(!("token" in wrong));
    const right = await takeLease(two, "acme", {
      holder: "sync on box-1-42",
      ttlMs: 30_000,
      replacing: "sync on box-1-41",
    });
    assert.ok("token" in right);
    assert.deepEqual([...await accountLeaseHolders(one, ["acme"])], [["acme", "sync on box-1-42"]]);
  });
});

Deno.test("renewLeases fences each account's sends alone: a lost lease refuses only its own", async () => {
  await withTwoPools(async (one, two) => {
    const ttlMs = 30_000;
    const acme = await takeLease(one, "acme", { holder: "worker w1", ttlMs: 50 });
    const globex = await takeLease(one, "globex", { holder: "worker w1", ttlMs });
    assert.ok("token" in acme && "token" in globex);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok("token" in await takeLease(two, "acme", { holder: "worker w2", ttlMs }));
    const ours = await renewLeases(one, [
      { account: "acme", token: acme.token, sends: [1_000] },
      { account: "globex", token: globex.token, sends: [2_000, 2_000] },
      { account: "globex", token: globex.token, sends: [] },
    ], ttlMs);
    assert.deepEqual(ours, [false, true, true]);
    const sends = await one`select account, at::int from checkpoint_sends order by account, at`;
    assert.deepEqual(
      sends.map((row) => [row.account, row.at]),
      [["globex", 2_000], ["globex", 2_000]],
      "the fenced-off send is not recorded, and a burst's sends that share a millisecond all are",
    );
    const [lease] = await one`
      select extract(epoch from expires_at - now()) * 1000 as left from account_leases
      where account = 'globex'`;
    assert.ok(Number(lease?.left) > ttlMs - 5_000, "the lease is renewed for its term");
  });
});

Deno.test("renewLeases stamps a waiting request's send no earlier than its statement ran", async () => {
  await withTwoPools(async (one) => {
    const taken = await takeLease(one, "acme", { holder: "worker w1", ttlMs: 30_000 });
    assert.ok("token" in taken);
    const before = Date.now();
    const ours = await renewLeases(
      one,
      [
        { account: "acme", token: taken.token, sends: [1_000], atCommit: true },
        { account: "acme", token: taken.token, sends: [2_000] },
      ],
      30_000,
      { atCommitOffsetMs: 0 },
    );
    assert.deepEqual(ours, [true, true]);
    const sends = await one`select at::float8 from checkpoint_sends order by at`;
    assert.equal(sends[0]?.at, 2_000, "a send that already left keeps its time");
    assert.ok(Number(sends[1]?.at) >= before - 1_000, "a waiting one is stamped at its commit");
  });
});

Deno.test("renewLeases releases the leases marked so with their sends, and leaves another's alone", async () => {
  await withTwoPools(async (one, two) => {
    const ttlMs = 30_000;
    const acme = await takeLease(one, "acme", { holder: "worker w1", ttlMs: 50 });
    const globex = await takeLease(one, "globex", { holder: "worker w1", ttlMs });
    const initech = await takeLease(one, "initech", { holder: "worker w1", ttlMs });
    assert.ok("token" in acme && "token" in globex && "token" in initech);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const taken = await takeLease(two, "acme", { holder: "worker w2", ttlMs });
    assert.ok("token" in taken);
    const ours = await renewLeases(one, [
      { account: "acme", token: acme.token, sends: [1_000], release: true },
      { account: "globex", token: globex.token, sends: [2_000], release: true },
      // A send fenced in the same group as its lease's release: recorded, then released.
      { account: "initech", token: initech.token, sends: [3_000], atCommit: true },
      { account: "initech", token: initech.token, sends: [3_001], release: true },
    ], ttlMs);
    assert.deepEqual(ours, [false, true, true, true]);
    const sends = await one`select account, at::int from checkpoint_sends order by account, at`;
    assert.deepEqual(sends.map((row) => [row.account, row.at]), [
      ["globex", 2_000],
      ["initech", 3_000],
      ["initech", 3_001],
    ]);
    const leases = await one`select account, holder from account_leases order by account`;
    assert.deepEqual(
      leases.map((row) => [row.account, row.holder]),
      [["acme", "worker w2"]],
      "ours are released, the one another took is still its",
    );
  });
});
