import { getLogger } from "@logtape/logtape";
import { errorFields } from "../errors.ts";
import { type LiveAccount, liveFromProgress, type LiveMetrics } from "../report/live_metrics.ts";
import { addRuns, renderMetrics, writeMetricsFile } from "../report/metrics.ts";
import type { AccountOutcome } from "../run_summary.ts";
import type { ProgressSnapshot } from "../report/progress.ts";

const log = getLogger(["adsync", "worker"]);

/**
 * Renders the metrics file of a worker: the latest run of every account this worker ran, each
 * series labelled with the `worker` as well as the `account`, so the files of several workers
 * can be collected side by side.
 */
export function renderWorkerMetrics(
  worker: string,
  accounts: readonly AccountOutcome[],
): Promise<string> {
  return renderMetrics(accounts, { labels: { worker } });
}

/** A job's account while it runs, as the worker's live metrics follow it. */
export interface TrackedJob {
  /** Receives the job's run once chosen, to read its progress. */
  follow(run: { progress(): ProgressSnapshot | undefined }): void;
  /** The job has ended, whatever its outcome. */
  end(): void;
}

/** What a worker knows of its runs, for its metrics file and its live endpoint. */
export interface WorkerMetrics {
  /** Records an account's finished run and rewrites the file (one write at a time). */
  record(snapshot: AccountOutcome): Promise<void>;
  /** Follows a job from its start to its end. */
  track(): TrackedJob;
  /** The latest run of every account this worker ran. */
  runs(): AccountOutcome[];
  /** Every run of each account since the worker started, added up. */
  totals(): AccountOutcome[];
  /** The jobs in progress, added up. */
  live(): Omit<LiveMetrics, "queue">;
}

/**
 * Keeps the latest snapshot per account, rewrites the worker's metrics file after each job (when
 * `path` is set), and follows the jobs in progress.
 */
export function createWorkerMetrics(worker: string, path: string | undefined): WorkerMetrics {
  const latest = new Map<string, AccountOutcome>();
  const totals = new Map<string, AccountOutcome>();
  const running = new Set<LiveAccount>();
  let writing = Promise.resolve();
  return {
    record(snapshot) {
      totals.set(snapshot.account, addRuns(totals.get(snapshot.account), snapshot));
      const previous = latest.get(snapshot.account);
      latest.set(snapshot.account, {
        ...snapshot,
        lastSuccessUnix: snapshot.lastSuccessUnix ?? previous?.lastSuccessUnix ?? null,
      });
      if (!path) return Promise.resolve();
      const accounts = [...latest.values()];
      writing = writing.then(async () =>
        writeMetricsFile(path, await renderWorkerMetrics(worker, accounts))
      ).catch((error) =>
        log.error("Cannot write the metrics file {path}: {error}", {
          path,
          ...errorFields(error),
        })
      );
      return writing;
    },
    track() {
      const job: LiveAccount = { running: true };
      running.add(job);
      return {
        follow: (run) => void (job.snapshot = () => run.progress()),
        end: () => running.delete(job),
      };
    },
    runs: () => [...latest.values()],
    totals: () => [...totals.values()],
    live: () => liveFromProgress(running),
  };
}
