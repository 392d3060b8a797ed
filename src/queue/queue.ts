/**
 * The account-sync job queue: pg-boss in the `DATABASE_URL` server, its queues created with the
 * policy that keeps at most one job per account.
 */
import { getLogger } from "@logtape/logtape";
import { PgBoss } from "pg-boss";
import { errorMessage } from "../errors.ts";

const log = getLogger(["adsync", "queue"]);

/** The queue of account syncs: one job per account, keyed by its client id. */
export const SYNC_QUEUE = "adsync-account-sync";
/** The queue the schedule sends its ticks to; whoever takes a tick enqueues every account. */
export const TICK_QUEUE = "adsync-schedule-tick";
/** The PostgreSQL schema pg-boss keeps its tables in. */
export const QUEUE_SCHEMA = "pgboss";

/**
 * How often an account's job may be tried before it stays `failed`: a run that failed, a worker
 * killed under it. A job a stopping worker hands back does not count (see hand_back.ts).
 */
export const RETRY_LIMIT = 2;

/** A new queue's heartbeat when none is given. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

/** The data of an account-sync job. */
export interface SyncJobData {
  account: string;
}

/** Options of {@linkcode openQueue}. */
export interface QueueOptions {
  /**
   * A job whose worker has not sent a heartbeat for this long is retried elsewhere; given, it
   * also updates an existing queue's. @default 30_000 for a new queue, else the queue's own
   */
  heartbeatMs?: number;
  /** Connections pg-boss may hold. @default 4 */
  poolSize?: number;
  /** Whether this process supervises (fails silent jobs) and runs the schedule. @default true */
  supervise?: boolean;
  /** Shown in the server's connection list. @default "adsync" */
  applicationName?: string;
}

/**
 * Starts pg-boss on `url` (installing or migrating its schema under its own advisory lock) and
 * creates both queues if missing. The sync queue has policy `exclusive` with the account as
 * `singletonKey`: a unique index then admits one job per account in the states created, retry and
 * active together, so an account is never queued twice nor run by two workers at once.
 */
export async function openQueue(url: string, options: QueueOptions = {}): Promise<PgBoss> {
  const {
    heartbeatMs,
    poolSize = 4,
    supervise = true,
    applicationName = "adsync",
  } = options;
  const heartbeatSeconds = Math.round((heartbeatMs ?? DEFAULT_HEARTBEAT_MS) / 1_000);
  // A silent job is failed (and retried) once heartbeat + one supervise pass have gone by.
  const superviseSeconds = Math.max(1, Math.ceil(heartbeatSeconds / 5));
  const boss = new PgBoss({
    connectionString: url,
    schema: QUEUE_SCHEMA,
    max: poolSize,
    application_name: applicationName,
    supervise,
    schedule: supervise,
    superviseIntervalSeconds: superviseSeconds,
    monitorIntervalSeconds: superviseSeconds,
    cronMonitorIntervalSeconds: Math.min(superviseSeconds, 30),
    persistWarnings: false,
  });
  boss.on("error", createQueueErrorLog());
  await boss.start();
  try {
    await ensureQueue(boss, SYNC_QUEUE, heartbeatMs !== undefined, {
      policy: "exclusive",
      heartbeatSeconds,
      retryLimit: RETRY_LIMIT,
      retryDelay: 0,
      // A run that heartbeats is never cut by expiry: the longest a queue allows.
      expireInSeconds: 24 * 3_600,
    });
    await ensureQueue(boss, TICK_QUEUE, false, { policy: "short", retryLimit: 1, retryDelay: 5 });
  } catch (error) {
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    throw error;
  }
  return boss;
}

/** A burst of queue errors closer together than this is one outage: logged once. */
const QUIET_MS = 30_000;

/**
 * The handler of pg-boss's `error` events: during an outage pg-boss reports every failed poll,
 * heartbeat and maintenance pass (some as plain objects); one line per burst says it, with a
 * readable message, and the count of what was left unsaid goes with the next line.
 */
export function createQueueErrorLog(now: () => number = Date.now): (error: unknown) => void {
  let last = -Infinity;
  let unsaid = 0;
  return (error) => {
    const at = now();
    const quiet = at - last >= QUIET_MS;
    last = at;
    if (!quiet) {
      unsaid++;
      return;
    }
    log.warn(
      "Job queue: {error}; further queue errors are logged again once it has been quiet for {quiet} s",
      { error: queueErrorMessage(error), quiet: QUIET_MS / 1_000, unsaid },
    );
    unsaid = 0;
  };
}

/** pg-boss sometimes emits `{ ...error, message, stack }` rather than the Error itself. */
export function queueErrorMessage(error: unknown): string {
  if (error instanceof Error) return errorMessage(error);
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === "string" && message) return message.replace(/\s+/g, " ").trim();
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

async function ensureQueue(
  boss: PgBoss,
  name: string,
  updateHeartbeat: boolean,
  options: Parameters<PgBoss["createQueue"]>[1] & { heartbeatSeconds?: number },
): Promise<void> {
  const existing = await boss.getQueue(name);
  if (!existing) {
    try {
      await boss.createQueue(name, options);
    } catch (error) {
      // Another worker created it between our look and our create.
      if (!await boss.getQueue(name)) throw error;
    }
    return;
  }
  // The heartbeat may change between deployments; the policy never does.
  if (updateHeartbeat && existing.heartbeatSeconds !== options.heartbeatSeconds) {
    await boss.updateQueue(name, { heartbeatSeconds: options.heartbeatSeconds });
  }
}
