/**
 * End to end: a stop request lets the sync requests already on the wire finish, and keeps their
 * answers, so `--resume` never sends them again.
 */
import assert from "node:assert/strict";
import type { MockRequestLogEntry } from "../../mock-api/server.ts";
import { waitFor } from "./_cli.ts";
import { e2e, explain, resumeToTheEnd, startAndWaitForCommits, summaryOf } from "./_scenario.ts";

const isSync = (entry: MockRequestLogEntry) => entry.campaignId !== undefined;

e2e(
  "SIGTERM keeps the sync answers that arrive within the grace period; --resume sends none again",
  { mock: { syncDelayMs: 800, rateLimit: { count: 10, windowMs: 1_000 } } },
  async (s) => {
    const { process, checkpoint, runId } = await startAndWaitForCommits(s, 10);
    // Wait for sends the mock has not answered yet: syncs on the wire (the limiter records each
    // send in the checkpoint before it leaves).
    const answered = () => s.mock.log.filter((e) => e.path.startsWith("/api/")).length;
    await waitFor(
      () => checkpoint.recentSends("default", 0).length > answered() + 3,
      "syncs on the wire",
      { process, intervalMs: 10 },
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // let them reach the mock
    const stoppedAt = Date.now();
    process.child.kill("SIGTERM");
    const stopped = await process.finished;
    assert.equal(stopped.code, 143, explain(stopped));
    assert.equal(summaryOf(stopped).status, "interrupted");

    // The scenario is only worth something if syncs were on the wire when the stop came.
    const inFlight = s.mock.log.filter((entry) =>
      isSync(entry) && entry.status === 200 && entry.at - entry.latencyMs < stoppedAt &&
      entry.at > stoppedAt
    );
    assert.ok(inFlight.length > 0, "some syncs were answered after the stop");

    await resumeToTheEnd(s, runId);
    const answers = new Map<string, number>();
    for (const entry of s.mock.log.filter((e) => isSync(e) && e.status === 200)) {
      answers.set(entry.campaignId!, (answers.get(entry.campaignId!) ?? 0) + 1);
    }
    const twice = [...answers].filter(([, count]) => count > 1).map(([id]) => id);
    assert.deepEqual(twice, [], "campaigns synced at the platform more than once");
    assert.equal(answers.size, s.campaigns);
  },
);
