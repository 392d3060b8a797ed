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
 * Picks the run to continue with `--resume`: the account's latest run, only if it is unfinished
 * (an older one is superseded by whatever ran after it). Says why when a resume asked for does
 * not happen: nothing unfinished, or a checkpoint too old, from another API URL or page size.
 * Without `--resume` a new run starts, silently.
 */
export async function chooseRun(
  checkpoint: Pick<Checkpoint, "latestUnfinished">,
  options: RunSelectionOptions,
): Promise<RunChoice> {
  const { resume, account, apiUrl, pageSize, maxAgeMs, now } = options;
  if (!resume) return { kind: "new" };
  const unfinished = await checkpoint.latestUnfinished(account);
  if (!unfinished) {
    return {
      kind: "new",
      note: `Nothing to resume: account ${account} has no run, or its latest run ended ok; ` +
        "starting a new run",
    };
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
