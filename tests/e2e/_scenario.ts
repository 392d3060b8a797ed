/**
 * One e2e scenario: an in-process mock, a temporary state dir, a database (a fresh one on the
 * test server, or the embedded PGlite), and every CLI process spawned on them, all cleaned up;
 * plus the assertions the scenarios share.
 */
import assert from "node:assert/strict";
import {
  type MockApiOptions,
  type MockRequestLogEntry,
  type ServedMockApi,
  serveMockApi,
} from "../../mock-api/server.ts";
import { type Checkpoint, CheckpointError, openCheckpoint } from "../../src/store/checkpoint.ts";
import { openDatabase } from "../../src/store/database.ts";
import { checkpointPath } from "../../src/sync/state_dir.ts";
import {
  type FreshDatabase,
  freshDatabase,
  lastJsonLine,
  logRecords,
  removeDir,
  spawnSync,
  syncEnv,
  type SyncOutcome,
  type SyncProcess,
  tempStateDir,
  waitFor,
} from "./_cli.ts";

/** Fast, deterministic mock settings: 10 requests per second, no 503s, no hangs. */
export const FAST_MOCK: Partial<MockApiOptions> = {
  rateLimit: { count: 10, windowMs: 1_000 },
  syncDelayMs: 300,
  errorRate: 0,
  hangRate: 0,
  seed: 1,
  campaigns: 60,
};

/** What a scenario runs against. */
export interface ScenarioOptions {
  /** Mock settings over {@linkcode FAST_MOCK}. @default {} */
  mock?: Partial<MockApiOptions>;
  /** Use the embedded PGlite under the state dir instead of a server database. @default false */
  embedded?: boolean;
}

/** A running scenario. */
export interface Scenario {
  mock: ServedMockApi;
  /** How many campaigns the mock serves. */
  campaigns: number;
  /** The mock's rate-limit window, in ms. */
  windowMs: number;
  stateDir: string;
  /** The server database; undefined on the embedded backend. */
  db: FreshDatabase | undefined;
  /** The sync's environment, rate limit matching the mock, plus `extra`. */
  env(extra?: Record<string, string>, apiUrl?: string): Record<string, string>;
  /** Spawns a sync with `args`; it is killed at the end of the scenario if still running. */
  spawn(args: string[], extra?: Record<string, string>, apiUrl?: string): SyncProcess;
  /** Runs a sync to its end. */
  run(args: string[], extra?: Record<string, string>, apiUrl?: string): Promise<SyncOutcome>;
  /** Rows and distinct ids in the `campaigns` table (no sync may be running on embedded). */
  campaignCounts(): Promise<{ rows: number; ids: number }>;
  /** Opens the checkpoint once the sync has recorded a run in it; closed at the end. */
  watchCheckpoint(process: SyncProcess): Promise<{ checkpoint: Checkpoint; runId: string }>;
  /** Registers cleanup to run at the end, before the built-in ones. */
  defer(step: () => Promise<void> | void): void;
}

/** Runs `fn` in a fresh scenario and cleans everything up, whatever happens. */
export async function withScenario(
  options: ScenarioOptions,
  fn: (scenario: Scenario) => Promise<void>,
): Promise<void> {
  const mockOptions = { ...FAST_MOCK, ...options.mock };
  const { count, windowMs } = mockOptions.rateLimit!;
  const cleanups: (() => Promise<void> | void)[] = [];
  const processes: SyncProcess[] = [];
  const checkpoints: Checkpoint[] = [];
  const mock = serveMockApi(mockOptions);
  cleanups.push(() => mock.close());
  try {
    const stateDir = await tempStateDir();
    cleanups.push(() => removeDir(stateDir));
    const db = options.embedded ? undefined : await freshDatabase();
    if (db) cleanups.push(() => db.drop());
    const env = (extra: Record<string, string> = {}, apiUrl = mock.url) =>
      syncEnv({
        apiUrl,
        stateDir,
        databaseUrl: db?.url,
        rateLimit: `${count}/${windowMs}ms`,
        extra,
      });
    const spawn = (args: string[], extra?: Record<string, string>, apiUrl?: string) => {
      const process = spawnSync(env(extra, apiUrl), args);
      processes.push(process);
      return process;
    };
    await fn({
      mock,
      campaigns: mockOptions.campaigns!,
      windowMs,
      stateDir,
      db,
      env,
      spawn,
      run: (args, extra, apiUrl) => spawn(args, extra, apiUrl).finished,
      async campaignCounts() {
        const query = async (sql: FreshDatabase["sql"]) => {
          const [row] = await sql`
            select count(*)::int as rows, count(distinct id)::int as ids from campaigns`;
          return { rows: Number(row!.rows), ids: Number(row!.ids) };
        };
        if (db) return await query(db.sql);
        const embedded = await openDatabase({ stateDir });
        try {
          return await query(embedded.sql);
        } finally {
          await embedded.close();
        }
      },
      async watchCheckpoint(process) {
        const path = checkpointPath(stateDir);
        return await waitFor(
          async () => {
            const checkpoint = await openCheckpointOnceMade(path);
            if (!checkpoint) return undefined;
            const run = (await checkpoint.latestRuns(1))[0];
            if (!run) return void await checkpoint.close();
            checkpoints.push(checkpoint);
            return { checkpoint, runId: run.runId };
          },
          "the sync to record its run in the checkpoint",
          { process },
        );
      },
      defer: (step) => void cleanups.push(step),
    });
  } finally {
    for (const process of processes) {
      if (!process.exited()) process.child.kill("SIGKILL");
      await process.finished;
    }
    for (const checkpoint of checkpoints) await checkpoint.close();
    for (const step of cleanups.reverse()) await step();
  }
}

