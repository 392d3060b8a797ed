import type { Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { enqueueAccounts, type EnqueueResult } from "../queue/enqueue.ts";
import { openQueue } from "../queue/queue.ts";

/**
 * Queues one sync job per account of `config.accounts` (the accounts file's enabled ones, or
 * those `--account` picks) in the `DATABASE_URL` server's queue; an account whose job is
 * already queued, retrying or running is skipped. Workers pick the jobs up.
 */
export async function runEnqueueCommand(config: Readonly<Config>): Promise<EnqueueResult> {
  if (config.databaseUrl === undefined) {
    throw new ConfigError("DATABASE_URL", "is required for enqueue: the queue lives in a server");
  }
  // Only a client: supervision and the schedule are the workers' business.
  const boss = await openQueue(config.databaseUrl, {
    poolSize: 2,
    supervise: false,
    applicationName: "adsync enqueue",
  });
  try {
    return await enqueueAccounts(boss, config.accounts.map((account) => account.clientId));
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
}

/**
 * A word of caution when `enqueue` has no accounts file: it queues the environment's account,
 * which a worker runs only if its own accounts file lists it (or it has none either).
 */
export function enqueueWarning(config: Readonly<Config>): string | undefined {
  if (config.accountsFile !== undefined) return undefined;
  return `adsync: SYNC_ACCOUNTS_FILE is unset: queueing the environment's account ` +
    `'${config.clientId}'; workers run it only if their accounts file lists it`;
}

/** The lines `enqueue` prints: what it queued and what it skipped, or one JSON object. */
export function formatEnqueueResult(result: EnqueueResult, json: boolean): string {
  if (json) return JSON.stringify(result);
  const lines = [`Queued ${result.queued.length}: ${result.queued.join(", ") || "none"}`];
  if (result.skipped.length > 0) {
    lines.push(
      `Skipped ${result.skipped.length} (already queued, retrying or running): ` +
        result.skipped.join(", "),
    );
  }
  return lines.join("\n");
}
