import type postgres from "postgres";
import { RUN_COUNTERS, type RunCounters, type RunStatus } from "../run_counters.ts";
import type { RunSummary, SyncSummary } from "../run_summary.ts";

/** A row of `sync_runs`; counters are null while the run has not ended. */
export type RunHistoryRow = { [K in keyof RunCounters]: RunCounters[K] | null } & {
  run_id: string;
  account: string | null;
  api_url: string | null;
  /** `running` until the run ends, then the summary's status. */
  status: RunStatus | "running" | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  last_error: string | null;
  /** The whole summary; runs of older versions recorded no drift or rate limit. */
  summary: (RunSummary & Partial<SyncSummary>) | null;
};

/** The start of a run, recorded before its first request. */
export interface RunStart {
  runId: string;
  account: string;
  apiUrl: string;
  startedAt: Date;
}

/**
 * Records that runs started, in one statement; a resumed run keeps its first start time. A run
 * given twice is recorded once, as its last start says.
 */
export async function recordRunStarts(sql: postgres.Sql, runs: readonly RunStart[]): Promise<void> {
  const rows = lastOfEach(runs, (run) => run.runId).map((run) => ({
    run_id: run.runId,
    account: run.account,
    api_url: run.apiUrl,
    started_at: run.startedAt.toISOString(),
  }));
  if (rows.length === 0) return;
  await sql`
    insert into sync_runs (run_id, account, api_url, status, started_at)
    select r.run_id, r.account, r.api_url, 'running', r.started_at
    from jsonb_to_recordset(${sql.json(rows)})
      as r(run_id text, account text, api_url text, started_at timestamptz)
    on conflict (run_id) do update set
      account = excluded.account,
      api_url = excluded.api_url,
      status = excluded.status,
      started_at = coalesce(sync_runs.started_at, excluded.started_at),
      finished_at = null
  `;
}

/** What a run's end records: its summary, with the error it ended on if any. */
export type RunEnd = RunSummary & Partial<Pick<SyncSummary, "last_error">>;

/**
 * Records how runs ended, in one statement: each one's counters in their columns (one per
 * {@linkcode RUN_COUNTERS}), its error, and the whole summary as `--json` prints it; works even if
 * its start was not recorded. A run given twice is recorded once, as its last end says.
 */
export async function recordRunEnds(
  sql: postgres.Sql,
  summaries: readonly RunEnd[],
): Promise<void> {
  const rows = lastOfEach(summaries, (summary) => summary.run_id).map((summary) => ({
    run_id: summary.run_id,
    status: summary.status,
    ...Object.fromEntries(RUN_COUNTERS.map(({ key }) => [key, summary[key]])),
    duration_ms: summary.duration_ms,
    last_error: summary.last_error ?? null,
    summary,
  }));
  if (rows.length === 0) return;
  const counters = RUN_COUNTERS.map(({ key }) => key);
  const columns = ["run_id", "status", ...counters, "duration_ms", "last_error", "summary"];
  const types = [
    "run_id text",
    "status text",
    ...counters.map((key) => `${key} int`),
    "duration_ms bigint",
    "last_error text",
    "summary jsonb",
  ];
  // Every column but the key takes the new value when the run's start row is already there.
  const update = Object.fromEntries(
    [...columns.slice(1), "finished_at"].map((column) => [column, sql`excluded.${sql(column)}`]),
  );
  // postgres.js takes fragments (`excluded.x`) as helper values; its types do not say so.
  const values = update as unknown as Record<string, postgres.ParameterOrJSON<never>>;
  await sql`
    insert into sync_runs (${sql(columns)}, finished_at)
    select ${sql(columns.map((column) => `r.${column}`))}, now()
    from jsonb_to_recordset(${sql.json(rows as unknown as postgres.JSONValue)})
      as r(${sql.unsafe(types.join(", "))})
    on conflict (run_id) do update set ${sql(values)}
  `;
}

/** The last item of each key, in the order the keys first occur. */
function lastOfEach<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/** The limits the platform advertised to an account's latest finished run. */
export interface AdvertisedBefore {
  /** What it advertised, such as `20/1s`. */
  advertised: string;
  /** What it enforced instead, when its 429s showed the advertisement wrong (`2/1s`). */
  enforced?: string;
}

/**
 * The limit the platform advertised to `account`'s latest finished run, as its summary recorded
 * it, with what it enforced when that run found it enforcing less; undefined when that run
 * followed a configured or default limit.
 */
export async function lastAdvertisedLimit(
  sql: postgres.Sql,
  account: string,
): Promise<AdvertisedBefore | undefined> {
  const [row] = await sql<
    { rate_limit: string | null; source: string | null; advertised: string | null }[]
  >`
    select summary->>'rate_limit' as rate_limit, summary->>'rate_limit_source' as source,
      summary->>'rate_limit_advertised' as advertised
    from sync_runs
    where account = ${account} and finished_at is not null and summary is not null
    order by finished_at desc, run_id desc
    limit 1
  `;
  if (!row?.rate_limit) return undefined;
  if (row.source === "advertised") return { advertised: row.rate_limit };
  if (row.source === "enforced" && row.advertised) {
    return { advertised: row.advertised, enforced: row.rate_limit };
  }
  return undefined;
}

/** The latest runs, newest first. */
export async function recentRuns(sql: postgres.Sql, limit = 10): Promise<RunHistoryRow[]> {
  const rows = await sql<RunRow[]>`
    select * from sync_runs
    order by coalesce(started_at, finished_at) desc nulls last, run_id desc
    limit ${limit}
  `;
  return rows.map((row) => ({ ...row, duration_ms: toNumber(row.duration_ms) }));
}

// bigint comes back as a string: postgres.js will not guess whether it fits a double.
type RunRow = Omit<RunHistoryRow, "duration_ms"> & { duration_ms: string | null };

function toNumber(value: string | null): number | null {
  return value === null ? null : Number(value);
}
