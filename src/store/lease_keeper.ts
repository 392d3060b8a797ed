/**
 * Holds account leases for a process: takes them, renews them on a timer and with every send
 * (through the database guard, so that a renewal rides out an outage), and says when one is
 * lost. See account_lease.ts for the statements. The renewals and sends of every account the
 * process holds are group-committed: one statement per beat renews them all, and the sends that
 * arrive within a few milliseconds are fenced and recorded in one statement, each still only if
 * its own account's lease is ours.
 */
import { getLogger } from "@logtape/logtape";
import type postgres from "postgres";
import { type Clock, systemClock } from "../clock.ts";
import { deadline } from "../deadline.ts";
import { errorCode, StoreError } from "../errors.ts";
import { type LeaseHolder, type LeaseRenewal, renewLeases, takeLease } from "./account_lease.ts";
import type { DatabaseGuard } from "./database_guard.ts";
import { createGroupCommit, type GroupSettings } from "./group_commit.ts";

const log = getLogger(["adsync", "store"]);

/** An account this process holds the lease of. */
export interface HeldAccount {
  readonly account: string;
  /**
   * Aborted when the lease is lost: another process took it (after it lapsed, say during a long
   * database outage). The run must then stop (resumably) and send nothing more.
   */
  readonly signal: AbortSignal;
  /**
   * Renews the lease and records a send at `at` (epoch ms) in the server's send log, in one
   * statement; rejects (and aborts `signal`) when the lease is another's: the request must not leave.
   */
  fence(at: number): Promise<void>;
  /**
   * Notes a send for the server's send log without holding the request back: for a `sync`,
   * whose own checkpoint is what its requests wait for, so that it goes on through a database
   * outage as before. The sends noted go in with the next renewal (and the release).
   */
  noteSend(at: number): void;
  /** Stops renewing and gives the lease up; safe to call twice. */
  release(): Promise<void>;
}

/** The leases of one process. */
export interface AccountLeases {
  /** Takes the account's lease, or says who holds it. */
  hold(account: string): Promise<HeldAccount | LeaseHolder>;
  /** The account's sends since `since` (epoch ms) in the server's send log, ascending. */
  recentSends(account: string, since: number): Promise<number[]>;
  /** Statements that renewed leases and recorded sends so far, all accounts' together. */
  readonly statements: number;
}

/** Options of {@linkcode createAccountLeases}. */
export interface AccountLeasesOptions {
  /** Who holds the leases, as `status` shows it. */
  holder: string;
  /** How long a lease lasts without renewal, in ms; renewed every third of it. @default 30_000 */
  ttlMs?: number;
  /** Timer source. @default systemClock */
  clock?: Clock;
  /** Sends older than this (relative to the newest) are pruned from the log. @default 86_400_000 */
  sendRetentionMs?: number;
  /**
   * Whether a holder is known to be gone (a process of this machine that no longer runs), so
   * that its lease is taken at once instead of when it lapses. @default never
   */
  isGone?: (holder: string) => boolean;
}

/** The largest difference between our clock and the database's that goes without a warning. */
const SKEW_WARNING_MS = 1_000;
/** How long a run's end waits for its lease's release before leaving it to lapse. */
const RELEASE_BOUND_MS = 2_000;
/** Old sends are pruned once every this many fences. */
const PRUNE_EVERY = 100;

/**
 * The grouping of sends and renewals. A send is recorded before its request leaves, so its wait
 * delays the request: at most 20 ms, which an account barely feels (its window's 60 s move by at
 * most as much per 10 requests). The aim is 8 sends a statement: by Little's law, a process
 * sending 400 requests a second (2,400 accounts at the real pace) gathers 8 in 20 ms, one
 * sending 800 a second in 10 ms; at fewer than 400 a second the groups hold fewer. The renewals
 * of a beat come all at once and go together, up to 5,000 a statement.
 */
export const SEND_GROUPS: GroupSettings = Object.freeze({
  targetRows: 8,
  maxWaitMs: 20,
  maxRows: 5_000,
});

