/**
 * The PostgreSQL server the tests run against: the one `TEST_DATABASE_URL` names, or else a
 * throwaway one that the first test module needing it starts (tests/_pg_server.ts).
 *
 * `deno test` loads each test module in a worker of its own, so a module-level server would be
 * started once per file. The process environment, though, is shared by every worker: the first
 * module exports the started server's URL as `TEST_DATABASE_URL`, and the modules after it find
 * it there and reuse it. The server's watchdog stops and removes it when the `deno test` process
 * exits, however it ends (done, Ctrl-C, kill -9). So `deno task test` and a plain
 * `deno test tests/x_test.ts` both work with nothing set, and share one server per run.
 */
import { startPostgres } from "./_pg_server.ts";

const VARIABLE = "TEST_DATABASE_URL";

async function resolveTestServerUrl(): Promise<string> {
  const configured = Deno.env.get(VARIABLE);
  if (configured !== undefined && configured !== "") return configured;
  const server = await startPostgres();
  Deno.env.set(VARIABLE, server.url);
  return server.url;
}

/** A `postgres://` URL of a server the tests may create and drop databases on. */
export const TEST_SERVER_URL: string = await resolveTestServerUrl();
