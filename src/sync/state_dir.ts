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

/** Options of {@linkcode openStateDir}. */
export interface StateDirOptions {
  /**
   * Whether the embedded database lives here: its `pgdata` dir is then created private.
   * @default true
   */
  embeddedDatabase?: boolean;
}

/** Owner-only modes: the state dir holds campaign data, raw payloads and the database. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** The checkpoint file inside a state dir. */
export function checkpointPath(stateDir: string): string {
  return join(stateDir, "checkpoint.sqlite");
}

/**
 * Creates the state dir if needed, takes its lock (one sync per state dir) and opens the
 * checkpoint. A checkpoint that cannot be read is moved aside, with a warning, and a fresh
 * one started: the data lives in PostgreSQL, so all that is lost is work to redo.
 *
 * The dir and the embedded database's `pgdata` are made 0700 (an existing one tightened), the
 * checkpoint files 0600: what they hold is nobody else's business.
 */
export async function openStateDir(
  stateDir: string,
  options: StateDirOptions = {},
): Promise<StateDir> {
  const { embeddedDatabase = true } = options;
  await makePrivateDir(stateDir);
  if (embeddedDatabase) await makePrivateDir(join(stateDir, "pgdata"));
  const lock = acquireRunLock(stateDir);
  const path = checkpointPath(stateDir);
  let checkpoint: Checkpoint;
  try {
    checkpoint = openPrivateCheckpoint(path);
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
    checkpoint = openPrivateCheckpoint(path);
  }
  return {
    checkpoint,
    close() {
      checkpoint.close();
      lock.release();
    },
  };
}

/** Creates a dir owner-only, or tightens an existing one to that. */
async function makePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: DIR_MODE });
  await restrict(path, DIR_MODE);
}

/**
 * Opens the checkpoint with its files owner-only. The file is created 0600 before SQLite opens
 * it, so the journal files SQLite creates take that mode too; existing ones are tightened.
 */
function openPrivateCheckpoint(path: string): Checkpoint {
  Deno.openSync(path, { create: true, write: true, mode: FILE_MODE }).close();
  const checkpoint = openCheckpoint(path);
  for (const file of [path, `${path}-wal`, `${path}-shm`]) restrictSync(file, FILE_MODE);
  return checkpoint;
}

async function restrict(path: string, mode: number): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    await Deno.chmod(path, mode);
  } catch (error) {
    warnNotPrivate(path, error);
  }
}

function restrictSync(path: string, mode: number): void {
  if (Deno.build.os === "windows") return;
  try {
    Deno.chmodSync(path, mode);
  } catch (error) {
    warnNotPrivate(path, error);
  }
}

function warnNotPrivate(path: string, error: unknown): void {
  if (error instanceof Deno.errors.NotFound) return;
  // Someone else's dir (a shared mount, say): the run can go on, the operator should know.
  log.warn("Cannot make {path} private ({reason}); others may be able to read it", {
    path,
    reason: error instanceof Error ? error.message : String(error),
  });
}
