/**
 * End to end: one CLI process syncing 20+ client accounts from an accounts file, over HTTP on
 * the harsh mock (503s, hangs, two-second tokens), into a real PostgreSQL; with a wrong
 * password, kill -9 and SIGINT.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { MockApiOptions, MockRequestLogEntry } from "../../mock-api/server.ts";
import type { Checkpoint } from "../../src/store/checkpoint.ts";
import { checkpointPath } from "../../src/sync/state_dir.ts";
import { openCheckpoint } from "../../src/store/checkpoint.ts";
import { syncEntries, waitFor, waitForQuietLog } from "./_cli.ts";
import {
  assertEveryAccountComplete,
  assertNo429,
  e2e,
  explain,
  ok,
  type Scenario,
  summaryOf,
} from "./_scenario.ts";

/** The harsh platform, with few campaigns per account so that 21 accounts stay quick. */
const HARSH: Partial<MockApiOptions> = {
  rateLimit: { count: 10, windowMs: 1_000 },
  errorRate: 0.2,
  hangRate: 0.1,
  tokenTtlMs: 2_000,
  syncDelayMs: 200,
  campaigns: 15,
  seed: 8,
};

/** Three pages of five per account, so list requests meet the 503s and hangs too. */
const SETTINGS = { AD_PLATFORM_PAGE_SIZE: "5", SYNC_MAX_ATTEMPTS: "8" };

const ACCOUNTS = Array.from({ length: 21 }, (_, i) => `client-${String(i + 1).padStart(2, "0")}`);

/** Writes the accounts file into the state dir; `wrong` accounts get a wrong password. */
async function accountsFile(s: Scenario, wrong: string[] = []): Promise<Record<string, string>> {
  const path = join(s.stateDir, "accounts.json");
  const accounts = [...ACCOUNTS, ...wrong].map((id) =>
    wrong.includes(id) ? { client_id: id, password_env: "WRONG_PASSWORD" } : { client_id: id }
  );
  // No password in the file: the default is AD_PLATFORM_PASSWORD, which the scenario sets.
  await Deno.writeTextFile(path, JSON.stringify({ accounts }));
  return { ...SETTINGS, SYNC_ACCOUNTS_FILE: path, WRONG_PASSWORD: "not-the-password" };
}

/** The campaigns committed in PostgreSQL, as `account/id`. */
async function committedCampaigns(s: Scenario): Promise<Set<string>> {
  const rows = await s.db!.sql<{ key: string }[]>`
    select account || '/' || id as key from campaigns`;
  return new Set(rows.map((row) => row.key));
}

/** Rows committed so far, all accounts together (none before the sync has migrated). */
async function committedRows(s: Scenario): Promise<number> {
  const [row] = await s.db!.sql`select count(*)::int as n from campaigns`.catch(() => [{ n: 0 }]);
  return Number(row!.n);
}

