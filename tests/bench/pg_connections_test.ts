import assert from "node:assert/strict";
import postgres from "postgres";
import { sampleConnections } from "../../bench/pg_connections.ts";
import { serverTest, withFreshServerDatabase } from "../store/_helpers.ts";

serverTest(
  "The connection sampler keeps the most connections a database held at once",
  (url) =>
    withFreshServerDatabase(url, async (databaseUrl) => {
      const sampler = sampleConnections(databaseUrl, 20);
      const sql = postgres(databaseUrl, { max: 3, onnotice: () => {} });
      try {
        // Three connections busy at once, long enough for a few samples.
        await Promise.all([1, 2, 3].map(() => sql`SELECT pg_sleep(0.3)`));
      } finally {
        await sql.end();
      }
      assert.equal(await sampler.stop(), 3);
    }),
);
