import assert from "node:assert/strict";
import postgres from "postgres";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { openQueue, SYNC_QUEUE, type SyncJobData } from "../../src/queue/queue.ts";
import {
  createRefill,
  queueRefillSource,
  type RefillJob,
  type RefillSource,
} from "../../src/worker/refill.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

interface TestJob extends RefillJob {
  name: string;
}

function job(name: string): TestJob {
  return { id: name, name, retryCount: 0, signal: new AbortController().signal };
}

/** A queue whose takes and touches the test answers; it records what was asked. */
function testSource(options: {
  /** The queued jobs, taken in order (unless `take` says otherwise). */
  queued?: Omit<TestJob, "signal">[];
  take?: (n: number) => Promise<Omit<TestJob, "signal">[]>;
  touch?: (jobs: readonly Omit<TestJob, "signal">[]) => Promise<readonly string[] | undefined>;
} = {}) {
  const takes: number[] = [];
  const touches: string[][] = [];
  const errors: unknown[] = [];
  const source: RefillSource<TestJob> = {
    take: (n) => {
      takes.push(n);
      return options.take?.(n) ?? Promise.resolve(options.queued?.splice(0, n) ?? []);
    },
    touch: (jobs) => {
      touches.push(jobs.map((j) => j.id));
      return options.touch?.(jobs) ?? Promise.resolve(jobs.map((j) => j.id));
    },
    onError: (error) => errors.push(error),
  };
  return { source, takes, touches, errors };
}

/** Runs that end when the test says, recording which started. */
function controlledRuns() {
  const started: string[] = [];
  const ends = new Map<string, PromiseWithResolvers<boolean>>();
  const end = (name: string) => ends.get(name)!;
  return {
    started,
    run: (j: TestJob) => {
      started.push(j.name);
      const ended = Promise.withResolvers<boolean>();
      ends.set(j.name, ended);
      return ended.promise;
    },
    /** The run drove its account and ended. */
    end: (name: string) => end(name).resolve(true),
    /** The run never drove its account (another process held it). */
    refuse: (name: string) => end(name).resolve(false),
    fail: (name: string, error: Error) => end(name).reject(error),
  };
}

/** A refill running the batch of jobs "a" and "b", with `queued` waiting in the queue. */
function batchOfTwo(queued: Omit<TestJob, "signal">[]) {
  const { source, takes } = testSource({ queued });
  const refill = createRefill(source, { heartbeatMs: 60_000 });
  const runs = controlledRuns();
  let ended = false;
  const batch = refill.runBatch([job("a"), job("b")], runs.run).finally(() => ended = true);
  return { refill, runs, takes, batch, ended: () => ended };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(check(), what);
}

Deno.test("A place whose run ends takes the next queued job while the rest of its batch runs", async () => {
  const queued = [job("c")];
  const { refill, runs, takes, batch, ended } = batchOfTwo(queued);
  runs.end("a");
  await until("c started in a's place", () => runs.started.includes("c"));
  assert.deepEqual(runs.started, ["a", "b", "c"]);
  assert.equal(refill.taken, 1);
  runs.end("b");
  runs.end("c");
  assert.equal(await batch, undefined);
  assert.ok(ended());
  assert.equal(refill.taken, 0);
  assert.deepEqual(takes, [1, 1, 1], "each freed place asked once; the queue was then empty");
});

Deno.test("A batch ends only when its last run ends, failing then with the first failure", async () => {
  const { source } = testSource();
  const refill = createRefill(source, { heartbeatMs: 60_000 });
  const runs = controlledRuns();
  const failure = new Error("first");
  let ended = false;
  const batch = refill.runBatch([job("a"), job("b"), job("c")], runs.run)
    .finally(() => ended = true);
  batch.catch(() => {});
  runs.fail("a", failure);
  runs.fail("c", new Error("second"));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(ended, false, "a run of the batch still holds its place");
  runs.end("b");
  await assert.rejects(batch, (error) => error === failure);
});

Deno.test("Places freed while a take is on its way share the next take", async () => {
  const first = Promise.withResolvers<Omit<TestJob, "signal">[]>();
  const queued = [job("d"), job("e")];
  let calls = 0;
  const { source, takes } = testSource({
    take: (n) => ++calls === 1 ? first.promise : Promise.resolve(queued.splice(0, n)),
  });
  const refill = createRefill(source, { heartbeatMs: 60_000 });
  const runs = controlledRuns();
  const batch = refill.runBatch([job("a"), job("b"), job("c")], runs.run);
  runs.end("a");
  await until("a's place asked", () => takes.length === 1);
  runs.end("b");
  runs.end("c");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(takes, [1], "one take at a time");
  first.resolve([]);
  await until("d and e started", () => runs.started.includes("e"));
  assert.deepEqual(takes.slice(0, 2), [1, 2], "b's and c's places in one take");
  runs.end("d");
  runs.end("e");
  await batch;
});