/** Successful sync answers per client and campaign. */
function syncAnswers(log: readonly MockRequestLogEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of syncEntries(log).filter(ok)) {
    const key = `${entry.client}/${entry.campaignId}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

e2e(
  "Twenty accounts sync at once, each row under its own account, and wrong credentials fail alone",
  { mock: HARSH },
  async (s) => {
    const env = await accountsFile(s, ["client-wrong"]);
    const outcome = await s.run(["--json"], env);
    assert.equal(outcome.code, 1, explain(outcome));
    const report = summaryOf(outcome) as unknown as {
      status: string;
      synced: number;
      campaigns_total: number;
      accounts: { account: string; status: string; synced: number; last_error?: string }[];
    };
    assert.equal(report.status, "failed");
    const failed = report.accounts.filter((a) => a.status !== "ok");
    assert.deepEqual(failed.map((a) => [a.account, a.status]), [["client-wrong", "failed"]]);
    assert.match(failed[0]!.last_error ?? "", /401|refused|credentials/i);
    assert.equal(report.accounts.length, ACCOUNTS.length + 1);
    assert.equal(report.synced, ACCOUNTS.length * s.campaigns);
    assert.equal(report.campaigns_total, ACCOUNTS.length * s.campaigns);
    assert.match(outcome.stderr, /^adsync: account client-wrong: .*$/m);
    assert.ok(!outcome.stderr.includes("not-the-password"), "the wrong password is redacted");
    await assertEveryAccountComplete(s, ACCOUNTS);
    assertNo429(s, s.mock.log, "the run");
    const wrongRequests = s.mock.log.filter((e) =>
      e.client === "client-wrong" && e.path !== "/auth/token"
    );
    assert.deepEqual(wrongRequests, [], "the refused account sends nothing past its login");
  },
);

e2e(
  "kill -9 mid-run, then --resume completes every account with no campaign synced twice",
  { mock: HARSH },
  async (s) => {
    const env = await accountsFile(s);
    const first = s.spawn(["--json"], env);
    await waitFor(async () => await committedRows(s) >= 60, "60 rows committed", {
      process: first,
    });
    first.child.kill("SIGKILL");
    const killed = await first.finished;
    assert.equal(killed.signal, "SIGKILL", explain(killed));
    // What the dead run left at the mock ends (answered or released) before the resume starts.
    await waitForQuietLog(s.mock.log, 1_000);
    const before = s.mock.log.length;
    const checkpoint = openCheckpoint(checkpointPath(s.stateDir));
    let recorded: Map<string, Set<string>>;
    let marked: number;
    try {
      ({ recorded, marked } = await recordedByAccount(checkpoint));
    } finally {
      await checkpoint.close();
    }
    assert.equal(recorded.size, ACCOUNTS.length, "every account had a run in the checkpoint");
    // The checkpoint marks a campaign once its row is committed: a kill right after a commit may
    // beat its marks (gathered for up to 20 ms), and the resume commits those again from their
    // checkpointed syncs. Either way no campaign committed before the kill is sent again.
    const committed = await committedCampaigns(s);
    assert.ok(committed.size >= 60);

    const resumed = await s.run(["--resume", "--json"], env);
    assert.equal(resumed.code, 0, explain(resumed));
    const report = summaryOf(resumed) as unknown as {
      status: string;
      skipped: number;
      accounts: { account: string; status: string; synced: number; skipped: number }[];
    };
    assert.equal(report.status, "ok");
    assert.ok(
      report.skipped >= marked,
      "the campaigns marked committed before the kill are skipped",
    );
    assert.deepEqual(report.accounts.filter((a) => a.status !== "ok"), []);
    await assertEveryAccountComplete(s, ACCOUNTS);

    const second = s.mock.log.slice(before);
    // A campaign the first run recorded (committed, or answered and checkpointed) is never sent
    // again; one whose answer was in flight at the kill may be, at most one per sync slot.
    const again = syncEntries(second).filter(ok).filter((e) =>
      recorded.get(e.client)?.has(e.campaignId!)
    );
    assert.deepEqual(again.map((e) => `${e.client}/${e.campaignId}`), []);
    const resent = syncEntries(second).filter((e) => committed.has(`${e.client}/${e.campaignId}`));
    assert.deepEqual(resent.map((e) => `${e.client}/${e.campaignId}`), [], "committed, sent again");
    const answers = syncAnswers(s.mock.log);
    const twice = [...answers].filter(([, n]) => n > 1).map(([key]) => key);
    const perAccount = Map.groupBy(twice, (key) => key.split("/")[0]!);
    const concurrency = 10; // SYNC_CONCURRENCY's default with a limit of 10 a window
    for (const [account, keys] of perAccount) {
      assert.ok(keys.length <= concurrency, `${account} synced ${keys.length} campaigns twice`);
    }
    for (const id of ACCOUNTS) {
      for (let n = 1; n <= s.campaigns; n++) {
        assert.ok(answers.has(`${id}/campaign_${n}`), `${id}/campaign_${n} was synced`);
      }
    }
    assertNo429(s, second, "the resumed run");
  },
);

e2e(
  "SIGINT stops every account with exit 130 and a checkpoint that --resume completes",
  { mock: HARSH },
  async (s) => {
    const env = await accountsFile(s);
    const first = s.spawn(["--json"], env);
    await waitFor(async () => await committedRows(s) >= 30, "30 rows committed", {
      process: first,
    });
    first.child.kill("SIGINT");
    const stopped = await first.finished;
    assert.equal(stopped.code, 130, explain(stopped));
    const report = summaryOf(stopped) as unknown as {
      status: string;
      accounts: { account: string; status: string }[];
    };
    assert.equal(report.status, "interrupted");
    assert.equal(report.accounts.length, ACCOUNTS.length);
    assert.ok(report.accounts.every((a) => a.status === "interrupted" || a.status === "ok"));

    const resumed = await s.run(["--resume", "--json"], env);
    assert.equal(resumed.code, 0, explain(resumed));
    const done = summaryOf(resumed) as unknown as { status: string; skipped: number };
    assert.equal(done.status, "ok");
    assert.ok(done.skipped >= 30, "the campaigns committed before the stop are skipped");
    await assertEveryAccountComplete(s, ACCOUNTS);
  },
);

/**
 * Per account, the campaigns its latest run recorded: committed, or answered and checkpointed;
 * and how many of them, every account together, are marked committed.
 */
async function recordedByAccount(
  checkpoint: Checkpoint,
): Promise<{ recorded: Map<string, Set<string>>; marked: number }> {
  const recorded = new Map<string, Set<string>>();
  let marked = 0;
  for (const id of ACCOUNTS) {
    const run = await checkpoint.latestUnfinished(id);
    if (!run) continue;
    const done = await checkpoint.done(run.runId);
    marked += done.size;
    recorded.set(
      id,
      new Set([...done.keys(), ...(await checkpoint.syncedPending(run.runId)).keys()]),
    );
  }
  return { recorded, marked };
}
