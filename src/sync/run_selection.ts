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
 * Without `--resume` a new run starts; its note says so when the latest run was stopped or
 * crashed and `--resume` could continue it (a failed or partial one is no news).
 */
export async function chooseRun(
  checkpoint: Pick<Checkpoint, "latestUnfinished">,
  options: RunSelectionOptions,
): Promise<RunChoice> {
  const { resume, account } = options;
  const unfinished = await checkpoint.latestUnfinished(account);
  if (!resume) {
    const stopped = unfinished && STOPPED.includes(unfinished.status);
    if (!stopped || notResumable(unfinished, options)) return { kind: "new" };
    const how = unfinished.status === "running" ? "stopped without finishing" : "was interrupted";
    return {
      kind: "new",
      note: `Starting a new run: run ${unfinished.runId} of account ${account} ${how}; ` +
        "--resume continues it instead",
    };
  }
  if (!unfinished) {
    return {
      kind: "new",
      note: `Nothing to resume: account ${account} has no run, or its latest run ended ok; ` +
        "starting a new run",
    };
  }
  const reason = notResumable(unfinished, options);
  if (reason) {
    return {
      kind: "new",
      note: `Not resuming run ${unfinished.runId}: ${reason}; starting a new run`,
    };
  }
  return { kind: "resume", run: unfinished };
}

/** The statuses of a run a stop signal or a crash left: `running` is what a crash leaves. */
const STOPPED: readonly RunRecord["status"][] = ["interrupted", "running"];

/** Why `--resume` may not continue `run`, or undefined when it may. */
function notResumable(run: RunRecord, options: RunSelectionOptions): string | undefined {
  const { apiUrl, pageSize, maxAgeMs, now } = options;
  return run.apiUrl !== apiUrl
    ? `it synced from ${run.apiUrl}, not ${apiUrl}`
    : run.pageSize !== pageSize
    ? `it used page size ${run.pageSize}, not ${pageSize}`
    : now - run.updatedAt > maxAgeMs
    ? `its checkpoint is ${formatDuration(now - run.updatedAt)} old ` +
      `(SYNC_RESUME_MAX_AGE is ${formatDuration(maxAgeMs)})`
    : undefined;
}

/** A new run id: sortable by start time, unique enough for one state dir. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${crypto.randomUUID().slice(0, 8)}`;
}
