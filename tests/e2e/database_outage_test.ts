/**
 * End to end: a PostgreSQL server that freezes (SIGSTOP) or goes away for a while under a running
 * sync. Each test starts its own throwaway server, so that it can stop and restart it.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { checkpointPath } from "../../src/sync/state_dir.ts";
import { type PostgresServer, startPostgres } from "../_pg_server.ts";
import {
  lastJsonLine,
  logRecords,
  removeDir,
  spawnSync,
  syncEnv,
  type SyncProcess,
  tempStateDir,
  waitFor,
} from "./_cli.ts";
import { explain, FAST_MOCK, openCheckpointOnceMade } from "./_scenario.ts";

const CAMPAIGNS = 100;

interface Outage {
  server: PostgresServer;
  mock: ServedMockApi;
  stateDir: string;
  env: Record<string, string>;
  spawn(args: string[]): SyncProcess;
  /** Waits until the run has committed `count` campaigns, by its checkpoint. */
  committed(
    process: SyncProcess,
    count: number,
  ): Promise<{ runId: string; pending(): Promise<number>; pendingIds(): Promise<string[]> }>;
  /** Rows and distinct ids in `campaigns`. */
  counts(): Promise<{ rows: number; ids: number }>;
}

/** A private server, the mock (100 campaigns, 10 requests a second) and a state dir. */
async function withOutage(fn: (o: Outage) => Promise<void>): Promise<void> {
  const server = await startPostgres();
  const mock = serveMockApi({ ...FAST_MOCK, campaigns: CAMPAIGNS });
  const stateDir = await tempStateDir();
  const processes: SyncProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  const env = syncEnv({
    apiUrl: mock.url,
    stateDir,
    databaseUrl: server.url,
    rateLimit: "10/1000ms",
    extra: { SYNC_SHUTDOWN_GRACE: "2s" },
  });
  try {
    await fn({
      server,
      mock,
      stateDir,
      env,
      spawn(args) {
        const process = spawnSync(env, args);
        processes.push(process);
        return process;
      },
      async committed(process, count) {
        const checkpoint = await waitFor(
          () => openCheckpointOnceMade(checkpointPath(stateDir)),
          "the checkpoint",
          { process },
        );
        closers.push(() => checkpoint.close());
        const runId = await waitFor(
          async () => (await checkpoint.latestRuns(1))[0]?.runId,
          "a run in the checkpoint",
          { process },
        );
        await waitFor(
          async () => (await checkpoint.progress(runId)).synced >= count,
          `${count} campaigns committed`,
          { process },
        );
        return {
          runId,
          pending: async () => (await checkpoint.syncedPending(runId)).size,
          pendingIds: async () => [...(await checkpoint.syncedPending(runId)).keys()],
        };
      },
      async counts() {
        const sql = postgres(server.url, { max: 1, onnotice: () => {} });
        try {
          const [row] = await sql<{ rows: number; ids: number }[]>`
            select count(*)::int as rows, count(distinct id)::int as ids from campaigns`;
          return { rows: row!.rows, ids: row!.ids };
        } finally {
          await sql.end();
        }
      },
    });
  } finally {
    for (const process of processes) {
      if (!process.exited()) process.child.kill("SIGKILL");
      await process.finished;
    }
    for (const close of closers) await close();
    await mock.close();
    await server.remove();
    await removeDir(stateDir);
  }
}

