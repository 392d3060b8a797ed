/**
 * The campaign upserts of every account of a process, group-committed: the rows the accounts'
 * pipelines hand over within a short while go to PostgreSQL in one statement (one transaction),
 * and each account learns what that did to its own rows once it committed.
 */
import type postgres from "postgres";
import type { SyncedCampaign } from "../platform/schemas.ts";
import { type CampaignChange, type CampaignGroup, upsertCampaignGroups } from "./campaign_store.ts";
import type { DatabaseGuard } from "./database_guard.ts";
import { createGroupCommit, type GroupCommitOptions, type GroupSettings } from "./group_commit.ts";

/** Where every account of a process upserts its campaigns. */
export interface CampaignWriter {
  /**
   * Upserts the account's rows with other accounts' in one statement; resolves with what it
   * changed in each of these rows, by id, once it committed; rejects if that statement failed.
   */
  upsert(account: string, rows: readonly SyncedCampaign[]): Promise<Map<string, CampaignChange>>;
  /** Upsert statements run so far, committed or failed. */
  readonly statements: number;
}

/**
 * The grouping of campaign upserts. No request waits for them (a campaign's row is committed
 * after its sync answered), so a group may gather for longer than a send's: up to 100 ms, for 16
 * accounts' batches (at the real pace an account's batch holds one row, so 16 rows). At 1,000
 * accounts (about 150 synced rows a second) a group then gathers in about 100 ms, at 10,000 in
 * about 10 ms: a tenth of a statement or less per synced campaign. 5,000 rows at most keep one
 * statement's parameter within a few MB, and let the last batches of 10,000 accounts stopped
 * together go in a few statements, not a hundred.
 */
export const CAMPAIGN_GROUPS: GroupSettings = Object.freeze({
  targetRows: 16,
  maxWaitMs: 100,
  maxRows: 5_000,
});

/** Creates the process's campaign writer on `sql`, each statement through `guard` (retried). */
export function createCampaignWriter(
  sql: postgres.Sql,
  guard: Pick<DatabaseGuard, "retrying">,
  options: GroupCommitOptions<CampaignGroup> = {},
): CampaignWriter {
  const writer = createGroupCommit<CampaignGroup, Map<string, CampaignChange>>(
    (groups) => {
      const rows = groups.reduce((sum, group) => sum + group.rows.length, 0);
      return guard.retrying(
        `write ${rows} campaigns to`,
        () => upsertCampaignGroups(sql, groups),
      );
    },
    { ...CAMPAIGN_GROUPS, weigh: (group) => group.rows.length, ...options },
  );
  return {
    upsert: (account, rows) => writer.submit({ account, rows }),
    get statements() {
      return writer.statements;
    },
  };
}
