/**
 * End to end: the embedded database has one opener at a time. Looking at it (`adsync db serve`,
 * `adsync sql`, or the bare `pglite-server` the README once recommended) while a sync runs, in
 * either order, loses nothing: the second opener is refused in one line naming the first, and a
 * refused sync sends no request.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { PROJECT_DIR, spawnSync, type SyncProcess, waitFor } from "./_cli.ts";
import { explain, type Scenario, summaryOf, withScenario } from "./_scenario.ts";

/** Slow enough that a sync is still running while another opener tries. */
const SLOW_SYNC = { embedded: true, mock: { campaigns: 80, syncDelayMs: 400 } };

/** Spawns an adsync command on the scenario's state dir; killed at the end if still running. */
function adsync(s: Scenario, command: string, args: string[] = []): SyncProcess {
  const process = spawnSync(s.env(), args, command);
  s.defer(async () => {
    if (!process.exited()) process.child.kill("SIGKILL");
    await process.finished;
  });
  return process;
}

/** Starts `db serve` on a free port and waits for the URL it prints. */
async function serve(s: Scenario): Promise<{ process: SyncProcess; url: string }> {
  const process = adsync(s, "db", ["serve", "--port", "0"]);
  const url = await waitFor(
    () => /^postgres:\/\/\S+$/m.exec(process.stdout())?.[0],
    "db serve to print its URL",
    { process },
  );
  return { process, url };
}

/** Spawns the README's former recipe: PGlite's own socket server on the data directory. */
function bareServer(s: Scenario): SyncProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "npm:@electric-sql/pglite-socket@0.2.17/pglite-server",
      `--db=${s.stateDir}/pgdata`,
      "--port=0",
    ],
    cwd: PROJECT_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let done = false;
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) out += text;
  };
  const streams = Promise.all([read(child.stdout), read(child.stderr)]);
  const finished = child.status.then(async (status) => {
    done = true;
    await streams;
    return { code: status.code, signal: status.signal, stdout: out, stderr: "" };
  });
  const process = {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => out,
    finished,
    exited: () => done,
  };
  s.defer(async () => {
    if (!done) child.kill("SIGKILL");
    await finished;
  });
  return process;
}

/** Every campaign once, and one finished run per sync that ran, read with `adsync sql`. */
async function assertNothingLost(s: Scenario, runs: number): Promise<void> {
  const outcome = await adsync(s, "sql", [
    "--json",
    "select (select count(*)::int from campaigns) as rows," +
    " (select count(distinct id)::int from campaigns) as ids," +
    " (select count(*)::int from sync_runs where status = 'ok') as runs",
  ]).finished;
  assert.equal(outcome.code, 0, explain(outcome));
  assert.deepEqual(JSON.parse(outcome.stdout.trim()), [{
    rows: s.campaigns,
    ids: s.campaigns,
    runs,
  }]);
}

Deno.test("A sync started while db serve holds the embedded database sends no request", async () => {
  await withScenario({ embedded: true, mock: { campaigns: 20 } }, async (s) => {
    const first = await s.run(["--json"]);
    assert.equal(first.code, 0, explain(first));
    const { process: server, url } = await serve(s);
    // psql's view of it: the served database answers.
    const psql = await countOverWire(url);
    assert.equal(psql, String(s.campaigns));

    const before = s.mock.log.length;
    const refused = await s.run(["--json"]);
    assert.equal(refused.code, 1, explain(refused));
    assert.match(
      refused.stderr,
      new RegExp(
        `^adsync: The embedded database under \\S+ is open by db serve \\(pid ${server.pid}\\); try again when it ends$`,
        "m",
      ),
    );
    assert.equal(s.mock.log.length, before, "no request reached the platform");

    const sql = await adsync(s, "sql", ["select 1"]).finished;
    assert.equal(sql.code, 1);
    assert.match(sql.stderr, new RegExp(`is open by db serve \\(pid ${server.pid}\\)`));

    server.child.kill("SIGINT");
    assert.equal((await server.finished).code, 0);
    const again = await s.run(["--json"]);
    assert.equal(again.code, 0, explain(again));
    assert.equal(summaryOf(again).status, "ok");
    await assertNothingLost(s, 2);
  });
});

/** The count of campaigns through the served database's wire protocol, as psql would ask. */
async function countOverWire(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: string }[]>`select count(*)::text as n from campaigns`;
    return row!.n;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

Deno.test("Looking with sql or status while a sync runs is refused or waits, and loses nothing", async () => {
  await withScenario(SLOW_SYNC, async (s) => {
    const sync = s.spawn(["--json"]);
    await s.watchCheckpoint(sync); // its run is recorded: the database is open
    const sql = await adsync(s, "sql", ["select count(*) from campaigns"]).finished;
    assert.equal(sql.code, 1, explain(sql));
    assert.match(
      sql.stderr,
      new RegExp(
        `^adsync: The embedded database under \\S+ is open by sync \\(pid ${sync.pid}\\); try again when it ends$`,
        "m",
      ),
    );
    const status = await adsync(s, "status").finished;
    assert.equal(status.code, 0, explain(status));
    assert.match(
      status.stdout.replaceAll("\n", " "),
      /A sync is running now on this state dir; it holds the embedded database \(one opener at a time\)/,
    );

    const outcome = await sync.finished;
    assert.equal(outcome.code, 0, explain(outcome));
    await assertNothingLost(s, 1);
  });
});

Deno.test("A bare pglite-server and a sync never share the data directory, in either order", async () => {
  await withScenario(SLOW_SYNC, async (s) => {
    // A sync first: the bare server is refused at PGlite's start, before it reads a page.
    const sync = s.spawn(["--json"]);
    await s.watchCheckpoint(sync);
    const bare = bareServer(s);
    const first = await Promise.race([
      bare.finished.then(() => "the bare server"),
      sync.finished.then(() => "the sync"),
    ]);
    assert.equal(first, "the bare server", "the bare server ended (refused) while the sync ran");
    const refusedServer = await bare.finished;
    assert.notEqual(refusedServer.code, 0, `the bare server opened it:\n${refusedServer.stdout}`);
    assert.doesNotMatch(refusedServer.stdout, /listening/);
    const synced = await sync.finished;
    assert.equal(synced.code, 0, explain(synced));
    await assertNothingLost(s, 1);

    // The bare server first: the sync refuses before any request.
    const server = bareServer(s);
    await waitFor(() => /listening/.test(server.stdout()), "the bare server to listen", {
      process: server,
    });
    const before = s.mock.log.length;
    const refused = await s.run(["--json"]);
    assert.equal(refused.code, 1, explain(refused));
    assert.match(
      refused.stderr,
      /^adsync: The embedded database under \S+ is open by another program \(a pglite-server\?\)/m,
    );
    assert.equal(s.mock.log.length, before, "no request reached the platform");
    server.child.kill("SIGINT");
    await server.finished;
    const again = await s.run(["--json"]);
    assert.equal(again.code, 0, explain(again));
    await assertNothingLost(s, 2);
  });
});
