import { formatDuration } from "../duration.ts";
import type { Checkpoint, RunRecord } from "../store/checkpoint.ts";

/** What the sync should do with the checkpoint's unfinished runs. */
export type RunChoice =
  | { kind: "resume"; run: RunRecord }
  | { kind: "new"; note?: string };

/** What must match for a run to be resumed. */
export interface RunSelectionOptions {
  resume: boolean;
  account: string;
  apiUrl: string;
  pageSize: number;
  /** Oldest last write of a checkpoint that may be resumed, in ms. */
  maxAgeMs: number;
  now: number;
}

/**
 * Picks the run to continue with `--resume`, or explains why a new one starts: a checkpoint
 * too old, from another API URL or page size, or (without `--resume`) left behind unfinished.
 */
export async function chooseRun(
  checkpoint: Pick<Checkpoint, "latestUnfinished" | "latestRuns">,
  options: RunSelectionOptions,
): Promise<RunChoice> {
  const { resume, account, apiUrl, pageSize, maxAgeMs, now } = options;
  const unfinished = await checkpoint.latestUnfinished(account);
  if (!resume) {
    if (!unfinished) return { kind: "new" };
    return {
      kind: "new",
      note: `Starting a new run; run ${unfinished.runId} (${unfinished.status}) is left ` +
        `unfinished: pass --resume to continue it instead`,
    };
  }
  if (!unfinished) {
    const other = (await checkpoint.latestRuns(1))[0];
    const why = other && other.account !== account && other.status !== "ok"
      ? `the latest unfinished run (${other.runId}) belongs to account ${other.account}`
      : `no unfinished run of account ${account}`;
    return { kind: "new", note: `Nothing to resume: ${why}; starting a new run` };
  }
  const reason = unfinished.apiUrl !== apiUrl
    ? `it synced from ${unfinished.apiUrl}, not ${apiUrl}`
    : unfinished.pageSize !== pageSize
    ? `it used page size ${unfinished.pageSize}, not ${pageSize}`
    : now - unfinished.updatedAt > maxAgeMs
    ? `its checkpoint is ${formatDuration(now - unfinished.updatedAt)} old ` +
      `(SYNC_RESUME_MAX_AGE is ${formatDuration(maxAgeMs)})`
    : undefined;
  if (reason) {
    return {
      kind: "new",
      note: `Not resuming run ${unfinished.runId}: ${reason}; starting a new run`,
    };
  }
  return { kind: "resume", run: unfinished };
}

/** A new run id: sortable by start time, unique enough for one state dir. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${crypto.randomUUID().slice(0, 8)}`;
}
