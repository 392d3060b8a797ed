import type { Config } from "./config.ts";
import { formatRows } from "./report/rows_table.ts";
import { openDatabase } from "./store/database.ts";

/**
 * Runs `config.query` once, in a read-only transaction, on the database the settings point at,
 * and returns its rows: a psql-like table, or with `config.json` one JSON array of objects.
 * On the embedded database it holds the database's lock while it runs (see embedded_lock.ts).
 * @throws {StoreError} the database is open elsewhere or unreachable
 * @throws {PostgresError} the query is refused (a syntax error, a write, two statements)
 */
export async function runSqlCommand(config: Readonly<Config>): Promise<string> {
  const query = config.query;
  if (query === undefined) throw new TypeError("runSqlCommand needs config.query");
  const db = await openDatabase({
    url: config.databaseUrl,
    stateDir: config.stateDir,
    opener: "sql",
    poolSize: 1,
  });
  try {
    // The user's own query is the one string that is SQL by design: no value is spliced into
    // it, and the extended protocol takes one statement, inside a transaction that cannot write.
    const result = await db.sql.begin("read only", (tx) => tx.unsafe(query));
    const rows = [...result] as Record<string, unknown>[];
    if (config.json) return JSON.stringify(rows);
    const columns = (result.columns ?? []).map((column) => column.name);
    return formatRows(columns, rows);
  } finally {
    await db.close();
  }
}
