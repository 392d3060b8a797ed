import type postgres from "postgres";

/**
 * The first key of the two-key advisory locks adsync takes per account ("adsy" in ASCII), so
 * they never collide with the migrations' lock or another application's.
 */
export const ACCOUNT_LOCK_CLASS = 0x61647379;

/** An account's advisory lock, held on a connection of its own. */
export interface AccountLock {
  readonly account: string;
  /** Unlocks and gives the connection back; safe to call twice. */
  release(): Promise<void>;
}

/** Options of {@linkcode tryLockAccount}. */
export interface AccountLockOptions {
  /** Shown as the connection's `application_name`, which is how `status` names the holder. @default "adsync" */
  holder?: string;
}

/**
 * Takes the account's session-level advisory lock on a reserved connection, or returns undefined
 * when another session holds it. The lock lasts as long as that connection: a worker killed with
 * -9 loses it the moment the server sees its connection drop. The key is the account's
 * `hashtext`; two accounts sharing a hash would only ever wait for each other, never overlap.
 */
export async function tryLockAccount(
  sql: postgres.Sql,
  account: string,
  options: AccountLockOptions = {},
): Promise<AccountLock | undefined> {
  const { holder = "adsync" } = options;
  const connection = await sql.reserve();
  try {
    await connection`select set_config('application_name', ${holder}, false)`;
    const [row] = await connection<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${ACCOUNT_LOCK_CLASS}, hashtext(${account})) as locked`;
    if (!row?.locked) {
      connection.release();
      return undefined;
    }
  } catch (error) {
    connection.release();
    throw error;
  }
  let released = false;
  return {
    account,
    async release() {
      if (released) return;
      released = true;
      try {
        await connection`select pg_advisory_unlock(${ACCOUNT_LOCK_CLASS}, hashtext(${account}))`;
        await connection`select set_config('application_name', '', false)`;
      } finally {
        connection.release();
      }
    },
  };
}

/** Who holds each locked account's lock right now: account → the holder's `application_name`. */
export async function accountLockHolders(
  sql: postgres.Sql,
  accounts: readonly string[],
): Promise<Map<string, string>> {
  if (accounts.length === 0) return new Map();
  const rows = await sql<{ account: string; holder: string }[]>`
    select a.account, s.application_name as holder
    from unnest(${[...accounts]}::text[]) as a(account)
    join pg_locks l on l.locktype = 'advisory' and l.granted and l.objsubid = 2
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid::bigint = ${ACCOUNT_LOCK_CLASS}
      and l.objid::bigint = (hashtext(a.account)::bigint & 4294967295)
    join pg_stat_activity s on s.pid = l.pid`;
  return new Map(rows.map((row) => [row.account, row.holder]));
}
