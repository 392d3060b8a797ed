/**
 * Reaches the database a sync would use and reads how its schema stands, applying nothing.
 */
import { join } from "node:path";
import type { Config } from "../config.ts";
import { deadline } from "../deadline.ts";
import { errorMessage } from "../errors.ts";
import { CheckpointError } from "../store/checkpoint.ts";
import { openDatabase } from "../store/database.ts";
import { MIGRATIONS, type MigrationState, migrationState } from "../store/migrations.ts";
import { acquireRunLock } from "../store/run_lock.ts";
import type { CheckErrorCode } from "./login_check.ts";

/**
 * How the schema stands: `current`; `pending` (the next sync or worker applies the missing
 * migrations); `newer` (a newer adsync migrated it); `unknown` (not read: a running sync holds
 * the embedded database, or it could not be reached).
 */
export type MigrationsStatus = "current" | "pending" | "newer" | "unknown";

/** What the check of the database found. */
export interface DatabaseCheck {
  ok: boolean;
  /** The database, without a password; absent when a server could not be reached. */
  database?: string;
  migrations: MigrationsStatus;
  /** Versions applied, ascending; empty when not read. */
  applied: number[];
  /** Versions this adsync knows that the database lacks. */
  pending: number[];
  /** Worth knowing though no problem: migrations pending, a database not created yet. */
  note?: string;
  /** What went wrong, one line; never a secret. */
  error?: string;
  error_code?: CheckErrorCode;
}

/** What {@linkcode checkDatabase} needs of the settings. */
export type DatabaseSettings = Pick<Config, "databaseUrl" | "stateDir" | "databaseTimeoutMs">;

/**
 * Opens the server of `DATABASE_URL`, or the embedded PGlite under the state dir, and compares
 * its applied migrations with the known ones. The embedded database is opened only when no sync
 * holds the state dir (PGlite serves one process), and never created: the first sync does that.
 */
export async function checkDatabase(config: Readonly<DatabaseSettings>): Promise<DatabaseCheck> {
  if (config.databaseUrl !== undefined) return await readSchema(config);
  const dataDir = join(config.stateDir, "pgdata");
  const database = `the embedded PostgreSQL at ${dataDir}`;
  const unread = { database, applied: [], pending: [] };
  if (!(await exists(join(dataDir, "PG_VERSION")))) {
    const pending = MIGRATIONS.map((migration) => migration.version);
    const note = "not created yet: the first sync creates it";
    return { ok: true, database, migrations: "pending", applied: [], pending, note };
  }
  let lock: { release(): void };
  try {
    lock = acquireRunLock(config.stateDir);
  } catch (error) {
    const message = errorMessage(error);
    if (error instanceof CheckpointError && /^Another adsync sync is running/.test(message)) {
      const note = `${message}: it holds the database (its migrations were applied at its start)`;
      return { ok: true, ...unread, migrations: "unknown", note };
    }
    return { ok: false, ...unread, migrations: "unknown", ...failure(error) };
  }
  try {
    return await readSchema(config);
  } finally {
    lock.release();
  }
}

async function readSchema(config: Readonly<DatabaseSettings>): Promise<DatabaseCheck> {
  let db;
  try {
    db = await openDatabase({ url: config.databaseUrl, stateDir: config.stateDir, poolSize: 1 });
  } catch (error) {
    return { ok: false, migrations: "unknown", applied: [], pending: [], ...failure(error) };
  }
  try {
    const state = await deadline(migrationState(db.sql), config.databaseTimeoutMs, {
      reason: new Error(`${db.label} did not answer within ${config.databaseTimeoutMs} ms`),
    });
    return judge(db.label, state);
  } catch (error) {
    const found = { database: db.label, applied: [], pending: [] };
    return { ok: false, ...found, migrations: "unknown", ...failure(error) };
  } finally {
    await db.close();
  }
}

/** Whether the schema is one this adsync can run on, and what is worth saying about it. */
export function judge(database: string, state: MigrationState): DatabaseCheck {
  const { applied, pending, unknown } = state;
  if (unknown.length > 0) {
    return {
      ok: false,
      database,
      migrations: "newer",
      applied,
      pending,
      error: `${database} holds migrations this adsync does not know (${unknown.join(", ")}): ` +
        "a newer adsync migrated it; run that version",
      error_code: "SCHEMA_NEWER",
    };
  }
  if (pending.length === 0) return { ok: true, database, migrations: "current", applied, pending };
  const note = `migrations ${pending.join(", ")} pending: the next sync or worker applies them`;
  return { ok: true, database, migrations: "pending", applied, pending, note };
}

/** Whatever kept the database from being read, the check's code says it is unavailable. */
function failure(error: unknown): { error: string; error_code: CheckErrorCode } {
  return { error: errorMessage(error), error_code: "DATABASE_UNAVAILABLE" };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
