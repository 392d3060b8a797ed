/**
 * Workers bench: wall time to sync N accounts with W worker processes taking A accounts each, on
 * the mock at a time-scaled pace (the platform's 10 requests a minute become 10 a second, its 2 s
 * sync 33 ms: 60 times faster). Needs a PostgreSQL server: BENCH_DATABASE_URL (a database there is
 * created and dropped per case).
 *
 * ```sh
 * BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *   deno run -A bench/workers_bench.ts 60 1x4 1x12 3x4 3x12
 * ```
 * @module
 */
// deno-lint-ignore-file no-console -- a bench prints its table
import postgres from "postgres";
import { serveMockApi } from "../mock-api/server.ts";

const serverUrl = Deno.env.get("BENCH_DATABASE_URL") ?? Deno.env.get("TEST_DATABASE_URL");
if (!serverUrl) throw new Error("Set BENCH_DATABASE_URL to a PostgreSQL server");
const [countText = "30", ...cases] = Deno.args;
const accounts = Array.from({ length: Number(countText) }, (_, i) => `bench-${i + 1}`);
const CAMPAIGNS = 20;

console.log(`${accounts.length} accounts of ${CAMPAIGNS} campaigns, 10 requests/s per account`);
console.log("workers x accounts each | wall time | x one account's time");
let single: number | undefined;
for (const spec of cases.length > 0 ? cases : ["1x4", "1x12", "3x4", "3x12"]) {
  const [workers, each] = spec.split("x").map(Number) as [number, number];
  const ms = await runCase(workers, each);
  single ??= await runCase(1, 1, [accounts[0]!]);
  console.log(`${spec.padEnd(23)} | ${(ms / 1_000).toFixed(1)} s | ${(ms / single).toFixed(1)}`);
}

async function runCase(workers: number, each: number, ids = accounts): Promise<number> {
  const mock = serveMockApi({
    rateLimit: { count: 10, windowMs: 1_000 },
    syncDelayMs: 33,
    errorRate: 0,
    hangRate: 0,
    campaigns: CAMPAIGNS,
    seed: 1,
  });
  const name = `adsync_bench_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
  await admin`create database ${admin(name)}`;
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  const dir = await Deno.makeTempDir({ prefix: "adsync_bench_" });
  const file = `${dir}/accounts.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({ accounts: ids.map((id) => ({ client_id: id })) }),
  );
  const env = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    AD_PLATFORM_API_URL: mock.url,
    AD_PLATFORM_EMAIL: "admin@mixoads.com",
    AD_PLATFORM_PASSWORD: "SuperSecret123!",
    AD_PLATFORM_RATE_LIMIT: "10/1s",
    AD_PLATFORM_PAGE_SIZE: "10",
    DATABASE_URL: url.href,
    SYNC_ACCOUNTS_FILE: file,
    SYNC_STATE_DIR: dir,
    SYNC_WORKER_ACCOUNTS: String(each),
    LOG_LEVEL: "warning",
  };
  const cli = (command: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", command],
      cwd: new URL("..", import.meta.url).pathname,
      env,
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    });
  const sql = postgres(url.href, { max: 1, onnotice: () => {} });
  try {
    await cli("enqueue").output();
    const started = Date.now();
    const children = Array.from({ length: workers }, () => cli("worker").spawn());
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [row] = await sql`select count(*)::int as done from pgboss.job
        where name = 'adsync-account-sync' and state = 'completed'`.catch(() => [{ done: 0 }]);
      if (row!.done >= ids.length) break;
    }
    const ms = Date.now() - started;
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => child.status));
    return ms;
  } finally {
    await sql.end();
    await admin`drop database if exists ${admin(name)} with (force)`;
    await admin.end();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
}
