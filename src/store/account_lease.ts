/**
 * Account leases: a row per account in `account_leases` saying which process drives it, until
 * when (on the database's clock). A lease costs no connection: it is taken, renewed and released
 * by single statements on the shared pool, so it outlives a database restart and a worker can
 * hold hundreds. Every request's send is recorded through {@linkcode fenceSend}, which renews the
 * lease and records the send only while the lease is still this holder's: a process that lost
 * its lease (expired, then taken by another) can never send again for that account.
 */
import type postgres from "postgres";

/** Who holds an account now, when another process does. */
export interface LeaseHolder {
  holder: string;
  /** How long until the lease lapses unless renewed, in ms (by the database's clock). */
  expiresInMs: number;
  /** When it lapses unless renewed, epoch ms on the database's clock. */
  expiresAt: number;
}

/** A taken lease: the token that proves it is ours, and the database's clock when taken. */
export interface TakenLease {
  token: string;
  /** The database's `now()` at the take, in epoch ms. */
  databaseNow: number;
}

/** Options of {@linkcode takeLease}. */
export interface TakeLeaseOptions {
  /** Who takes it, as `status` shows it: "worker w1", "sync on host-123". */
  holder: string;
  /** How long the lease lasts unless renewed, in ms. */
  ttlMs: number;
  /** The token to take it with. @default a new random UUID */
  token?: string;
  /** Takes it from this holder even unlapsed: one known to be gone. @default none */
  replacing?: string;
}

/**
 * Takes the account's lease if it is free, lapsed or already ours (same token); otherwise
 * returns who holds it. One statement: two processes taking at once cannot both win.
 *
 * A lease counts as held until one `ttlMs` after the server last started, even if its time ran
 * out while the server was down: its holder could not renew it then, and gets one whole term to
 * do so once the server is back, so that a database restart never hands a live run's account
 * to another process.
 */
export async function takeLease(
  sql: postgres.Sql,
  account: string,
  options: TakeLeaseOptions,
): Promise<TakenLease | LeaseHolder> {
  const { holder, ttlMs, token = crypto.randomUUID(), replacing = null } = options;
  const [row] = await sql<{ token: string; now: string }[]>`
    insert into account_leases as l (account, holder, token, taken_at, expires_at)
    values (${account}, ${holder}, ${token}, now(),
      now() + ${ttlMs}::double precision * interval '1 millisecond')
    on conflict (account) do update set holder = excluded.holder, token = excluded.token,
      taken_at = excluded.taken_at, expires_at = excluded.expires_at
    where ${lapsesAt(sql, "l", ttlMs)} <= now() or l.token = excluded.token
      or l.holder = ${replacing}
    returning l.token, (extract(epoch from now()) * 1000)::float8 as now`;
  if (row) return { token: row.token, databaseNow: Number(row.now) };
  const lapses = lapsesAt(sql, "", ttlMs);
  const [other] = await sql<{ holder: string; left: number; at: number }[]>`
    select holder, greatest(0, extract(epoch from ${lapses} - now()) * 1000)::float8 as left,
      (extract(epoch from greatest(now(), ${lapses})) * 1000)::float8 as at
    from account_leases where account = ${account}`;
  // Released between our two statements: free now, but the caller retries later rather than loop.
  return {
    holder: other?.holder ?? "another process (just released)",
    expiresInMs: other?.left ?? 0,
    expiresAt: other?.at ?? 0, // long past: due at once
  };
}

/** Options of {@linkcode fenceSend}. */
export interface FenceSendOptions {
  /**
   * Stamps each send no earlier than when the statement runs on the database, as our clock
   * reads it: the database's `clock_timestamp()` less this offset (the database's clock minus
   * ours, in ms, never above the true one). For a request that waits for this statement and
   * leaves as it commits, however long it waited for the database. @default undefined: the
   * times as given (sends that already left)
   */
  atCommitOffsetMs?: number;
}

/**
 * When a lease lapses for a taker: at its expiry, or, for a lease taken before the server last
 * started (it lived through the restart), no sooner than one term (`ttlMs`) after that start.
 */
function lapsesAt(sql: postgres.Sql, alias: string, ttlMs: number) {
  const column = (name: string) => sql(alias ? `${alias}.${name}` : name);
  return sql`case when ${column("taken_at")} < pg_postmaster_start_time()
    then greatest(${column("expires_at")},
      pg_postmaster_start_time() + ${ttlMs}::double precision * interval '1 millisecond')
    else ${column("expires_at")} end`;
}

/**
 * Renews the lease for `ttlMs` more if it is still ours (even lapsed: while the token is ours,
 * nobody else took it in between), and records the sends at `sentAt` (epoch ms, one or many) in
 * `checkpoint_sends` with it when given. False when the lease is another's or gone.
 */
