import assert from "node:assert/strict";
import postgres from "postgres";
import { startPostgres } from "./_pg_server.ts";

async function answers(url: string, timeoutMs: number): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    return await Promise.race([sql`select 1 as one`.then(() => true), late]);
  } finally {
    clearTimeout(timer);
    await sql.end({ timeout: 0 });
  }
}

Deno.test("startPostgres serves a server that can be frozen, stopped, restarted and removed", async () => {
  const server = await startPostgres();
  try {
    assert.match(server.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    assert.equal(await answers(server.url, 10_000), true);
    const pids = await server.pids();
    assert.ok(pids.length >= 2, "the postmaster and its auxiliary processes");

    await server.signal("SIGSTOP");
    assert.equal(await answers(server.url, 300), false, "a frozen server does not answer");
    await server.signal("SIGCONT");

    await server.stop();
    assert.equal(await server.postmasterPid(), undefined);
    await server.start();
    assert.equal(await answers(server.url, 10_000), true, "it answers again on the same port");
  } finally {
    await server.remove();
  }
  await assert.rejects(Deno.stat(server.baseDir), Deno.errors.NotFound);
});
