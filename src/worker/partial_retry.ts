/**
 * Whether a worker gives a partial run's account back to the queue for a later try instead of
 * completing its job: campaigns that failed (the platform away, say) are mended by a later try
 * of the same run, which resumes from its checkpoint, without waiting for an `enqueue` or the
 * next schedule tick. Rejected records are not retried: their data would be refused again.
 */
import type { SyncSummary } from "../run_summary.ts";

/** A job whose run ends partial is handed back while it was handed back fewer times than this. */
export const PARTIAL_HAND_BACKS = 5;
/** The longest a partial run's account stays away before its next try, in ms. */
export const PARTIAL_BACKOFF_CAP_MS = 30 * 60_000;

/** What the decision needs besides the run's summary. */
export interface PartialRetryContext {
  /** The account's rate-limit window, in ms: the first wait, which also lets the window drain. */
  windowMs: number;
  /** Times the job was handed back before, for whatever reason (its tries not spent). */
  handBacks: number;
}

/** How to settle a job after its run ended. */
export type RunSettlement =
  /** Complete the job with its summary: nothing a later try would mend. */
  | { kind: "complete" }
  /** Hand the job back, due after `delayMs`, for its failed campaigns. */
  | { kind: "hand back"; delayMs: number; reason: string }
  /** Complete it although campaigns failed: the hand-backs are spent. */
  | { kind: "give up"; reason: string };

/**
 * Settles a run that ended `ok` or `partial`: a partial run with failed campaigns is handed back
 * for a window doubling with each hand-back of the job (up to {@linkcode PARTIAL_BACKOFF_CAP_MS}),
 * until the job was handed back {@linkcode PARTIAL_HAND_BACKS} times; then it completes as
 * partial. Every hand-back counts towards the bound, so a job never comes back forever.
 */
export function settleFinishedRun(
  summary: Pick<SyncSummary, "status" | "failed">,
  context: PartialRetryContext,
): RunSettlement {
  if (summary.status !== "partial" || summary.failed === 0) return { kind: "complete" };
  const { windowMs, handBacks } = context;
  const campaigns = `${summary.failed} campaign${summary.failed === 1 ? "" : "s"} failed`;
  if (handBacks >= PARTIAL_HAND_BACKS) {
    return {
      kind: "give up",
      reason: `${campaigns} after ${handBacks} hand-backs; the next enqueue or schedule tick ` +
        "resumes them",
    };
  }
  const delayMs = Math.min(PARTIAL_BACKOFF_CAP_MS, windowMs * 2 ** Math.min(20, handBacks));
  return {
    kind: "hand back",
    delayMs,
    reason: `run partial (${campaigns}); trying them again in ${seconds(delayMs)}`,
  };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
