import type { PgBoss } from "pg-boss";
import { SYNC_QUEUE, type SyncJobData } from "./queue.ts";

/** What {@linkcode enqueueAccounts} did, account by account, in the order given. */
export interface EnqueueResult {
  /** Accounts that got a new job. */
  queued: string[];
  /** Accounts left alone: a job of theirs is already queued, retrying or running. */
  skipped: string[];
}

/**
 * Queues one sync job per account, keyed by its client id. The queue's `exclusive` policy refuses
 * a second job while one of the account's is queued, retrying or running (pg-boss then returns no
 * id), so calling this twice, or from two places at once, never queues an account twice.
 */
export async function enqueueAccounts(
  boss: PgBoss,
  accounts: readonly string[],
): Promise<EnqueueResult> {
  const result: EnqueueResult = { queued: [], skipped: [] };
  for (const account of accounts) {
    const data: SyncJobData = { account };
    const id = await boss.send(SYNC_QUEUE, data, { singletonKey: account });
    (id ? result.queued : result.skipped).push(account);
  }
  return result;
}
