import assert from "node:assert/strict";
import { noteLevel } from "../../src/sync/run_outcome.ts";

Deno.test("A worker starting a new run does not warn that there is nothing to resume", () => {
  // Every job of a worker resumes if it can: the latest unfinished run belonging to another
  // account is no news there.
  assert.equal(noteLevel({ resumed: false }, { checkpointInServer: true }), "debug");
  assert.equal(noteLevel({ resumed: false }, {}), "warn", "sync --resume still says it");
  assert.equal(noteLevel({ resumed: true }, { checkpointInServer: true }), "warn");
});