/** Resolves with the outcome, or with undefined if the process is still running after `ms`. */
async function exitWithin(process: SyncProcess, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([process.finished, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function resumeToTheEnd(o: Outage, runId: string): Promise<void> {
  const resumed = await o.spawn(["--resume", "--json"]).finished;
  assert.equal(resumed.code, 0, explain(resumed));
  const summary = lastJsonLine(resumed.stdout);
  assert.equal(summary.run_id, runId);
  assert.equal(summary.status, "ok");
  assert.equal(Number(summary.synced) + Number(summary.skipped), CAMPAIGNS);
  assert.deepEqual(await o.counts(), { rows: CAMPAIGNS, ids: CAMPAIGNS });
}

Deno.test("SIGTERM ends a sync whose database froze within the grace period, and --resume finishes", async () => {
  await withOutage(async (o) => {
    const process = o.spawn(["--json"]);
    const { runId, pending } = await o.committed(process, 10);
    await o.server.signal("SIGSTOP");
    // Campaigns synced at the platform while their rows cannot be committed.
    await waitFor(async () => (await pending()) >= 3, "rows waiting for the frozen database", {
      process,
    });
    process.child.kill("SIGTERM");
    // Grace 2 s + closing bound 5 s; far below the 30 s deadline of one database operation,
    // so only the stop request can have ended it.
    const stopped = await exitWithin(process, 20_000);
    assert.ok(stopped, `the sync still runs 20 s after SIGTERM:\n${process.stderr()}`);
    assert.equal(stopped.code, 143, explain(stopped));
    assert.equal(lastJsonLine(stopped.stdout).status, "interrupted");
    await o.server.signal("SIGCONT");
    await resumeToTheEnd(o, runId);
  });
});

Deno.test("A sync that PostgreSQL holds past every bound exits on a third SIGTERM, and --resume commits the campaigns it had synced without syncing them again", async () => {
  await withOutage(async (o) => {
    const process = o.spawn(["--json"]);
    const { runId, pending, pendingIds } = await o.committed(process, 10);
    await o.server.signal("SIGSTOP");
    await waitFor(async () => (await pending()) >= 3, "rows waiting for the frozen database", {
      process,
    });
    // The last resort: the third signal exits at once, whatever still waits on the database.
    for (let i = 0; i < 3; i++) {
      process.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const stopped = await process.finished;
    assert.equal(stopped.code, 143, explain(stopped));
    assert.match(stopped.stderr, /PostgreSQL did not answer in time/);
    const unsaved = await pendingIds();
    assert.ok(unsaved.length >= 3, `pending: ${unsaved}`);
    // Thawed, the server may still commit the rows the sync had sent: unknown to the checkpoint.
    await o.server.signal("SIGCONT");
    const resumed = await o.spawn(["--resume", "--json"]).finished;
    assert.equal(resumed.code, 0, explain(resumed));
    const summary = lastJsonLine(resumed.stdout);
    assert.deepEqual([summary.run_id, summary.status], [runId, "ok"]);
    assert.deepEqual(await o.counts(), { rows: CAMPAIGNS, ids: CAMPAIGNS });
    const answered = new Map<string, number>();
    for (const entry of o.mock.log) {
      if (entry.status !== 200 || !entry.path.endsWith("/sync")) continue;
      answered.set(entry.campaignId!, (answered.get(entry.campaignId!) ?? 0) + 1);
    }
    assert.deepEqual(
      unsaved.filter((id) => answered.get(id) !== 1),
      [],
      "a campaign synced before the exit is synced at the platform once",
    );
  });
});

Deno.test("A sync rides out a database restart of a few seconds and stores every campaign once", async () => {
  await withOutage(async (o) => {
    const process = o.spawn(["--json"]);
    await o.committed(process, 10);
    await o.server.stop({ mode: "fast" });
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // the outage lasts 3 s
    await o.server.start();
    const outcome = await process.finished;
    assert.equal(outcome.code, 0, explain(outcome));
    const summary = lastJsonLine(outcome.stdout);
    assert.equal(summary.status, "ok");
    assert.equal(summary.synced, CAMPAIGNS);
    assert.deepEqual(await o.counts(), { rows: CAMPAIGNS, ids: CAMPAIGNS });
    const retried = logRecords(outcome.stderr).filter((r) =>
      /^Cannot write \d+ campaigns to PostgreSQL at 127\.0\.0\.1:\d+\/postgres .*retrying/.test(
        String(r.message),
      )
    );
    assert.ok(retried.length > 0, `no write met the outage:\n${outcome.stderr}`);
  });
});

Deno.test("A database down past the outage bound fails the run resumably, and --resume finishes", async () => {
  await withOutage(async (o) => {
    const process = spawnSync({ ...o.env, SYNC_DATABASE_OUTAGE: "2s" }, ["--json"]);
    const { runId } = await o.committed(process, 10);
    await o.server.stop({ mode: "fast" });
    const outcome = await process.finished;
    assert.equal(outcome.code, 1, explain(outcome));
    const summary = lastJsonLine(outcome.stdout);
    assert.equal(summary.status, "failed");
    assert.ok(Number(summary.synced) < CAMPAIGNS);
    const line = new RegExp(
      `^adsync: (account default: )?Cannot write \\d+ campaigns to PostgreSQL at ` +
        `127\\.0\\.0\\.1:${o.server.port}/postgres: the database is unreachable \\(.*; ` +
        "retried for 2 s\\); the work done is kept in the checkpoint: --resume continues$",
      "m",
    );
    assert.match(outcome.stderr, line);
    await o.server.start();
    await resumeToTheEnd(o, runId);
  });
});
