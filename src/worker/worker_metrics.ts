import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../errors.ts";
import { type MetricsSnapshot, renderMetrics, writeMetricsFile } from "../report/metrics.ts";

const log = getLogger(["adsync", "worker"]);

/**
 * Renders the metrics file of a worker: the latest run of every account this worker ran, each
 * series labelled with the `worker` as well as the `account`, so the files of several workers
 * can be collected side by side.
 */
export function renderWorkerMetrics(worker: string, accounts: readonly MetricsSnapshot[]): string {
  const label = `worker="${worker.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  return renderMetrics(accounts).split("\n").map((line) => {
    if (line === "" || line.startsWith("#")) return line;
    const brace = line.indexOf("{");
    return brace < 0
      ? line.replace(" ", `{${label}} `)
      : `${line.slice(0, brace + 1)}${label},${line.slice(brace + 1)}`;
  }).join("\n");
}

/** Keeps the latest snapshot per account and rewrites the worker's metrics file after each job. */
export function createWorkerMetrics(worker: string, path: string | undefined) {
  const latest = new Map<string, MetricsSnapshot>();
  let writing = Promise.resolve();
  return {
    /** Records an account's finished run and rewrites the file (one write at a time). */
    record(snapshot: MetricsSnapshot): Promise<void> {
      const previous = latest.get(snapshot.account);
      latest.set(snapshot.account, {
        ...snapshot,
        lastSuccessUnix: snapshot.lastSuccessUnix ?? previous?.lastSuccessUnix ?? null,
      });
      if (!path) return Promise.resolve();
      const text = renderWorkerMetrics(worker, [...latest.values()]);
      writing = writing.then(() => writeMetricsFile(path, text)).catch((error) =>
        log.error("Cannot write the metrics file {path}: {error}", {
          path,
          error: errorMessage(error),
        })
      );
      return writing;
    },
  };
}
