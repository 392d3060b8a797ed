import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { runFromRow, type RunRecord } from "./checkpoint_types.ts";

/** The checkpoint schema version this build writes, stored in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 3;

const SCHEMA_V1 = `
  CREATE TABLE runs (
    run_id      TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    api_url     TEXT NOT NULL,
    page_size   INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    total       INTEGER,
    pages_total INTEGER,
    last_error  TEXT
  ) STRICT;
  CREATE INDEX runs_by_account ON runs (account, started_at);
  CREATE TABLE pages (
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    page     INTEGER NOT NULL,
    records  TEXT NOT NULL,
    total    INTEGER NOT NULL,
    has_more INTEGER NOT NULL,
    PRIMARY KEY (run_id, page)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE done (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('synced', 'rejected')),
    PRIMARY KEY (run_id, campaign_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE synced (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    synced_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, campaign_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE failed (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (run_id, campaign_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE sends (
    account TEXT NOT NULL,
    at      INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sends_by_account ON sends (account, at);
`;

/** Version 2: the page size learnt from a platform that caps `limit`, per run. */
const SCHEMA_V2 = `ALTER TABLE runs ADD COLUMN page_limit INTEGER;`;

/**
 * Version 3: what committing each campaign's row changed, so that a resumed run reports the
 * changes of its whole life; null where an older version committed it.
 */
const SCHEMA_V3 = `ALTER TABLE done ADD COLUMN change TEXT
  CHECK (change IN ('inserted', 'updated', 'unchanged'));`;

/**
 * Brings a checkpoint database to SCHEMA_VERSION, or explains in one line why it cannot;
 * returns undefined on success and the problem otherwise.
 */
export function migrateCheckpoint(db: DatabaseSync): string | undefined {
  // IMMEDIATE takes the write lock first, so two processes opening a fresh file do not both
  // create the tables; busy_timeout makes the second one wait instead of failing.
  db.exec("BEGIN IMMEDIATE");
  try {
    const version = readVersion(db);
    if (version > SCHEMA_VERSION) {
      db.exec("ROLLBACK");
      return `schema version ${version} is newer than this adsync supports (${SCHEMA_VERSION})`;
    }
    if (version === 0) {
      const row = db.prepare("SELECT count(*) AS n FROM sqlite_master").get();
      if (Number(row?.n) > 0) {
        db.exec("ROLLBACK");
        return "it holds tables but no adsync schema version";
      }
      db.exec(SCHEMA_V1);
    }
    // Each step runs once, in order; a v1 file from an older adsync keeps its runs readable.
    if (version < 2) db.exec(SCHEMA_V2);
    if (version < 3) db.exec(SCHEMA_V3);
    if (version < SCHEMA_VERSION) db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
    return undefined;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function readVersion(db: DatabaseSync): number {
  return Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
}

/** Prepares the statements the checkpoint reads with, once per open file. */
export function prepareReads(db: DatabaseSync) {
  const q = (sql: string) => db.prepare(sql);
  return {
    getRun: q("SELECT * FROM runs WHERE run_id = ?"),
    unfinished: q(`SELECT * FROM (SELECT * FROM runs WHERE account = ?
      ORDER BY started_at DESC, rowid DESC LIMIT 1) WHERE status <> 'ok'`),
    latest: q("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?"),
    pages: q("SELECT page, records, total, has_more FROM pages WHERE run_id = ? ORDER BY page"),
    syncedPending: q(`SELECT s.campaign_id, s.synced_at FROM synced s WHERE s.run_id = ?1
      AND NOT EXISTS (SELECT 1 FROM done d WHERE d.run_id = ?1 AND d.campaign_id = s.campaign_id)`),
    done: q("SELECT campaign_id, outcome FROM done WHERE run_id = ?"),
    recentSends: q("SELECT at FROM sends WHERE account = ? AND at >= ? ORDER BY at"),
    progress: q(`SELECT
      (SELECT count(*) FROM pages WHERE run_id = ?1) AS pages_done,
      (SELECT count(*) FROM done WHERE run_id = ?1 AND outcome = 'synced') AS synced,
      (SELECT count(*) FROM done WHERE run_id = ?1 AND outcome = 'rejected') AS rejected,
      (SELECT count(*) FROM failed WHERE run_id = ?1) AS failed,
      (SELECT count(*) FROM done WHERE run_id = ?1 AND change = 'inserted') AS inserted,
      (SELECT count(*) FROM done WHERE run_id = ?1 AND change = 'updated') AS updated,
      (SELECT count(*) FROM done WHERE run_id = ?1 AND change = 'unchanged') AS unchanged`),
  };
}

/** Prepares the statements the checkpoint writes with, once per open file. */
export function prepareWrites(db: DatabaseSync) {
  const q = (sql: string) => db.prepare(sql);
  return {
    insertRun: q(`INSERT INTO runs (run_id, account, api_url, page_size, started_at, updated_at,
      status) VALUES (?, ?, ?, ?, ?, ?, 'running')`),
    touch: q("UPDATE runs SET updated_at = ? WHERE run_id = ?"),
    pageLimit: q("UPDATE runs SET page_limit = ?, updated_at = ? WHERE run_id = ?"),
    totals: q("UPDATE runs SET total = ?, pages_total = ?, updated_at = ? WHERE run_id = ?"),
    finish: q("UPDATE runs SET status = ?, last_error = ?, updated_at = ? WHERE run_id = ?"),
    savePage: q(`INSERT INTO pages (run_id, page, records, total, has_more) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id, page) DO UPDATE SET records = excluded.records,
      total = excluded.total, has_more = excluded.has_more`),
    markDone: q(`INSERT INTO done (run_id, campaign_id, outcome, change) VALUES (?, ?, ?, ?)
      ON CONFLICT (run_id, campaign_id) DO UPDATE SET outcome = excluded.outcome,
      change = excluded.change`),
    recordSynced: q(`INSERT INTO synced (run_id, campaign_id, synced_at) VALUES (?, ?, ?)
      ON CONFLICT (run_id, campaign_id) DO UPDATE SET synced_at = excluded.synced_at`),
    unfail: q("DELETE FROM failed WHERE run_id = ? AND campaign_id = ?"),
    markFailed: q(`INSERT INTO failed (run_id, campaign_id, reason) VALUES (?, ?, ?)
      ON CONFLICT (run_id, campaign_id) DO UPDATE SET reason = excluded.reason`),
    recordSend: q("INSERT INTO sends (account, at) VALUES (?, ?)"),
    pruneSends: q("DELETE FROM sends WHERE account = ? AND at < ?"),
  };
}

/** Maps a `runs` row, if any, to a RunRecord. */
export function toRun(row: Record<string, SQLInputValue> | undefined): RunRecord | undefined {
  return row === undefined ? undefined : runFromRow(row);
}
