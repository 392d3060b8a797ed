import assert from "node:assert/strict";
import { recentRuns } from "../../src/store/run_history.ts";
import { createRunHistoryWriter } from "../../src/store/run_history_writer.ts";
import { RUN_SUMMARY } from "../_fixtures.ts";
import { withEachDatabase } from "./_helpers.ts";

const UNGUARDED = { retrying: <T>(_action: string, op: () => Promise<T>) => op() };

withEachDatabase(
  "RunHistoryWriter records runs that start together in one statement, and their ends in one",
  async ({ db }) => {
    const writer = createRunHistoryWriter(db.sql, UNGUARDED, { maxWaitMs: 20 });
    const runIds = Array.from({ length: 40 }, (_, i) => `run-${i}`);
    const startedAt = new Date("2024-05-01T08:00:00.000Z");
    await Promise.all(
      runIds.map((runId, i) =>
        writer.start({ runId, account: `acct_${i}`, apiUrl: "http://x", startedAt })
      ),
    );
    assert.equal(writer.statements, 1);
    const running = await recentRuns(db.sql, 100);
    assert.equal(running.filter((run) => run.status === "running").length, 40);
    await Promise.all(runIds.map((run_id) => writer.end({ ...RUN_SUMMARY, run_id, status: "ok" })));
    assert.equal(writer.statements, 2);
    const ended = await recentRuns(db.sql, 100);
    assert.equal(ended.filter((run) => run.status === "ok" && run.finished_at).length, 40);
    assert.equal(ended.find((run) => run.run_id === "run-7")?.account, "acct_7");
  },
);

withEachDatabase(
  "RunHistoryWriter fails every run of a failed statement, and the next goes on",
  async ({ db }) => {
    const writer = createRunHistoryWriter(db.sql, UNGUARDED, { maxWaitMs: 20 });
    const outcomes = await Promise.allSettled([
      writer.end({ ...RUN_SUMMARY, run_id: "run-1", status: "ok" }),
      // A duration PostgreSQL cannot store fails the whole statement.
      writer.end({ ...RUN_SUMMARY, run_id: "run-2", status: "ok", duration_ms: 1e30 }),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ["rejected", "rejected"]);
    await writer.end({ ...RUN_SUMMARY, run_id: "run-1", status: "ok" });
    const runs = await recentRuns(db.sql);
    assert.deepEqual(runs.map((run) => [run.run_id, run.status]), [["run-1", "ok"]]);
  },
);
