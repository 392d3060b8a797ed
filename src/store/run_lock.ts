import { join } from "node:path";
import { CheckpointError } from "./checkpoint.ts";

/**
 * Takes the state dir's exclusive sync lock, or throws CheckpointError if a live sync holds it.
 *
 * The lock file holds the owner's pid for the message, but liveness comes from an OS file lock
 * (flock) held while the sync runs: the kernel drops it when the owner dies, even on kill -9.
 * Probing `/proc/<pid>` instead would need `--allow-all` in Deno, which the sync does not have.
 * The lock file is created 0600 (and a dead sync's tightened to it), like all state.
 */
export function acquireRunLock(stateDir: string): { release(): void } {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, "sync.lock");
  // A retry happens only if the file was replaced between our open and our lock.
  for (let attempt = 0; attempt < 3; attempt++) {
    const file = openLockFile(stateDir, path);
    let locked = false;
    try {
      locked = file.tryLockSync(true);
      if (!locked) {
        const holder = readPid(path);
        throw new CheckpointError(
          `Another adsync sync is running on ${stateDir} (pid ${holder ?? "unknown"})`,
        );
      }
      // A release (or takeover) may have unlinked the file we opened; lock the current one.
      if (!sameFile(file, path)) {
        file.close();
        continue;
      }
      // Taking over a file left by a dead sync: replace its pid with ours, and its mode.
      if (Deno.build.os !== "windows") Deno.chmodSync(path, 0o600);
      file.truncateSync(0);
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    } catch (error) {
      file.close();
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError(`Cannot lock ${stateDir}: ${String(error)}`, { cause: error });
    }
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        // Unlink while still holding the lock, so nobody locks a file about to vanish unseen.
        try {
          Deno.removeSync(path);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        } finally {
          file.close();
        }
      },
    };
  }
  throw new CheckpointError(`Cannot lock ${stateDir}: ${path} keeps being replaced`);
}

/** Creates the lock file, or opens the one already there (live or left by a dead sync). */
function openLockFile(stateDir: string, path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { createNew: true, write: true, mode: 0o600 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new CheckpointError(`Cannot lock ${stateDir}: ${String(error)}`, { cause: error });
    }
  }
  try {
    return Deno.openSync(path, { write: true });
  } catch (error) {
    // Released between our two opens: create it afresh.
    if (error instanceof Deno.errors.NotFound) return openLockFile(stateDir, path);
    throw new CheckpointError(`Cannot lock ${stateDir}: ${String(error)}`, { cause: error });
  }
}

function sameFile(file: Deno.FsFile, path: string): boolean {
  try {
    return file.statSync().ino === Deno.statSync(path).ino;
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(Deno.readTextFileSync(path).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
