import { getLogger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import { AuthError, errorCode, errorFields, errorMessage } from "../errors.ts";
import type { PlatformClient } from "../platform/platform_client.ts";
import type { Campaign, SyncedCampaign } from "../platform/schemas.ts";
import { type CampaignChange, countChanges, type Reject } from "../store/campaign_store.ts";
import type { Checkpoint, DoneOutcome } from "../store/checkpoint.ts";
import { createBatcher } from "./batcher.ts";
import type { PageAdditions, RefusedRecord } from "./catalog.ts";
import type { Tally } from "./tally.ts";

const log = getLogger(["adsync", "sync"]);

/** Where the pipeline's rows go: the account's table and its rejects. */
export interface CampaignSink {
  /** Commits the rows; resolves with what that changed in each campaign's row, by id. */
  upsert(rows: SyncedCampaign[]): Promise<ReadonlyMap<string, CampaignChange>>;
  reject(rejects: Reject[]): Promise<void>;
}

/** What one account's campaign pipeline works with. */
export interface PipelineJob {
  runId: string;
  account: string;
  client: Pick<PlatformClient, "syncCampaign">;
  sink: CampaignSink;
  checkpoint: Pick<Checkpoint, "markDone" | "recordSynced" | "markFailed">;
  /** Campaigns finished before a resume, as the checkpoint's `done()` tells them. */
  done: ReadonlyMap<string, DoneOutcome>;
  /** Campaigns synced at the platform but not committed, as `syncedPending()` tells them. */
  pendingSynced: ReadonlyMap<string, string>;
  tally: Tally;
}

/** Options for {@linkcode createPipeline}. */
export interface PipelineOptions {
  /** Campaign syncs in flight or waiting for a slot at once. @default 10 */
  concurrency?: number;
  /** Rows per upsert transaction at most. @default 100 */
  batchSize?: number;
  /** Longest a synced row waits for its transaction, in ms. @default 250 */
  batchWaitMs?: number;
  /** Timer source for batching. @default systemClock */
  clock?: Clock;
  /** Stops starting work: waits end, nothing new is sent. @default never */
  signal?: AbortSignal;
  /** Cuts requests already sent. @default signal */
  wireSignal?: AbortSignal;
  /** Called with what must end the run (credentials refused, database lost). @default no-op */
  onFatal?: (error: unknown) => void;
}

/** Takes each page's new campaigns to their committed rows. */
export interface Pipeline {
  /** Queues a page's campaigns and stores its rejects. */
  take(additions: PageAdditions): void;
  /** Waits until everything taken is committed, failed or left undone; rejects never. */
  drain(): Promise<void>;
}

/**
 * Creates the pipeline: a campaign done before a resume is skipped, one the platform already
 * synced goes straight to its commit, any other is synced at the platform (at most
 * `concurrency` at once), checkpointed, then upserted in batches; rejects are stored once.
 */
export function createPipeline(job: PipelineJob, options: PipelineOptions = {}): Pipeline {
  const { concurrency = 10, clock, signal, onFatal = () => {} } = options;
  const signals = { signal, wireSignal: options.wireSignal ?? signal };
  const { runId, account, client, sink, checkpoint, tally, done, pendingSynced } = job;
  // The rejects' writes; the syncs are pulled from `queue` by at most `concurrency` loops, so an
  // account waiting on its window holds its campaigns, not a task for each of them.
  const tasks: Promise<unknown>[] = [];
  const queue: Array<Campaign | undefined> = [];
  let next = 0;
  let loops = 0;
  let starting = 0;
  const stopped = () => signal?.aborted === true;

  /** A write that failed for good after a stop request is work left undone, not a fatal error. */
  const undoneAfterStop = (error: unknown, count: number) => {
    if (!stopped()) throw error;
    tally.leftUndone(count);
    log.warn("{error}", errorFields(error));
  };

  const batcher = createBatcher<SyncedCampaign>(async (rows) => {
    let changes: ReadonlyMap<string, CampaignChange>;
    try {
      changes = await sink.upsert(rows);
    } catch (error) {
      return undoneAfterStop(error, rows.length);
    }
    // Only after the commit: a campaign marked done is one whose row is in PostgreSQL. Its change
    // goes with it, so that a resume still counts what this commit changed.
    await checkpoint.markDone(runId, rows.map((row) => row.id), "synced", changes);
    tally.synced(rows.length);
    tally.changed(countChanges(changes.values()));
    log.debug("Committed {count} campaigns", { count: rows.length });
  }, { clock, maxSize: options.batchSize, maxWaitMs: options.batchWaitMs, onError: onFatal });

  async function storeRejects(rejects: RefusedRecord[]): Promise<void> {
    const fresh = rejects.filter((reject) => !done.has(reject.key));
    for (const reject of fresh) {
      log.warn("Rejected {key}: {reason}", { key: reject.key, reason: reject.reason });
    }
    if (fresh.length === 0) return;
    await sink.reject(fresh.map(({ key: _, ...reject }) => ({ runId, account, ...reject })));
    await checkpoint.markDone(runId, fresh.map((reject) => reject.key), "rejected");
  }

  async function syncOne(campaign: Campaign): Promise<void> {
    if (stopped()) return tally.leftUndone();
    let syncedAt: string;
    try {
      syncedAt = await client.syncCampaign(campaign.id, signals);
    } catch (error) {
      if (stopped()) return tally.leftUndone();
      if (error instanceof AuthError) {
        tally.leftUndone();
        return onFatal(error);
      }
      tally.failed();
      const reason = errorMessage(error);
      log.error("Cannot sync campaign {id}: {reason}", {
        id: campaign.id,
        reason,
        error_code: errorCode(error),
      });
      return await checkpoint.markFailed(runId, campaign.id, reason).catch(onFatal);
    }
    try {
      await checkpoint.recordSynced(runId, campaign.id, syncedAt);
    } catch (error) {
      // Committing the row is still right; a resume would only sync it at the platform again.
      log.warn("{error}", errorFields(error));
    }
    batcher.add({ ...campaign, synced_at: syncedAt });
  }

  /** Syncs queued campaigns until none is left; at most `concurrency` of these run at once. */
  async function syncQueued(): Promise<void> {
    // Its first sync starts in a later microtask, as a caller taking a page (the pager, while it
    // is being built) does not expect a sync to start within `take`.
    await Promise.resolve();
    starting--;
    try {
      while (next < queue.length) {
        if (stopped()) {
          // Everything still queued is left undone at once: ten thousand accounts stopped
          // together would otherwise each step through their queue a campaign at a time.
          tally.leftUndone(queue.length - next);
          next = queue.length;
          break;
        }
        const campaign = queue[next]!;
        queue[next++] = undefined;
        await syncOne(campaign);
      }
    } finally {
      loops--;
      if (next === queue.length) queue.length = next = 0;
    }
  }

  function startLoops(): void {
    // Each loop about to start will claim a campaign: start no more than are unclaimed.
    while (loops < concurrency && next + starting < queue.length) {
      loops++;
      starting++;
      tasks.push(syncQueued());
    }
  }

  return {
    take({ campaigns, rejects }) {
      if (rejects.length > 0) {
        tally.reject(rejects.length);
        tasks.push(
          storeRejects(rejects).catch((error) => {
            if (!stopped()) return onFatal(error);
            tally.pageUndone();
            log.warn("{error}", errorFields(error));
          }),
        );
      }
      for (const campaign of campaigns) {
        if (done.get(campaign.id) === "synced") {
          tally.skip();
          continue;
        }
        tally.queue();
        const syncedAt = pendingSynced.get(campaign.id);
        if (syncedAt !== undefined) batcher.add({ ...campaign, synced_at: syncedAt });
        else queue.push(campaign);
      }
      startLoops();
    },
    async drain() {
      for (let settled = 0; settled < tasks.length;) {
        const batch = tasks.slice(settled);
        await Promise.all(batch);
        settled += batch.length;
      }
      await batcher.drain().catch(onFatal);
    },
  };
}
