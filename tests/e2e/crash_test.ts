/**
 * End to end: a sync killed with SIGKILL mid-run, then resumed, with the real CLI against the
 * in-process mock and a real PostgreSQL (or the embedded PGlite).
 */
import assert from "node:assert/strict";
import type { MockRequestLogEntry } from "../../mock-api/server.ts";
import { pageEntries, syncEntries, waitFor, waitForQuietLog } from "./_cli.ts";
import {
  assertNo429,
  e2e,
  explain,
  ok,
  resumeToTheEnd,
  type ScenarioOptions,
  startAndWaitForCommits,
} from "./_scenario.ts";

/** The sync's default concurrency with a limit of 10 requests per window. */
const CONCURRENCY = 10;

/**
 * Registers the kill -9 test: the first run is killed from inside the mock, as it answers the
 * fifth sync after 15 campaigns are committed, so that answer is never delivered and the
 * requests of the same wave are in flight.
 */
function killNineTest(name: string, options: ScenarioOptions): void {
  let onAnswer: ((entry: MockRequestLogEntry) => void) | undefined;
  const mock = { ...options.mock, onRequest: (entry: MockRequestLogEntry) => onAnswer?.(entry) };
  e2e(name, { ...options, mock }, async (s) => {
    const { process, checkpoint, runId } = await startAndWaitForCommits(s, 15);
    let killIndex: number | undefined;
    let answers = 0;
    onAnswer = (entry) => {
      if (entry.campaignId === undefined || entry.status !== 200 || ++answers < 5) return;
      onAnswer = undefined;
      process.child.kill("SIGKILL");
      killIndex = s.mock.log.length;
    };
    const at = await waitFor(() => killIndex, "five more syncs answered", { process });
    const killed = await process.finished;
    assert.equal(killed.signal, "SIGKILL", explain(killed));
    // What the dead run left at the mock ends (answered or released) before the resume starts.
    await waitForQuietLog(s.mock.log, 1_000);
    const firstRun = s.mock.log.slice();
    const recorded = new Set([
      ...(await checkpoint.done(runId)).keys(),
      ...(await checkpoint.syncedPending(runId)).keys(),
    ]);
    const savedPages = new Set((await checkpoint.pages(runId)).map((page) => page.page));
    await checkpoint.close();

    await resumeToTheEnd(s, runId);

    const resumedRun = s.mock.log.slice(firstRun.length);
    const fetchedBeforeKill = new Set(
      pageEntries(firstRun.slice(0, at)).filter(ok).map((e) => e.page),
    );
    const refetched = pageEntries(resumedRun).map((e) => e.page!)
      .filter((page) => fetchedBeforeKill.has(page) || savedPages.has(page));
    assert.deepEqual(refetched, [], "pages fetched before the kill were requested again");

    // In flight at the kill: syncs the mock received from the first run whose answer that run
    // had not recorded in its checkpoint (cut, held, or answered but not yet processed).
    const inFlight = new Set(
      syncEntries(firstRun).map((e) => e.campaignId!).filter((id) => !recorded.has(id)),
    );
    const syncedBefore = new Set(syncEntries(firstRun).filter(ok).map((e) => e.campaignId!));
    const syncedTwice = syncEntries(resumedRun).filter(ok).map((e) => e.campaignId!)
      .filter((id) => syncedBefore.has(id));
    const details = `in flight at the kill: [${[...inFlight]}]; synced twice: [${syncedTwice}]`;
    assert.ok(inFlight.size > 0, `the answer the kill cut off counts as in flight; ${details}`);
    assert.ok(inFlight.size <= CONCURRENCY, `more than ${CONCURRENCY} in flight; ${details}`);
    assert.deepEqual(
      syncedTwice.filter((id) => !inFlight.has(id)),
      [],
      `campaigns recorded in the checkpoint were synced again; ${details}`,
    );
    assert.ok(syncedTwice.length <= inFlight.size, details);
    assertNo429(s, s.mock.log.slice(at), "the resumed run");
  });
}

killNineTest(
  "kill -9 mid-run costs at most the requests in flight: --resume finishes every campaign once (server)",
  {},
);

killNineTest(
  "kill -9 mid-run costs at most the requests in flight: --resume finishes every campaign once (embedded PGlite)",
  { embedded: true },
);
