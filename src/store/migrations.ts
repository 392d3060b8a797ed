import type postgres from "postgres";
import { errorMessage, StoreError } from "../errors.ts";

/** One step of the schema; applied once, in version order, and never edited once shipped. */
export interface Migration {
  /** Position in the history; strictly increasing. */
  version: number;
  /** What the step does, for `schema_migrations`. */
  name: string;
  /** Statements run in order inside the migration transaction. */
  statements: ((sql: postgres.TransactionSql) => postgres.PendingQuery<postgres.Row[]>)[];
}

/** Key of the transaction-scoped advisory lock that serializes migrations ("adsy"). */
export const MIGRATION_LOCK_KEY = 0x6164_7379;

/** The schema's history, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create campaigns, sync_runs and sync_rejects",
    statements: [
      (sql) =>
        sql`
          create table campaigns (
            account text not null,
            id text not null,
            name text not null,
            status text not null,
            budget numeric not null,
            impressions bigint,
            clicks bigint,
            conversions bigint,
            created_at timestamptz not null,
            synced_at timestamptz not null,
            updated_at timestamptz not null default now(),
            primary key (account, id)
          )
        `,
      (sql) =>
        sql`
          create table sync_runs (
            run_id text primary key,
            account text,
            api_url text,
            status text,
            started_at timestamptz,
            finished_at timestamptz null,
            campaigns_total int,
            synced int,
            skipped int,
            failed int,
            rejected int,
            requests int,
            rate_limited int,
            retries int,
            timeouts int,
            token_refreshes int,
            duration_ms bigint,
            last_error text null,
            summary jsonb
          )
        `,
      (sql) =>
        sql`
          create table sync_rejects (
            run_id text not null,
            account text not null,
            campaign_id text null,
            reason text not null,
            payload jsonb not null,
            rejected_at timestamptz not null default now()
          )
        `,
      // Leads with run_id, so it is also the index for per-run lookups. A record without a
      // usable id has a null campaign_id; coalesce makes its re-insert collide too.
      (sql) =>
        sql`
          create unique index sync_rejects_run_record
          on sync_rejects (run_id, account, (coalesce(campaign_id, '')), reason)
        `,
    ],
  },
  {
    version: 2,
    name: "soft-delete campaigns gone from the listing; count them per run",
    statements: [
      (sql) => sql`alter table campaigns add column deleted_at timestamptz null`,
      (sql) => sql`alter table sync_runs add column deleted int`,
    ],
  },
  {
    version: 3,
    name: "the checkpoint and the send log in PostgreSQL, for workers",
    statements: [
      // Times are epoch milliseconds, as in the SQLite checkpoint; `seq` orders runs started in
      // the same millisecond, as SQLite's rowid does.
      (sql) =>
        sql`
          create table checkpoint_runs (
            run_id text primary key,
            seq bigint generated always as identity,
            account text not null,
            api_url text not null,
            page_size int not null,
            started_at bigint not null,
            updated_at bigint not null,
            status text not null,
            total int,
            pages_total int,
            page_limit int,
            last_error text
          )
        `,
      (sql) =>
        sql`create index checkpoint_runs_by_account on checkpoint_runs (account, started_at, seq)`,
      (sql) => sql`create index checkpoint_runs_by_start on checkpoint_runs (started_at, seq)`,
      // Records as the JSON text the platform's page became: jsonb refuses \u0000 and lone
      // surrogates, which hostile records may hold, and would reorder keys.
      (sql) =>
        sql`
          create table checkpoint_pages (
            run_id text not null references checkpoint_runs on delete cascade,
            page int not null,
            records text not null,
            total int not null,
            has_more boolean not null,
            primary key (run_id, page)
          )
        `,
      (sql) =>
        sql`
          create table checkpoint_done (
            run_id text not null references checkpoint_runs on delete cascade,
            campaign_id text not null,
            outcome text not null check (outcome in ('synced', 'rejected')),
            primary key (run_id, campaign_id)
          )
        `,
      (sql) =>
        sql`
          create table checkpoint_synced (
            run_id text not null references checkpoint_runs on delete cascade,
            campaign_id text not null,
            synced_at text not null,
            primary key (run_id, campaign_id)
          )
        `,
      (sql) =>
        sql`
          create table checkpoint_failed (
            run_id text not null references checkpoint_runs on delete cascade,
            campaign_id text not null,
            reason text not null,
            primary key (run_id, campaign_id)
          )
        `,
      (sql) => sql`create table checkpoint_sends (account text not null, at bigint not null)`,
      (sql) => sql`create index checkpoint_sends_by_account on checkpoint_sends (account, at)`,
    ],
  },
  {
    version: 4,
    name: "account leases: one holder per account across sync, workers and restarts",
    statements: [
      // Expiry on the database's clock, so that holders on machines whose clocks differ agree.
      (sql) =>
        sql`
          create table account_leases (
            account text primary key,
            holder text not null,
            token text not null,
            taken_at timestamptz not null,
            expires_at timestamptz not null
          )
        `,
    ],
  },
  {
    version: 5,
    name: "count the deletions a run withheld (a refused mass deletion)",
    statements: [
      (sql) => sql`alter table sync_runs add column deletions_withheld int`,
    ],
  },
  {
    version: 6,
    name: "count what each run changed: campaigns inserted, updated and unchanged",
    statements: [
      (sql) => sql`alter table sync_runs add column inserted int`,
      (sql) => sql`alter table sync_runs add column updated int`,
      (sql) => sql`alter table sync_runs add column unchanged int`,
      // Null for campaigns finished by an older version, which did not tell.
      (sql) =>
        sql`
          alter table checkpoint_done add column change text null
          check (change in ('inserted', 'updated', 'unchanged'))
        `,
    ],
  },
  {
    version: 7,
    name: "index the runs by account, for each account's latest run at its start",
    statements: [
      // Each account's start looks up its latest finished run (the limit last advertised): without
      // it, 10,000 accounts starting together each read every run of every account.
      (sql) =>
        sql`create index sync_runs_by_account on sync_runs (account, finished_at desc, run_id desc)`,
    ],
  },
];

/**
 * Applies the migrations this database lacks, in one transaction under an advisory lock, so
 * that processes starting together apply each version once; returns the versions applied now.
 */
