/**
 * Keeps a worker's places busy when it takes jobs in batches (see `fetchPlan` in
 * worker_capacity.ts): a place whose run ends takes the next queued job at once, instead of idling
 * until the last run of its batch ends: a job that ends early (a page 1 that kept failing, an
 * account handed back) would leave its place empty for up to a whole run, and its retry would wait
 * as long for a loop to fetch it.
 * @module
 */
import type { PgBoss } from "pg-boss";
import { SYNC_QUEUE, type SyncJobData } from "../queue/queue.ts";
import type { AccountJob } from "./account_job.ts";

/** A job as the queue hands it out: its id and the try it is on. */
export interface RefillJob {
  id: string;
  retryCount: number;
  /** Aborted once the job is no longer this worker's (its heartbeat found the claim gone). */
  signal: AbortSignal;
}

/** What a refill reads from the queue, and how it keeps the jobs it took. */
export interface RefillSource<J> {
  /** Takes up to `n` queued jobs, as the queue's own loops would; none once the worker stops. */
  take(n: number): Promise<Omit<J, "signal">[]>;
  /**
   * Refreshes the heartbeat of `jobs` in one statement; returns the ids still this worker's, or
   * undefined when it cannot tell (nothing is then taken as lost).
   */
  touch(jobs: readonly Omit<J, "signal">[]): Promise<readonly string[] | undefined>;
  /** Called with an error of `take` or `touch`; the place idles, the heartbeat beats again. */
  onError(error: unknown): void;
}

/** Options for {@linkcode createRefill}. */
export interface RefillOptions {
  /**
   * How often the jobs taken are heartbeated, in ms: half the queue's heartbeat, as the queue
   * does for the jobs it hands out itself.
   */
  heartbeatMs: number;
}

/** The refill of one worker, shared by all its batches. */
export interface Refill<J extends RefillJob> {
  /**
   * Runs `jobs` (a batch the queue handed out) and, each time a run that drove its account ends,
   * the next queued job in its place. `run` resolves whether the job drove its account: a place
   * whose job did not (its account driven elsewhere, say) takes no more, or it would cycle through
   * queued jobs it cannot run, a few statements each, as fast as the database answers. Ends once
   * every run has ended, rejecting with the first failure then. A job it took whose run fails is
   * left to the queue's heartbeat check, which retries it.
   */
  runBatch(jobs: readonly J[], run: (job: J) => Promise<boolean>): Promise<undefined>;
  /** Jobs taken by the refill and still running. */
  readonly taken: number;
}

/**
 * Creates a refill. Requests for jobs that arrive while a take is on its way are gathered into the
 * next one: one statement for many freed places, one at a time. The jobs taken are heartbeated
 * together, one statement a beat for the whole worker.
 */
export function createRefill<J extends RefillJob>(
  source: RefillSource<J>,
  options: RefillOptions,
): Refill<J> {
  // Keyed by the job handed to the run, not its id: a job handed back may be taken again by
  // another place before the run that handed it back has let it go.
  const held = new Map<J, { job: Omit<J, "signal">; claim: AbortController }>();
  let beat: ReturnType<typeof setInterval> | undefined;
  let wanted: Array<(job: J | undefined) => void> = [];
  let taking = false;

  async function takeWanted(): Promise<void> {
    taking = true;
    while (wanted.length > 0) {
      const waiting = wanted;
      wanted = [];
      let jobs: Omit<J, "signal">[] = [];
      try {
        jobs = await source.take(waiting.length);
      } catch (error) {
        source.onError(error);
      }
      waiting.forEach((give, i) => give(jobs[i] === undefined ? undefined : hold(jobs[i]!)));
    }
    taking = false;
  }

  function next(): Promise<J | undefined> {
    return new Promise((resolve) => {
      wanted.push(resolve);
      if (!taking) void takeWanted();
    });
  }

  function hold(job: Omit<J, "signal">): J {
    const claim = new AbortController();
    const taken = { ...job, signal: claim.signal } as J;
    held.set(taken, { job, claim });
    beat ??= setInterval(heartbeat, options.heartbeatMs);
    return taken;
  }

  function release(job: J): void {
    if (!held.delete(job) || held.size > 0 || beat === undefined) return;
    clearInterval(beat);
    beat = undefined;
  }

  async function heartbeat(): Promise<void> {
    const entries = [...held.values()];
    if (entries.length === 0) return;
    let still: readonly string[] | undefined;
    try {
      still = await source.touch(entries.map((entry) => entry.job));
    } catch (error) {
      return source.onError(error);
    }
    if (still === undefined) return;
    const refreshed = new Set(still);
    for (const { job, claim } of entries) {
      if (!refreshed.has(job.id)) claim.abort(new Error(`job ${job.id} is no longer held`));
    }
  }

  return {
    async runBatch(jobs, run) {
      const failures: unknown[] = [];
      const place = async (first: J): Promise<void> => {
        for (let job: J | undefined = first; job !== undefined; job = await next()) {
          let drove = false;
          try {
            drove = await run(job);
          } catch (error) {
            failures.push(error);
          } finally {
            if (job !== first) release(job);
          }
          if (!drove) return;
        }
      };
      await Promise.all(jobs.map(place));
      if (failures.length > 0) throw failures[0];
      return undefined;
    },
    get taken() {
      return held.size;
    },
  };
}

/**
 * The account-sync queue as a refill's source: takes with pg-boss's own fetch (its policy and
 * singleton keys apply), none once `stop` has aborted; heartbeats with its `touch`, fenced to the
 * tries taken; errors go to pg-boss's `error` event, logged as the queue's own.
 */
export function queueRefillSource(boss: PgBoss, stop: AbortSignal): RefillSource<AccountJob> {
  return {
    take: async (n) =>
      stop.aborted
        ? []
        : await boss.fetch<SyncJobData>(SYNC_QUEUE, { batchSize: n, includeMetadata: true }),
    // The ids refreshed, as pg-boss's own heartbeat reads them (not in its declared type).
    touch: async (jobs) =>
      ((await boss.touch(SYNC_QUEUE, [...jobs])) as { settled?: string[] }).settled,
    onError: (error) => boss.emit("error", error as Error),
  };
}