/**
 * What a group of lease writes does, for messages: the requests it records, else the leases it
 * releases, else the renewals.
 */
function leaseAction(renewals: readonly LeaseRenewal[]): string {
  const requests = renewals.filter((renewal) => renewal.atCommit).length;
  const releases = renewals.filter((renewal) => renewal.release).length;
  if (requests > 0) {
    return requests === 1 ? "record a request in" : `record ${requests} requests in`;
  }
  if (releases > 0) {
    return releases === 1
      ? `release the lease of account ${renewals.find((r) => r.release)!.account} in`
      : `release ${releases} account leases in`;
  }
  return renewals.length === 1
    ? `renew the lease of account ${renewals[0]!.account} in`
    : `renew ${renewals.length} account leases in`;
}

/** One held lease as the process's beat renews it. */
interface Kept {
  account: string;
  token: string;
  /** Sends noted since the last renewal, recorded with the next. */
  noted: number[];
  /** Says the lease is lost (to whom the caller finds out). */
  lose(): Promise<void>;
}

/** Creates the lease holder of a process on `sql`, every statement through `guard`. */
export function createAccountLeases(
  sql: postgres.Sql,
  guard: DatabaseGuard,
  options: AccountLeasesOptions,
): AccountLeases {
  const { holder, ttlMs = 30_000, clock = systemClock, sendRetentionMs = 86_400_000 } = options;
  let skewChecked = false;
  let fences = 0;
  // The database's clock minus ours, in ms: the tightest lower bound the takes have shown. A
  // send stamped at its commit with it is never earlier, on our clock, than when it committed.
  let offsetMs = -Infinity;
  const kept = new Set<Kept>();
  let beat: AbortController | undefined;
  const writes = createGroupCommit<LeaseRenewal, boolean>(
    (renewals) =>
      guard.retrying(
        leaseAction(renewals),
        () =>
          renewLeases(sql, renewals, ttlMs, {
            atCommitOffsetMs: Number.isFinite(offsetMs) ? offsetMs : undefined,
          }),
      ),
    { ...SEND_GROUPS, clock },
  );

  /** Renews every kept lease, with the sends noted since the last renewal, in one group. */
  async function renewAll(): Promise<void> {
    const leases = [...kept];
    const batches = leases.map((lease) => {
      const sends = lease.noted;
      lease.noted = [];
      return sends;
    });
    const results = writes.submitAll(
      leases.map(({ account, token }, i) => ({ account, token, sends: batches[i]! })),
    );
    await Promise.all(results.map(async (result, i) => {
      const lease = leases[i]!;
      try {
        if (!await result) await lease.lose();
      } catch {
        lease.noted = [...batches[i]!, ...lease.noted];
        // The database stayed away past the outage bound: nobody could take the lease meanwhile,
        // so keep it and try again; the next renewal that reaches the database decides.
      }
    }));
  }

  /** Renews the kept leases every third of their term while there are any. */
  function keepBeating(): void {
    if (beat) return;
    const stop = beat = new AbortController();
    (async () => {
      while (!stop.signal.aborted) {
        await clock.sleep(ttlMs / 3, stop.signal).catch(() => {});
        if (!stop.signal.aborted) await renewAll();
      }
    })();
  }

  function forget(lease: Kept): void {
    kept.delete(lease);
    if (kept.size > 0) return;
    beat?.abort();
    beat = undefined;
  }

  function checkSkew(before: number, databaseNow: number, after: number): void {
    if (skewChecked) return;
    skewChecked = true;
    const skew = Math.round(databaseNow - (before + after) / 2);
    if (Math.abs(skew) - (after - before) / 2 <= SKEW_WARNING_MS) return;
    log.warn(
      "This machine's clock differs from the database's by {skew} ms: send times recorded by " +
        "other machines are misjudged by as much, and a takeover may meet a 429; sync the clocks (NTP)",
      { skew },
    );
  }

  async function hold(account: string): Promise<HeldAccount | LeaseHolder> {
    const before = clock.now();
    let taken = await guard.retrying(
      `take the lease of account ${account} in`,
      () => takeLease(sql, account, { holder, ttlMs }),
    );
    if (!("token" in taken) && options.isGone?.(taken.holder)) {
      const replacing = taken.holder;
      log.info("Taking the lease of account {account} from {holder}: that process is gone", {
        account,
        holder: replacing,
      });
      taken = await guard.retrying(
        `take the lease of account ${account} in`,
        () => takeLease(sql, account, { holder, ttlMs, replacing }),
      );
    }
    if (!("token" in taken)) return taken;
    const after = clock.now();
    offsetMs = Math.max(offsetMs, taken.databaseNow - after);
    checkSkew(before, taken.databaseNow, after);
    return keep(account, taken.token);
  }

  function keep(account: string, token: string): HeldAccount {
    const lost = new AbortController();
    const released = new AbortController();
    const lose = (reason: Error) => {
      if (lost.signal.aborted || released.signal.aborted) return;
      log.warn("Lost the lease of account {account}: {reason}", {
        account,
        reason: reason.message,
        error_code: errorCode(reason),
      });
      lost.abort(reason);
    };
    const takenBy = async () => {
      const rows = await sql<{ holder: string }[]>`
        select holder from account_leases where account = ${account}`.catch(() => []);
      return new StoreError(
        `Cannot drive account ${account}: ${rows[0]?.holder ?? "another process"} took it over`,
        { code: "ACCOUNT_BUSY" },
      );
    };
    const lease: Kept = {
      account,
      token,
      noted: [],
      lose: async () => {
        forget(lease);
        // A renewal that raced the release finds the lease gone: nothing was lost.
        if (!released.signal.aborted) lose(await takenBy());
      },
    };
    kept.add(lease);
    keepBeating();
    return {
      account,
      signal: lost.signal,
      async fence(at) {
        if (lost.signal.aborted) throw lost.signal.reason;
        // Stamped when the statement commits, not when it was sent: a request held back by an
        // outage leaves when the database is back, and the next holder's limiter must see it
        // then (the limiter's own copy moves to when the write ended, as this row does).
        const sends = [Math.max(at, clock.now())];
        const ours = await writes.submit({ account, token, sends, atCommit: true });
        if (!ours) {
          await lease.lose();
          throw lost.signal.reason;
        }
        if (++fences % PRUNE_EVERY === 0) {
          await guard.once(
            "prune old requests in",
            () =>
              sql`delete from checkpoint_sends where account = ${account}
              and at < ${at - sendRetentionMs}`,
          ).catch(() => {}); // pruning can wait for the next hundred
        }
      },
      noteSend(at) {
        if (!lost.signal.aborted && !released.signal.aborted) lease.noted.push(at);
      },
      async release() {
        if (released.signal.aborted) return;
        released.abort();
        forget(lease); // a renewal in flight may finish later: its token check keeps it harmless
        if (lost.signal.aborted) return;
        // With the other leases' writes, in one statement: ten thousand runs stopped together
        // release in a few statements. Bounded: an unreleased lease lapses by itself, and a run's
        // end must not wait out a database outage for it.
        const release = writes.submit({ account, token, sends: lease.noted, release: true });
        await deadline(release, RELEASE_BOUND_MS, {
          clock,
          reason: new Error(`no answer within ${RELEASE_BOUND_MS / 1_000} s`),
        }).catch((error) =>
          log.warn("Cannot release the lease of account {account} (it lapses by itself): {error}", {
            account,
            error: (error as Error).message,
          })
        );
      },
    };
  }

  return {
    hold,
    get statements() {
      return writes.statements;
    },
    recentSends: (account, since) =>
      guard.retrying("read the send log in", async () => {
        const rows = await sql<{ at: string }[]>`
          select at from checkpoint_sends where account = ${account} and at >= ${since}
          order by at`;
        return rows.map((row) => Number(row.at));
      }),
  };
}
