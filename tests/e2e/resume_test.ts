/**
 * End to end: the checkpoint, `--resume` and graceful shutdown, with the real CLI against the
 * in-process mock and a real PostgreSQL (or the embedded PGlite).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveMockApi } from "../../mock-api/server.ts";
import { openCheckpoint } from "../../src/store/checkpoint.ts";
import { checkpointPath } from "../../src/sync/state_dir.ts";
import { syncEntries, waitFor, waitForQuietLog } from "./_cli.ts";
import {
  assertEveryCampaignOnce,
  assertNo429,
  e2e,
  explain,
  FAST_MOCK,
  interruptedRun,
  logNote,
  ok,
  resumeToTheEnd,
  summaryOf,
} from "./_scenario.ts";

e2e("SIGINT stops the sync with exit 130, and --resume finishes the run", {}, async (s) => {
  const { runId, summary } = await interruptedRun(s, "SIGINT", 130);
  await resumeToTheEnd(s, runId, Number(summary.synced));
  assertNo429(s, s.mock.log, "the interrupted and resumed runs");
});

e2e("SIGTERM stops the sync with exit 143, and --resume finishes the run", {}, async (s) => {
  const { runId, summary } = await interruptedRun(s, "SIGTERM", 143);
  await resumeToTheEnd(s, runId, Number(summary.synced));
  assertNo429(s, s.mock.log, "the interrupted and resumed runs");
});

e2e(
  "Ctrl-C before any account started is one line, exit 130, and no run to resume",
  { embedded: true }, // no test database: the sync's own is the silent one below
  async (s) => {
    // A database that takes connections and never answers holds the sync in its setup.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    s.defer(async () => {
      for (const conn of held) conn.close();
      silent.close();
      await accepting.catch(() => {});
    });
    const { port } = silent.addr as Deno.NetAddr;
    const database = `postgres://adsync:pw@127.0.0.1:${port}/adsync`;
    const process = s.spawn(["--json"], { DATABASE_URL: database });
    await waitFor(() => held.length > 0, "the sync to reach its database", { process });
    process.child.kill("SIGINT");
    const stopped = await process.finished;
    assert.equal(stopped.code, 130, explain(stopped));
    const said = stopped.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
    assert.deepEqual(said, ["adsync: SIGINT: stopped before the run started; nothing to resume"]);
    assert.equal(stopped.stdout, "", "no summary of a run that never started");
    assert.equal(s.mock.log.length, 0, "no request was sent");
    const checkpoint = openCheckpoint(checkpointPath(s.stateDir));
    try {
      assert.deepEqual(await checkpoint.latestRuns(1), [], "no run was recorded");
    } finally {
      await checkpoint.close();
    }
  },
);

e2e(
  "A sync without --resume after an interrupted one says that --resume would continue it",
  {},
  async (s) => {
    const { runId } = await interruptedRun(s, "SIGINT", 130);
    const fresh = await s.run(["--json"]);
    assert.equal(fresh.code, 0, explain(fresh));
    assert.notEqual(summaryOf(fresh).run_id, runId, "a new run, as asked");
    assert.equal(
      logNote(fresh, /--resume continues/),
      `Starting a new run: run ${runId} of account default was interrupted; ` +
        "--resume continues it instead",
    );
  },
);

e2e(
  "--max-duration running out stops the sync with exit 75, and --resume finishes",
  {},
  async (s) => {
    const stopped = await s.run(["--json", "--max-duration", "2s"]);
    assert.equal(stopped.code, 75, explain(stopped));
    const summary = summaryOf(stopped);
    assert.equal(summary.status, "interrupted");
    assert.ok(Number(summary.synced) < Number(summary.campaigns_total), "the run was cut short");
    await resumeToTheEnd(s, String(summary.run_id), Number(summary.synced));
    assertNo429(s, s.mock.log, "the interrupted and resumed runs");
  },
);

e2e(
  "A second SIGINT cuts the requests in flight instead of waiting out the grace period",
  { mock: { campaigns: 40, syncDelayMs: 3_000, rateLimit: { count: 20, windowMs: 1_000 } } },
  async (s) => {
    // The request timeout outlasts the mock's 3 s syncs, so only the signals can cut them.
    const grace = {
      SYNC_SHUTDOWN_GRACE: "30s",
      AD_PLATFORM_REQUEST_TIMEOUT: "10s",
      AD_PLATFORM_PAGE_SIZE: "10",
    };
    const process = s.spawn(["--json"], grace);
    const { checkpoint, runId } = await s.watchCheckpoint(process);
    // Every page fetched and some syncs sent (the mock holds each for 3 s).
    await waitFor(
      async () => {
        const { pagesDone } = await checkpoint.progress(runId);
        const allPages = pagesDone === Math.ceil(s.campaigns / 10);
        return allPages && (await checkpoint.recentSends("default", 0)).length >= pagesDone + 5;
      },
      "sync requests on the wire",
      { process },
    );
    process.child.kill("SIGINT");
    await waitFor(
      () => /SIGINT: finishing requests in flight/.test(process.stderr()),
      "the first SIGINT to be acknowledged",
      { process },
    );
    const answeredAtExit = process.child.status.then(() =>
      syncEntries(s.mock.log).filter(ok).length
    );
    process.child.kill("SIGINT");
    const stopped = await process.finished;
    assert.equal(stopped.code, 130, explain(stopped));
    await waitForQuietLog(s.mock.log, 1_000);
    const started = syncEntries(s.mock.log).length;
    const answered = await answeredAtExit;
    assert.ok(
      answered < started,
      `the sync exited after all ${started} sync requests were answered (${answered}): ` +
        "the second SIGINT did not cut them",
    );
    assert.equal(summaryOf(stopped).status, "interrupted");
    await checkpoint.close();

    const resumed = await s.run(["--resume", "--json"], grace);
    assert.equal(resumed.code, 0, explain(resumed));
    const summary = summaryOf(resumed);
    assert.equal(summary.run_id, runId);
    assert.equal(summary.status, "ok");
    assert.equal(Number(summary.synced) + Number(summary.skipped), s.campaigns);
    await assertEveryCampaignOnce(s, summary);
  },
);

e2e(
  "An unreadable checkpoint is moved aside with a warning, and the sync starts afresh",
  { mock: { campaigns: 40 } },
  async (s) => {
    const garbage = crypto.getRandomValues(new Uint8Array(8_192));
    await Deno.writeFile(checkpointPath(s.stateDir), garbage);
    const outcome = await s.run(["--json"]);
    assert.equal(outcome.code, 0, explain(outcome));
    const summary = summaryOf(outcome);
    assert.equal(summary.status, "ok");
    await assertEveryCampaignOnce(s, summary);
    const warning = logNote(outcome, /moved it to/);
    const aside: string[] = [];
    for await (const entry of Deno.readDir(s.stateDir)) {
      if (entry.name.startsWith("checkpoint.sqlite.unreadable-")) aside.push(entry.name);
    }
    assert.equal(aside.length, 1, `expected one checkpoint moved aside, found [${aside}]`);
    assert.match(warning, new RegExp(aside[0]!.replaceAll(".", "\\.")));
    assert.deepEqual(await Deno.readFile(join(s.stateDir, aside[0]!)), garbage);
  },
);

e2e(
  "A checkpoint older than SYNC_RESUME_MAX_AGE is not resumed: the sync says why and starts anew",
  {},
  async (s) => {
    const { runId } = await interruptedRun(s, "SIGTERM", 143);
    const outcome = await s.run(["--resume", "--json"], { SYNC_RESUME_MAX_AGE: "1ms" });
    assert.equal(outcome.code, 0, explain(outcome));
    const why = logNote(outcome, new RegExp(`Not resuming run ${runId}`));
    assert.match(why, /old/);
    assert.match(why, /SYNC_RESUME_MAX_AGE/);
    const summary = summaryOf(outcome);
    assert.notEqual(summary.run_id, runId, "a new run starts");
    assert.equal(summary.status, "ok");
    assert.equal(summary.skipped, 0);
    assert.equal(summary.synced, s.campaigns);
    await assertEveryCampaignOnce(s, summary);
  },
);

e2e(
  "The note about a stale checkpoint states an age above the limit it names",
  { mock: { campaigns: 40 } },
  async (s) => {
    // A run left unfinished 40 minutes ago, against the same platform; the limit is 30 minutes.
    const fortyMinutesAgo = Date.now() - 40 * 60_000;
    const checkpoint = openCheckpoint(checkpointPath(s.stateDir), { now: () => fortyMinutesAgo });
    const stale = { runId: "20240101T000000Z-0000aaaa", account: "default", pageSize: 100 };
    checkpoint.createRun({ ...stale, apiUrl: s.mock.url, startedAt: fortyMinutesAgo });
    await checkpoint.close();
    const outcome = await s.run(["--resume", "--json"], { SYNC_RESUME_MAX_AGE: "30m" });
    assert.equal(outcome.code, 0, explain(outcome));
    assert.notEqual(summaryOf(outcome).run_id, stale.runId);
    const why = logNote(outcome, new RegExp(`Not resuming run ${stale.runId}`));
    assert.match(why, /its checkpoint is 40m0\ds old \(SYNC_RESUME_MAX_AGE is 30m00s\)/);
  },
);

e2e(
  "A checkpoint from another API URL is not resumed: the sync names the URL and starts anew",
  {},
  async (s) => {
    const { runId } = await interruptedRun(s, "SIGTERM", 143);
    const other = serveMockApi(FAST_MOCK);
    s.defer(() => other.close());
    const outcome = await s.run(["--resume", "--json"], {}, other.url);
    assert.equal(outcome.code, 0, explain(outcome));
    const why = logNote(outcome, new RegExp(`Not resuming run ${runId}`));
    assert.ok(why.includes(s.mock.url), `the note names the old URL: ${why}`);
    assert.ok(why.includes(other.url), `the note names the new URL: ${why}`);
    const summary = summaryOf(outcome);
    assert.notEqual(summary.run_id, runId, "a new run starts");
    assert.equal(summary.status, "ok");
    assert.equal(summary.synced, s.campaigns);
    await assertEveryCampaignOnce(s, summary);
  },
);

e2e(
  "A second sync on a state dir in use exits 1 with one line naming the running pid",
  { mock: { campaigns: 100, syncDelayMs: 2_000 } },
  async (s) => {
    const first = s.spawn(["--json"]);
    const lock = join(s.stateDir, "sync.lock");
    await waitFor(
      () => Deno.readTextFile(lock).then((text) => text.trim() === String(first.pid), () => false),
      "the first sync to hold the state dir",
      { process: first },
    );
    const second = await s.run(["--json"]);
    assert.equal(second.code, 1, explain(second));
    const lines = second.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line on stderr, got:\n${second.stderr}`);
    assert.match(lines[0]!, new RegExp(`running .*\\(pid ${first.pid}\\)`));
    assert.doesNotMatch(second.stderr, /^\s+at /m, "no stack trace");
    assert.equal(second.stdout, "");

    assert.ok(!first.exited(), "the first sync keeps running");
    first.child.kill("SIGTERM");
    const stopped = await first.finished;
    assert.equal(stopped.code, 143, explain(stopped));
    await assert.rejects(Deno.stat(lock), Deno.errors.NotFound, "the lock is released");
  },
);

e2e(
  "After a failed run and a later ok run, --resume starts afresh instead of resurrecting the failed one",
  { mock: { campaigns: 20 } },
  async (s) => {
    const failed = await s.run(["--json"], {
      AD_PLATFORM_PASSWORD: "wrong",
      SYNC_MAX_ATTEMPTS: "1",
    });
    assert.equal(failed.code, 1, explain(failed));
    const failedId = String(summaryOf(failed).run_id);
    const fine = await s.run(["--json"]);
    assert.equal(fine.code, 0, explain(fine));
    assert.doesNotMatch(fine.stderr, /left unfinished|pass --resume/, "no warning about old runs");
    const resumed = await s.run(["--json", "--resume"]);
    assert.equal(resumed.code, 0, explain(resumed));
    const summary = summaryOf(resumed);
    assert.notEqual(summary.run_id, failedId, "the failed run is not continued");
    assert.notEqual(summary.run_id, summaryOf(fine).run_id);
    assert.equal(summary.skipped, 0);
    logNote(resumed, /^Nothing to resume: account default has no run, or its latest run ended ok/);
  },
);
