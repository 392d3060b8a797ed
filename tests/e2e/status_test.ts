/**
 * End to end: `status` tells one truth per account from the database it is pointed at (local
 * runs, worker runs, queue state), a worker names an account missing from its file, and a
 * database `status` cannot read is an error; with the real CLI, a real PostgreSQL and the mock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { logRecords, spawnSync, tempStateDir, waitFor } from "./_cli.ts";
import { e2e, explain, type Scenario } from "./_scenario.ts";

type Row = Record<string, unknown>;

async function status(s: Scenario, env: Record<string, string>): Promise<Row[]> {
  const outcome = await spawnSync(s.env(env), ["--json"], "status").finished;
  assert.equal(outcome.code, 0, explain(outcome));
  return JSON.parse(outcome.stdout.trim().split("\n").at(-1)!);
}

const pick = (rows: Row[], account: string) => {
  const row = rows.find((r) => r.account === account);
  assert.ok(row, `${account} is in status: ${JSON.stringify(rows)}`);
  return [row.status, row.source, row.queue_state];
};

async function accountsFile(s: Scenario, name: string, ids: string[]): Promise<string> {
  const path = join(s.stateDir, name);
  await Deno.writeTextFile(
    path,
    JSON.stringify({ accounts: ids.map((id) => ({ client_id: id })) }),
  );
  return path;
}

e2e(
  "status shows each account once: queued ones, a worker's run over an older local one; a worker names an account its file lacks",
  { mock: { campaigns: 20 } },
  async (s) => {
    const both = { SYNC_ACCOUNTS_FILE: await accountsFile(s, "both.json", ["acme", "globex"]) };
    const failed = await s.run(["--account", "acme"], { ...both, AD_PLATFORM_PASSWORD: "wrong" });
    assert.equal(failed.code, 1, explain(failed));
    const enqueued = await spawnSync(s.env(both), [], "enqueue").finished;
    assert.equal(enqueued.code, 0, explain(enqueued));

    const before = await status(s, both);
    assert.deepEqual(pick(before, "acme"), ["failed", "sync", "queued"]);
    assert.deepEqual(pick(before, "globex"), ["never run", null, "queued"]);

    const onlyAcme = await accountsFile(s, "acme.json", ["acme"]);
    const worker = spawnSync(
      s.env({ SYNC_ACCOUNTS_FILE: onlyAcme, SYNC_WORKER_ID: "w1" }),
      [],
      "worker",
    );
    s.defer(async () => {
      if (!worker.exited()) worker.child.kill("SIGKILL");
      await worker.finished;
    });
    const messages = () => logRecords(worker.stderr()).map((r) => String(r.message));
    await waitFor(
      () =>
        messages().some((m) => /^Job \S+ ended ok: account acme/.test(m)) &&
        messages().some((m) =>
          m.includes(`account globex is not in the accounts file ${onlyAcme}`)
        ),
      "the worker to run acme and name globex as missing from its file",
      { process: worker },
    );
    worker.child.kill("SIGTERM");
    assert.equal((await worker.finished).code, 0);

    const after = await status(s, both);
    assert.deepEqual(pick(after, "acme"), ["ok", "worker", "done"], "the newer worker run wins");
    const [globexStatus, , globexQueue] = pick(after, "globex");
    assert.equal(globexStatus, "never run");
    assert.match(String(globexQueue), /^(retrying|failed|queued)$/);
    const table = await spawnSync(s.env(both), [], "status").finished;
    assert.match(table.stdout, /^acme\s+ok\s+worker\s+done\s/m);
    assert.match(
      table.stdout,
      /^Runs from sync: .*checkpoint\.sqlite; worker, sync_runs and queue: PostgreSQL at /m,
    );
  },
);

e2e("status exits 1 with one line when it may not read the database", {}, async (s) => {
  const synced = await s.run(["--json"]);
  assert.equal(synced.code, 0, explain(synced));
  // From another state dir, the database's sync_runs is where the run is known.
  const elsewhereOk = await tempStateDir();
  s.defer(() => Deno.remove(elsewhereOk, { recursive: true }));
  const seen = await status(s, { SYNC_STATE_DIR: elsewhereOk });
  assert.deepEqual(seen.map((r) => [r.account, r.status, r.source, r.run_id]), [
    ["default", "ok", "sync_runs", JSON.parse(synced.stdout.trim().split("\n").at(-1)!).run_id],
  ]);
  const role = `adsync_reader_${crypto.randomUUID().slice(0, 8)}`;
  await s.db!.sql.unsafe(`create role ${role} login`);
  s.defer(() => s.db!.sql.unsafe(`drop role if exists ${role}`).then(() => {}));
  const url = new URL(s.db!.url);
  url.username = role;
  url.password = "";
  const elsewhere = await tempStateDir(); // no local checkpoint: the server is the only source
  s.defer(() => Deno.remove(elsewhere, { recursive: true }));
  const env = { ...s.env(), DATABASE_URL: url.href, SYNC_STATE_DIR: elsewhere };
  const outcome = await spawnSync(env, [], "status").finished;
  assert.equal(outcome.code, 1, explain(outcome));
  assert.equal(outcome.stdout, "");
  assert.match(outcome.stderr, /^adsync: .*permission denied.*\n$/);
});
