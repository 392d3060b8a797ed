/**
 * `deno task bench` without flags: syncs one account of the in-process mock at a time-scaled
 * rate limit and reports how close the run came to the limit. Efficiency = the rate-limit floor
 * for the requests sent (the least time any client could have taken to send them) / the wall
 * time from the first request sent to the last answer. Target: at least 0.95, no 429, no
 * request beyond pages + campaigns + the retries the mock forced. Set DATABASE_URL to bench
 * against a server; the default is PGlite.
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface
import { serveMockApi } from "../mock-api/server.ts";
import { loadConfig } from "../src/config.ts";
import { runSyncCommand } from "../src/sync/sync_command.ts";

/** What the single-account bench syncs. */
export interface SingleAccountOptions {
  /** The rate window: 60 s at the real pace. */
  windowMs: number;
  /** Campaigns the mock serves. */
  campaigns: number;
  /** The mock's seed. */
  seed: number;
  /** A `postgres://` URL; undefined syncs into the embedded PGlite. */
  databaseUrl?: string;
}

/** Runs the bench, prints one human line and one JSON line, and returns the exit code. */
export async function runSingleAccountBench(options: SingleAccountOptions): Promise<number> {
  const { windowMs, campaigns, seed, databaseUrl } = options;
  const count = 10;
  const scale = windowMs / 60_000;
  const password = crypto.randomUUID();
  const mock = await serveMockApi({
    email: "bench@adsync.local",
    password,
    rateLimit: { count, windowMs },
    syncDelayMs: Math.round(2_000 * scale),
    campaigns,
    seed,
  });
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_bench_" });
  try {
    const config = loadConfig({
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_EMAIL: "bench@adsync.local",
      AD_PLATFORM_PASSWORD: password,
      AD_PLATFORM_RATE_LIMIT: `${count}/${windowMs}ms`,
      AD_PLATFORM_REQUEST_TIMEOUT: `${Math.round(15_000 * scale)}ms`,
      AD_PLATFORM_LIST_TIMEOUT: `${Math.round(5_000 * scale)}ms`,
      SYNC_RETRY_BACKOFF: `${Math.max(1, Math.round(500 * scale))}ms`,
      SYNC_RETRY_BACKOFF_MAX: `${Math.round(10_000 * scale)}ms`,
      SYNC_STATE_DIR: stateDir,
      DATABASE_URL: databaseUrl,
    }, ["sync"]);
    const summary = await runSyncCommand(config);
    if (summary.last_error) console.log(`The sync failed: ${summary.last_error}`);
    const limited = mock.log.filter((entry) => entry.path.startsWith("/api/"));
    const first = Math.min(...limited.map((entry) => entry.at));
    const last = Math.max(...limited.map((entry) => entry.at + entry.latencyMs));
    const sent = limited.length;
    const floorMs = Math.floor((sent - 1) / count) * windowMs;
    const pages = new Set(limited.filter((e) => e.page !== undefined).map((e) => e.page)).size;
    const forced = limited.filter((e) => e.status === 503 || e.hung).length;
    const report = {
      window_ms: windowMs,
      requests_sent: sent,
      requests_needed: pages + summary.campaigns_total + forced,
      pages,
      campaigns: summary.campaigns_total,
      forced_retries: forced,
      http_429: limited.filter((entry) => entry.status === 429).length,
      floor_ms: floorMs,
      wall_ms: last - first,
      efficiency: Number((floorMs / (last - first)).toFixed(3)),
      status: summary.status,
    };
    console.log(
      `sent ${sent} requests (needed ${report.requests_needed}: ${pages} pages + ` +
        `${summary.campaigns_total} campaigns + ${forced} forced retries), ` +
        `${report.http_429} x 429, floor ${floorMs} ms, wall ${report.wall_ms} ms, ` +
        `efficiency ${report.efficiency} (target >= 0.95), status ${summary.status}`,
    );
    console.log(JSON.stringify(report));
    const met = report.efficiency >= 0.95 && report.http_429 === 0 &&
      sent <= report.requests_needed && summary.status === "ok";
    if (!met) console.log("Target missed.");
    return met ? 0 : 1;
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}
