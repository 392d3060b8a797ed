import type { PgBoss } from "pg-boss";
import { SYNC_QUEUE } from "./queue.ts";

/** The job a worker holds, as pg-boss fetched it with its metadata. */
export interface HeldJob {
  id: string;
  retryCount: number;
  retryLimit: number;
}

/**
 * Gives a job back to the queue without spending one of its tries: fails this attempt (fenced,
 * so a job another worker already took over is left alone), then makes the retry due after
 * `delayMs` and raises its retry limit by the try just spent. Used by a stopping worker (due at
 * once, for another worker) and by one that finds the account's lock taken.
 */
export async function handBack(
  boss: PgBoss,
  job: HeldJob,
  reason: string,
  delayMs = 0,
): Promise<void> {
  const failed = await boss.fail(SYNC_QUEUE, { id: job.id, retryCount: job.retryCount }, {
    handedBack: reason,
  }) as { affected?: number };
  if (failed.affected === 0) return; // no longer ours: taken over, settled or cancelled
  await boss.update(SYNC_QUEUE, undefined, {
    id: job.id,
    retryLimit: job.retryLimit + 1,
    startAfter: new Date(Date.now() + delayMs),
  });
}