/** A log entry answered 200. */
export const ok = (entry: MockRequestLogEntry) => entry.status === 200;

/** The run summary: the last stdout line. */
export function summaryOf(outcome: SyncOutcome): Record<string, number | string> {
  return lastJsonLine(outcome.stdout) as Record<string, number | string>;
}

/** The whole outcome, for assertion messages. */
export function explain(outcome: SyncOutcome): string {
  return `exit ${outcome.code}\nstderr:\n${outcome.stderr}\nstdout:\n${outcome.stdout}`;
}

/** The run saw every campaign, and each is in the table exactly once. */
export async function assertEveryCampaignOnce(
  s: Scenario,
  summary: Record<string, number | string>,
): Promise<void> {
  assert.equal(summary.campaigns_total, s.campaigns);
  assert.deepEqual(await s.campaignCounts(), { rows: s.campaigns, ids: s.campaigns });
}

/** Every account of `accounts` has all its campaigns stored once, under its own account. */
export async function assertEveryAccountComplete(
  s: Scenario,
  accounts: readonly string[],
): Promise<void> {
  const rows = await s.db!.sql<{ account: string; rows: number; ids: number; misplaced: number }[]>`
    select account, count(*)::int as rows, count(distinct id)::int as ids,
      count(*) filter (where position('[' || account || ']' in name) = 0)::int as misplaced
    from campaigns group by account order by account`;
  assert.deepEqual(
    rows.map((r) => [r.account, r.rows, r.ids, r.misplaced]),
    accounts.map((id) => [id, s.campaigns, s.campaigns, 0]),
    "every account holds its own campaigns, each once, none from another account",
  );
}

/** No request was refused with 429; on failure, shows how full the mock's window was. */
export function assertNo429(s: Scenario, log: readonly MockRequestLogEntry[], what: string): void {
  const windowMs = s.windowMs;
  const arrival = (entry: MockRequestLogEntry) => entry.at - entry.latencyMs;
  const refused = log.filter((entry) => entry.status === 429).map((entry) => {
    const at = arrival(entry);
    const accepted = s.mock.log.filter((other) =>
      other.status !== 429 && other.path !== "/auth/token" && other.path !== "/health" &&
      arrival(other) > at - windowMs && arrival(other) <= at
    ).map((other) => arrival(other) - at);
    return `${entry.path} at ${at}: accepted arrivals in the window before it (ms) [${accepted}]`;
  });
  assert.deepEqual(refused, [], `${what} got ${refused.length} answers 429`);
}

/** The message of the first JSON log line matching `pattern`; fails if there is none. */
export function logNote(outcome: SyncOutcome, pattern: RegExp): string {
  const found = logRecords(outcome.stderr).map((r) => String(r.message)).find((m) =>
    pattern.test(m)
  );
  if (found === undefined) assert.fail(`no log line matches ${pattern}:\n${outcome.stderr}`);
  return found;
}

/**
 * Opens the checkpoint a sync is making, or returns undefined while it does not exist yet or is
 * still being made (a reader racing the sync's first open can meet SQLite's I/O error then).
 */
export async function openCheckpointOnceMade(path: string): Promise<Checkpoint | undefined> {
  if (!(await exists(path))) return undefined;
  try {
    return openCheckpoint(path);
  } catch (error) {
    if (error instanceof CheckpointError) return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Registers an e2e test run in a fresh scenario. */
export function e2e(
  name: string,
  options: ScenarioOptions,
  fn: (s: Scenario) => Promise<void>,
): void {
  Deno.test(name, () => withScenario(options, fn));
}

/** Starts a sync and waits until `committed` campaigns are committed, by its checkpoint. */
export async function startAndWaitForCommits(s: Scenario, committed: number, args = ["--json"]) {
  const process = s.spawn(args);
  const { checkpoint, runId } = await s.watchCheckpoint(process);
  await waitFor(
    async () => (await checkpoint.progress(runId)).synced >= committed,
    `${committed} campaigns committed by the first run`,
    { process },
  );
  return { process, checkpoint, runId };
}

/** Interrupts a run with `signal` once some campaigns are committed; checks code and summary. */
export async function interruptedRun(s: Scenario, signal: "SIGINT" | "SIGTERM", code: number) {
  const { process, runId } = await startAndWaitForCommits(s, 10);
  process.child.kill(signal);
  const stopped = await process.finished;
  assert.equal(stopped.code, code, explain(stopped));
  const summary = summaryOf(stopped);
  assert.equal(summary.status, "interrupted");
  assert.equal(summary.run_id, runId);
  return { runId, summary };
}

/** Resumes `runId` and checks that it finishes every campaign exactly once. */
export async function resumeToTheEnd(s: Scenario, runId: string, skipped?: number) {
  const resumed = await s.run(["--resume", "--json"]);
  assert.equal(resumed.code, 0, explain(resumed));
  const summary = summaryOf(resumed);
  assert.equal(summary.status, "ok");
  assert.equal(summary.run_id, runId, "the resumed run keeps its run_id");
  assert.ok(Number(summary.skipped) > 0, "the campaigns done before are skipped");
  if (skipped !== undefined) assert.equal(summary.skipped, skipped);
  assert.equal(Number(summary.synced) + Number(summary.skipped), summary.campaigns_total);
  await assertEveryCampaignOnce(s, summary);
  return summary;
}
