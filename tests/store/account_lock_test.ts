import assert from "node:assert/strict";
import postgres from "postgres";
import { accountLockHolders, tryLockAccount } from "../../src/store/account_lock.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "./_helpers.ts";

/** Two independent pools on one fresh database: two workers, as far as the server can tell. */
async function withTwoWorkers(
  fn: (one: postgres.Sql, two: postgres.Sql) => Promise<void>,
): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const one = postgres(url, { max: 3, onnotice: () => {} });
    const two = postgres(url, { max: 3, onnotice: () => {} });
    try {
      await fn(one, two);
    } finally {
      await Promise.all([one.end({ timeout: 1 }), two.end({ timeout: 1 })]);
    }
  });
}

Deno.test("tryLockAccount lets one worker drive an account and refuses the other", async () => {
  await withTwoWorkers(async (one, two) => {
    const lock = await tryLockAccount(one, "acme", { holder: "adsync worker w1" });
    assert.ok(lock);
    assert.equal(await tryLockAccount(two, "acme"), undefined);
    const other = await tryLockAccount(two, "globex");
    assert.ok(other, "another account is free");
    await lock.release();
    const taken = await tryLockAccount(two, "acme");
    assert.ok(taken, "free again once released");
    await taken.release();
    await other.release();
  });
});

Deno.test("An account's lock goes when its holder's connection drops, as on kill -9", async () => {
  await withTwoWorkers(async (one, two) => {
    const lock = await tryLockAccount(one, "acme", { holder: "adsync worker doomed" });
    assert.ok(lock);
    await two`select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'adsync worker doomed'`;
    const taken = await tryLockAccount(two, "acme");
    assert.ok(taken, "the server released the dead connection's lock");
    await taken.release();
  });
});

Deno.test("accountLockHolders names the worker holding each locked account", async () => {
  await withTwoWorkers(async (one, two) => {
    const lock = await tryLockAccount(one, "acme", { holder: "adsync worker w1" });
    const holders = await accountLockHolders(two, ["acme", "globex"]);
    assert.deepEqual([...holders], [["acme", "adsync worker w1"]]);
    await lock!.release();
    assert.deepEqual([...await accountLockHolders(two, ["acme"])], []);
  });
});
