import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { type Checkpoint, CheckpointError, openCheckpoint } from "../store/checkpoint.ts";
import { acquireRunLock } from "../store/run_lock.ts";

const log = getLogger(["adsync", "state"]);

/** The state dir of a running sync: its lock held and its checkpoint open. */
export interface StateDir {
  checkpoint: Checkpoint;
  /** Closes the checkpoint and releases the lock. */
  close(): void;
}

/** The checkpoint file inside a state dir. */
export function checkpointPath(stateDir: string): string {
  return join(stateDir, "checkpoint.sqlite");
}

/**
 * Creates the state dir if needed, takes its lock (one sync per state dir) and opens the
 * checkpoint. A checkpoint that cannot be read is moved aside, with a warning, and a fresh
 * one started: the data lives in PostgreSQL, so all that is lost is work to redo.
 */
export async function openStateDir(stateDir: string): Promise<StateDir> {
  await Deno.mkdir(stateDir, { recursive: true });
  const lock = acquireRunLock(stateDir);
  const path = checkpointPath(stateDir);
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(path);
  } catch (error) {
    if (!(error instanceof CheckpointError)) {
      lock.release();
      throw error;
    }
    const aside = `${path}.unreadable-${Date.now()}`;
    await Deno.rename(path, aside);
    for (const suffix of ["-wal", "-shm"]) {
      await Deno.rename(path + suffix, aside + suffix).catch(() => {});
    }
    log.warn("{reason}; moved it to {aside} and starting afresh", {
      reason: error.message,
      aside,
    });
    checkpoint = openCheckpoint(path);
  }
  return {
    checkpoint,
    close() {
      checkpoint.close();
      lock.release();
    },
  };
}
