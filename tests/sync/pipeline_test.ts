import assert from "node:assert/strict";
import type { Campaign } from "../../src/platform/schemas.ts";
import type { CampaignChange } from "../../src/store/campaign_store.ts";
import { createPipeline } from "../../src/sync/pipeline.ts";
import { createTally } from "../../src/sync/tally.ts";
import { settle } from "../_fake_clock.ts";

const campaign = (n: number): Campaign => ({
  id: `campaign_${n}`,
  name: `Campaign ${n}`,
  status: "active",
  budget: 100,
  impressions: 1,
  clicks: 1,
  conversions: 0,
  created_at: "2026-01-01T00:00:00Z",
});

/** A pipeline over `client` that commits every row as inserted and checkpoints nothing. */
function pipelineOver(
  client: Parameters<typeof createPipeline>[0]["client"],
  options: Parameters<typeof createPipeline>[1],
) {
  const tally = createTally();
  const pipeline = createPipeline({
    runId: "run",
    account: "acme",
    client,
    sink: {
      upsert: (rows) => Promise.resolve(new Map(rows.map((row) => [row.id, "inserted" as const]))),
      reject: () => Promise.resolve(),
    },
    checkpoint: {
      markDone: () => Promise.resolve(),
      recordSynced: () => Promise.resolve(),
      markFailed: () => Promise.resolve(),
    },
    done: new Map(),
    pendingSynced: new Map(),
    tally,
  }, { batchWaitMs: 0, ...options });
  return { tally, pipeline };
}

/** A pipeline over a client whose syncs are answered one by one, by `answers`. */
function held(options: Parameters<typeof createPipeline>[1]) {
  const asked: string[] = [];
  const answers: Array<() => void> = [];
  const inFlight = { now: 0, most: 0 };
  const { tally, pipeline } = pipelineOver({
    syncCampaign: (id) => {
      asked.push(id);
      inFlight.most = Math.max(inFlight.most, ++inFlight.now);
      return new Promise((resolve) =>
        answers.push(() => (inFlight.now--, resolve("2026-01-01T00:00:00Z")))
      );
    },
  }, options);
  return { asked, answers, inFlight, tally, pipeline };
}

Deno.test("Pipeline leaves a queued sync undone when a stop comes, and sends nothing more", async () => {
  const stop = new AbortController();
  const { asked, answers, tally, pipeline } = held({ concurrency: 1, signal: stop.signal });
  pipeline.take({ campaigns: [campaign(1), campaign(2)], rejects: [] });
  await settle();
  assert.deepEqual(asked, ["campaign_1"], "one at a time: the second is queued");
  stop.abort(new Error("stop"));
  answers.shift()!();
  await pipeline.drain();
  assert.deepEqual(asked, ["campaign_1"]);
  const { synced, undone } = tally.snapshot();
  assert.deepEqual({ synced, undone }, { synced: 1, undone: 1 });
});

Deno.test("Pipeline leaves every queued sync undone once when a stop comes, however many loops run", async () => {
  const stop = new AbortController();
  const { asked, answers, tally, pipeline } = held({ concurrency: 2, signal: stop.signal });
  pipeline.take({ campaigns: [1, 2, 3, 4, 5, 6, 7].map(campaign), rejects: [] });
  await settle();
  assert.deepEqual(asked, ["campaign_1", "campaign_2"]);
  stop.abort(new Error("stop"));
  answers.shift()!();
  answers.shift()!();
  await pipeline.drain();
  assert.deepEqual(asked, ["campaign_1", "campaign_2"]);
  const { synced, undone, queued } = tally.snapshot();
  assert.deepEqual({ synced, undone, queued }, { synced: 2, undone: 5, queued: 0 });
});

Deno.test("Pipeline counts what each commit changed and checkpoints it with the campaigns", async () => {
  const changes: Record<string, CampaignChange> = {
    campaign_1: "inserted",
    campaign_2: "updated",
    campaign_3: "unchanged",
    campaign_4: "unchanged",
  };
  const marked: Array<[string, string, CampaignChange | undefined]> = [];
  const tally = createTally();
  const pipeline = createPipeline({
    runId: "run",
    account: "acme",
    client: { syncCampaign: () => Promise.resolve("2026-01-01T00:00:00Z") },
    sink: {
      upsert: (rows) => Promise.resolve(new Map(rows.map((row) => [row.id, changes[row.id]!]))),
      reject: () => Promise.resolve(),
    },
    checkpoint: {
      markDone: (_run, ids, outcome, committed) => {
        for (const id of ids) marked.push([id, outcome, committed?.get(id)]);
        return Promise.resolve();
      },
      recordSynced: () => Promise.resolve(),
      markFailed: () => Promise.resolve(),
    },
    done: new Map(),
    pendingSynced: new Map(),
    tally,
  }, { batchWaitMs: 0 });
  pipeline.take({ campaigns: [1, 2, 3, 4].map(campaign), rejects: [] });
  await pipeline.drain();
  const { synced, inserted, updated, unchanged } = tally.snapshot();
  assert.deepEqual({ synced, inserted, updated, unchanged }, {
    synced: 4,
    inserted: 1,
    updated: 1,
    unchanged: 2,
  });
  assert.deepEqual(
    marked.toSorted(([a], [b]) => a.localeCompare(b)),
    Object.entries(changes).map(([id, change]) => [id, "synced", change]),
  );
});

Deno.test("Pipeline syncs at most `concurrency` campaigns at once, in the order taken, every one of them", async () => {
  const { asked, answers, inFlight, tally, pipeline } = held({ concurrency: 3 });
  pipeline.take({ campaigns: [1, 2, 3, 4, 5].map(campaign), rejects: [] });
  await settle();
  pipeline.take({ campaigns: [6, 7].map(campaign), rejects: [] }); // a later page
  await settle();
  assert.equal(asked.length, 3);
  while (answers.length > 0) {
    answers.shift()!();
    await settle();
  }
  await pipeline.drain();
  assert.deepEqual(asked, [1, 2, 3, 4, 5, 6, 7].map((n) => `campaign_${n}`));
  assert.equal(inFlight.most, 3);
  assert.equal(tally.snapshot().synced, 7);
});

Deno.test("Pipeline starts no sync within take: the pager calls it while it is being built", async () => {
  const { asked, answers, pipeline } = held({ concurrency: 2 });
  pipeline.take({ campaigns: [campaign(1)], rejects: [] });
  assert.deepEqual(asked, [], "nothing asked before take returned");
  await settle();
  assert.deepEqual(asked, ["campaign_1"]);
  answers.shift()!();
  await pipeline.drain();
});