export async function migrate(
  sql: postgres.Sql,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  try {
    return await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      await tx`
        create table if not exists schema_migrations (
          version int primary key,
          name text not null,
          applied_at timestamptz not null default now()
        )
      `;
      const rows = await tx<{ version: number }[]>`select version from schema_migrations`;
      const done = new Set(rows.map((row) => row.version));
      const applied: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(migration.version)) continue;
        for (const statement of migration.statements) await statement(tx);
        await tx`
          insert into schema_migrations (version, name)
          values (${migration.version}, ${migration.name})
        `;
        applied.push(migration.version);
      }
      return applied;
    });
  } catch (error) {
    const reason = errorMessage(error);
    throw new StoreError(`Cannot migrate the database schema: ${reason}`, { cause: error });
  }
}

/** How a database's schema stands against the migrations this adsync knows. */
export interface MigrationState {
  /** Versions recorded in `schema_migrations`, ascending. */
  applied: number[];
  /** Known versions the database lacks: the next sync or worker applies them. */
  pending: number[];
  /** Applied versions this adsync does not know: a newer adsync migrated the database. */
  unknown: number[];
}

/**
 * Reads which migrations the database holds, applying none (`check` uses it): a database no
 * adsync has migrated yet (no `schema_migrations`) has every migration pending.
 */
export async function migrationState(
  sql: postgres.Sql,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationState> {
  let rows: { version: number }[];
  try {
    rows = await sql<{ version: number }[]>`select version from schema_migrations order by version`;
  } catch (error) {
    // 42P01, undefined table: never migrated.
    if ((error as { code?: unknown }).code !== "42P01") throw error;
    rows = [];
  }
  const applied = rows.map((row) => row.version);
  const known = migrations.map((migration) => migration.version).sort((a, b) => a - b);
  return {
    applied,
    pending: known.filter((version) => !applied.includes(version)),
    unknown: applied.filter((version) => !known.includes(version)),
  };
}
