import assert from "node:assert/strict";
import postgres from "postgres";
import { answerWithin, pingDatabase } from "../../src/store/database_ping.ts";
import { withEachDatabase } from "./_helpers.ts";

withEachDatabase("A database that answers is ready", async ({ db }) => {
  assert.equal(await pingDatabase(db.sql), true);
}, { migrate: false });

Deno.test("A database nobody listens for is not ready, and the ping does not throw", async () => {
  // Port 1 on the loopback: nothing listens there, the connection is refused at once.
  const sql = postgres("postgres://adsync@127.0.0.1:1/adsync", { max: 1, onnotice: () => {} });
  try {
    assert.equal(await pingDatabase(sql), false);
  } finally {
    await sql.end({ timeout: 0 });
  }
});

Deno.test("answerWithin gives the answer, or undefined for a failure or no answer in time", async () => {
  assert.equal(await answerWithin(Promise.resolve(7), 1_000), 7);
  assert.equal(await answerWithin(Promise.reject(new Error("refused")), 1_000), undefined);
  assert.equal(await answerWithin(new Promise(() => {}), 1), undefined);
});