export async function fenceSend(
  sql: postgres.Sql,
  account: string,
  token: string,
  ttlMs: number,
  sentAt?: number | readonly number[],
  options: FenceSendOptions = {},
): Promise<boolean> {
  const times = sentAt === undefined ? [] : typeof sentAt === "number" ? [sentAt] : [...sentAt];
  if (times.length === 0) {
    const rows = await sql`
      update account_leases set expires_at = now() + ${ttlMs}::double precision * interval '1 millisecond'
      where account = ${account} and token = ${token} returning 1`;
    return rows.count > 0;
  }
  const offset = options.atCommitOffsetMs;
  // clock_timestamp(), unlike now(), is when the statement runs: after any wait for the server.
  const at = offset === undefined ? sql`s.at` : sql`greatest(s.at,
    ceil(extract(epoch from clock_timestamp()) * 1000 - ${offset}::double precision)::bigint)`;
  const rows = await sql`
    with renewed as (
      update account_leases set expires_at = now() + ${ttlMs}::double precision * interval '1 millisecond'
      where account = ${account} and token = ${token} returning account
    )
    insert into checkpoint_sends (account, at)
    select r.account, ${at}
    from renewed r, unnest(${times}::bigint[]) as s(at)
    returning 1`;
  return rows.count > 0;
}

/** One lease's share of {@linkcode renewLeases}: its renewal, and the sends to record with it. */
export interface LeaseRenewal {
  account: string;
  token: string;
  /** Send times (epoch ms) to record in `checkpoint_sends` if the lease is still ours. */
  sends: readonly number[];
  /**
   * Stamp these sends no earlier than the statement runs (see
   * {@linkcode FenceSendOptions.atCommitOffsetMs}): for requests that wait for it. @default false
   */
  atCommit?: boolean;
  /** Gives the lease up instead of renewing it, once its sends are recorded. @default false */
  release?: boolean;
}

/**
 * Renews many leases for `ttlMs` more, or releases those marked `release`, and records their
 * sends, in one statement: each lease only if it is still ours (its token), and its sends only
 * with it. Returns, per renewal in order, whether its lease was ours: a lease another took fails
 * its own renewal, not the others'. With `atCommitOffsetMs`, the sends of renewals marked
 * `atCommit` are stamped as {@linkcode fenceSend} does.
 */
export async function renewLeases(
  sql: postgres.Sql,
  renewals: readonly LeaseRenewal[],
  ttlMs: number,
  options: FenceSendOptions = {},
): Promise<boolean[]> {
  if (renewals.length === 0) return [];
  const offset = options.atCommitOffsetMs;
  const leases = renewals.map(({ account, token, release = false }) => ({
    account,
    token,
    release,
  }));
  const sends = renewals.flatMap(({ account, token, sends, atCommit = false }) =>
    sends.map((at) => ({ account, token, at, at_commit: atCommit && offset !== undefined }))
  );
  // A lease both renewed and released in one group is released: one statement must not update
  // and delete the same row. clock_timestamp(), unlike now(), is when the statement runs: after
  // any wait for the server.
  const rows = await sql<{ account: string; token: string }[]>`
    with wanted as (
      select w.account, w.token, bool_or(w.release) as release
      from jsonb_to_recordset(${sql.json(leases)}) as w(account text, token text, release boolean)
      group by w.account, w.token
    ), renewed as (
      update account_leases l
      set expires_at = now() + ${ttlMs}::double precision * interval '1 millisecond'
      from wanted w where l.account = w.account and l.token = w.token and not w.release
      returning l.account, l.token
    ), released as (
      delete from account_leases l
      using wanted w where l.account = w.account and l.token = w.token and w.release
      returning l.account, l.token
    ), ours as (
      select account, token from renewed union all select account, token from released
    ), sent as (
      insert into checkpoint_sends (account, at)
      select s.account, case when s.at_commit then greatest(s.at,
        ceil(extract(epoch from clock_timestamp()) * 1000 - ${
    offset ?? 0
  }::double precision)::bigint)
        else s.at end
      from jsonb_to_recordset(${sql.json(sends)})
        as s(account text, token text, at bigint, at_commit boolean)
      join ours r on r.account = s.account and r.token = s.token
      returning 1
    )
    select account, token from ours`;
  const ours = new Set(rows.map((row) => JSON.stringify([row.account, row.token])));
  return renewals.map(({ account, token }) => ours.has(JSON.stringify([account, token])));
}

/** Gives the lease up if it is still ours; a lease another took is left alone. */
export async function releaseLease(
  sql: postgres.Sql,
  account: string,
  token: string,
): Promise<void> {
  await sql`delete from account_leases where account = ${account} and token = ${token}`;
}

/** Who holds each of `accounts` now (leases not lapsed): account → holder. */
export async function accountLeaseHolders(
  sql: postgres.Sql,
  accounts: readonly string[],
): Promise<Map<string, string>> {
  if (accounts.length === 0) return new Map();
  try {
    const rows = await sql<{ account: string; holder: string }[]>`
      select account, holder from account_leases
      where account = any(${[...accounts]}::text[]) and expires_at > now()`;
    return new Map(rows.map((row) => [row.account, row.holder]));
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return new Map(); // not migrated yet
    throw error;
  }
}