Deno.test("Jobs taken are heartbeated together, and one no longer held has its signal aborted", async () => {
  const queued = [job("c"), job("d")];
  const { source, touches } = testSource({
    queued,
    touch: (jobs) => Promise.resolve(jobs.map((j) => j.id).filter((id) => id !== "d")),
  });
  const refill = createRefill(source, { heartbeatMs: 5 });
  const signals = new Map<string, AbortSignal>();
  const runs = controlledRuns();
  const batch = refill.runBatch([job("a"), job("b")], (j) => {
    signals.set(j.name, j.signal);
    return runs.run(j);
  });
  runs.end("a");
  runs.end("b");
  await until("c and d started", () => runs.started.includes("d"));
  await until("d's claim found gone", () => signals.get("d")!.aborted);
  assert.equal(signals.get("c")!.aborted, false);
  assert.ok(
    touches.some((ids) => ids.length === 2 && ids.includes("c") && ids.includes("d")),
    "both in one statement",
  );
  runs.end("c");
  runs.end("d");
  await batch;
  assert.equal(
    refill.taken,
    0,
    "the heartbeat stopped with the last job taken (else a timer leaks)",
  );
});

Deno.test("A job handed back and taken again by another place before its first run let it go stays heartbeated", async () => {
  const queued = [job("x"), { ...job("x"), name: "x again", retryCount: 1 }];
  const { source, touches } = testSource({ queued });
  const refill = createRefill(source, { heartbeatMs: 5 });
  const runs = controlledRuns();
  const batch = refill.runBatch([job("a"), job("b")], runs.run);
  runs.end("a");
  await until("x taken in a's place", () => runs.started.includes("x"));
  runs.end("b");
  await until("x taken again in b's place", () => runs.started.includes("x again"));
  runs.end("x");
  await until("x's first run let it go", () => refill.taken === 1);
  const after = touches.length;
  await until("a heartbeat after that", () => touches.length > after);
  assert.deepEqual(touches.at(-1), ["x"], "the second try still heartbeated");
  runs.end("x again");
  await batch;
});

Deno.test("A place whose job did not drive its account takes no more until its batch ends", async () => {
  const queued = [job("x"), job("y"), job("z")];
  const { runs, takes, batch, ended } = batchOfTwo(queued);
  runs.end("a");
  await until("x taken in a's place", () => runs.started.includes("x"));
  runs.refuse("x"); // its account is driven elsewhere: the place stops there
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(takes, [1], "no take after the refused job");
  assert.equal(ended(), false);
  runs.refuse("b");
  await batch;
  assert.deepEqual(runs.started, ["a", "b", "x"]);
  assert.deepEqual(queued.map((j) => j.name), ["y", "z"], "left queued");
});

Deno.test("A take that fails leaves the place idle and reports the error", async () => {
  const down = new Error("database down");
  const { source, errors } = testSource({ take: () => Promise.reject(down) });
  const refill = createRefill(source, { heartbeatMs: 60_000 });
  const runs = controlledRuns();
  const batch = refill.runBatch([job("a")], runs.run);
  runs.end("a");
  assert.equal(await batch, undefined);
  assert.deepEqual(errors, [down]);
});

Deno.test("A place of a real worker takes the account queued next, heartbeats it, and takes none once stopped", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2, heartbeatMs: 10_000 });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await enqueueAccounts(boss, ["acme", "globex", "initech"]);
      const [first] = await boss.fetch<SyncJobData>(SYNC_QUEUE, { includeMetadata: true });
      const stop = new AbortController();
      const refill = createRefill(queueRefillSource(boss, stop.signal), { heartbeatMs: 20 });
      const heartbeatOf = async (id: string) =>
        (await sql<{ at: Date | null }[]>`
          select heartbeat_on as at from pgboss.job where id = ${id}`)[0]!.at;
      const ran: string[] = [];
      await refill.runBatch([{ ...first!, signal: new AbortController().signal }], async (job) => {
        ran.push(job.data.account);
        if (job.id === first!.id) return true;
        // The job taken is this worker's, and its heartbeat is refreshed while it runs.
        const before = await heartbeatOf(job.id);
        for (
          let i = 0;
          i < 500 && (await heartbeatOf(job.id))?.getTime() === before?.getTime();
          i++
        ) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.notEqual((await heartbeatOf(job.id))?.getTime(), before?.getTime(), "heartbeated");
        assert.equal(job.signal.aborted, false, "still held");
        await boss.complete(SYNC_QUEUE, job.id);
        stop.abort(); // the worker stops: the place takes nothing more
        return true;
      });
      assert.equal(
        ran.length,
        2,
        "the first job, then one taken in its place; none after the stop",
      );
      assert.equal(ran[0], first!.data.account);
      const [left] = await sql<{ n: number }[]>`
        select count(*)::int as n from pgboss.job where name = ${SYNC_QUEUE} and state = 'created'`;
      assert.equal(left!.n, 1, "the third account still queued");
      assert.equal(refill.taken, 0);
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
});
