/**
 * One opener of the embedded database at a time, whoever opens it.
 *
 * PGlite has no working lock of its own: it writes `postmaster.pid` with a pid (-42) that every
 * other PGlite takes for its own stale file, so two processes open one data dir and each
 * overwrites the other's pages. adsync therefore holds an OS file lock (`<stateDir>/pgdata.lock`,
 * naming the holder) while it has the database open, and replaces PGlite's `postmaster.pid` with
 * a line PostgreSQL's startup rejects ("bogus data in lock file"), so that a bare PGlite (a
 * `pglite-server`) refuses the directory too. The other order, a bare PGlite first, shows as
 * PGlite's own `postmaster.pid`, which adsync refuses to open over.
 * @module
 */
import { join } from "node:path";
import { errorMessage, StoreError } from "../errors.ts";

/** The embedded database is open by another process; nothing was opened. */
export class EmbeddedBusyError extends StoreError {
  /** Who holds it, as a person reads it: "sync (pid 123)", or "another program". */
  readonly holder: string;
  constructor(message: string, holder: string) {
    super(message);
    this.name = "EmbeddedBusyError";
    this.holder = holder;
  }
}

/** The held lock of the embedded database. */
export interface EmbeddedLock {
  /** The opener as written in the lock file and the marker: "sync (pid 123)". */
  holder: string;
  /** Releases the lock; safe to call twice. */
  release(): void;
}

/** The first word of the marker: not a number, so PostgreSQL's startup refuses the file. */
const MARKER_PREFIX = "adsync:";

/**
 * Takes the lock of the embedded database under `stateDir` for `opener` (a command name), or
 * throws {@linkcode EmbeddedBusyError} naming who holds it. A `postmaster.pid` left by an adsync
 * that died is removed; one written by PGlite itself means another program has the directory
 * open (or crashed with it open), and is refused.
 * @throws {EmbeddedBusyError} another opener holds the database
 * @throws {StoreError} the lock file cannot be created
 */
export async function acquireEmbeddedLock(
  stateDir: string,
  opener: string,
): Promise<EmbeddedLock> {
  const path = join(stateDir, "pgdata.lock");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { create: true, write: true, read: true, mode: 0o600 });
  } catch (error) {
    throw new StoreError(`Cannot create ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (!(await file.tryLock(true))) {
    file.close();
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim() || "another adsync";
    throw busy(stateDir, holder);
  }
  const holder = `${opener} (pid ${Deno.pid})`;
  try {
    await checkNoOtherPglite(stateDir);
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${holder}\n`));
  } catch (error) {
    file.close();
    throw error;
  }
  let released = false;
  return {
    holder,
    release() {
      if (released) return;
      released = true;
      // Emptied before unlocking: a later reader never names a holder that is gone.
      try {
        file.truncateSync(0);
      } finally {
        file.close();
      }
    },
  };
}

/**
 * Replaces PGlite's `postmaster.pid` in `dataDir` with the marker naming `holder`: any other
 * PGlite then stops at startup, before it reads or writes a page. PGlite removes the file by name
 * when it closes, so the marker goes with it.
 */
export function markDataDir(dataDir: string, holder: string): void {
  Deno.writeTextFileSync(
    join(dataDir, "postmaster.pid"),
    `${MARKER_PREFIX} open by ${holder}; no other PGlite may open this directory now\n`,
    { mode: 0o600 },
  );
}

/** Throws if PGlite's own `postmaster.pid` is there; removes a dead adsync's marker. */
async function checkNoOtherPglite(stateDir: string): Promise<void> {
  const pidFile = join(stateDir, "pgdata", "postmaster.pid");
  let text: string;
  try {
    text = await Deno.readTextFile(pidFile);
  } catch (error) {
    // No pid file, or no data dir at all (the opener reports a file in its place).
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return;
    throw new StoreError(`Cannot read ${pidFile}: ${errorMessage(error)}`, { cause: error });
  }
  if (text.startsWith(MARKER_PREFIX)) {
    // We hold the lock, so the adsync that wrote it is gone (killed): its PGlite with it.
    await Deno.remove(pidFile).catch(() => {});
    return;
  }
  throw new EmbeddedBusyError(
    `The embedded database under ${stateDir} is open by another program (a pglite-server?): ` +
      `stop it and use 'adsync db serve' instead; if none runs, it was not closed cleanly: ` +
      `remove ${pidFile}`,
    "another program",
  );
}

function busy(stateDir: string, holder: string): EmbeddedBusyError {
  return new EmbeddedBusyError(
    `The embedded database under ${stateDir} is open by ${holder}; try again when it ends`,
    holder,
  );
}
