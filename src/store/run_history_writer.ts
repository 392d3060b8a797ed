/**
 * The `sync_runs` records of every account of a process, group-committed: the runs that start
 * (or end) within a short while are recorded in one statement. Ten thousand accounts start
 * together, and a stop ends them together: one statement each would queue thousands on the pool
 * while the stop's closing bound runs.
 */
import type postgres from "postgres";
import type { DatabaseGuard } from "./database_guard.ts";
import { createGroupCommit, type GroupCommitOptions, type GroupSettings } from "./group_commit.ts";
import { recordRunEnds, recordRunStarts, type RunEnd, type RunStart } from "./run_history.ts";

/** Where every account of a process records its runs' starts and ends. */
export interface RunHistoryWriter {
  /** Records the run's start with others'; resolves once its statement committed. */
  start(run: RunStart): Promise<void>;
  /** Records the run's end with others'; resolves once its statement committed. */
  end(summary: RunEnd): Promise<void>;
  /** Statements run so far, starts and ends, committed or failed. */
  readonly statements: number;
}

/**
 * The grouping of run records: no request waits for them, so a group may gather for 100 ms, for
 * 16 runs; a start or a stop of thousands goes 1,000 runs a statement.
 */
export const RUN_GROUPS: GroupSettings = Object.freeze({
  targetRows: 16,
  maxWaitMs: 100,
  maxRows: 1_000,
});

/** Creates the process's run recorder on `sql`, each statement through `guard` (retried). */
export function createRunHistoryWriter(
  sql: postgres.Sql,
  guard: Pick<DatabaseGuard, "retrying">,
  options: GroupCommitOptions = {},
): RunHistoryWriter {
  /** A group writer recording its items with `record`; `what` names `n` of them for messages. */
  function grouped<T>(
    what: (n: number) => string,
    record: (sql: postgres.Sql, items: readonly T[]) => Promise<void>,
  ) {
    return createGroupCommit<T, void>(async (items) => {
      await guard.retrying(what(items.length), () => record(sql, items));
      return items.map(() => undefined);
    }, { ...RUN_GROUPS, ...options });
  }
  const starts = grouped<RunStart>(
    (n) => n === 1 ? "record the run start in" : `record ${n} run starts in`,
    recordRunStarts,
  );
  const ends = grouped<RunEnd>(
    (n) => n === 1 ? "record the run end in" : `record ${n} run ends in`,
    recordRunEnds,
  );
  return {
    start: (run) => starts.submit(run),
    end: (summary) => ends.submit(summary),
    get statements() {
      return starts.statements + ends.statements;
    },
  };
}
