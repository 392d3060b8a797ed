/**
 * `deno run -A bench/advertised_limit.ts [--window 6s] [--campaigns 100] [--concurrency N]`:
 * syncs one account of the in-process mock twice with the same settings (`rate_limit: auto`):
 * once against a platform that advertises the 10 per window it enforces, once against one that
 * advertises 100 while it enforces 10. Prints each run's time at the platform (first API request
 * received to last answered: the database's start-up is left out) and 429s, and the ratio
 * lying / honest (target: at most 2, with at most 10 answers 429). PGlite unless DATABASE_URL.
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface
import { parseArgs } from "node:util";
import type { MockApiOptions } from "../mock-api/options.ts";
import { serveMockApi } from "../mock-api/server.ts";
import { loadConfig } from "../src/config.ts";
import { parseDuration } from "../src/duration.ts";
import { runSyncCommand } from "../src/sync/sync_command.ts";

/** One run's outcome. */
interface Run {
  status: string;
  /** From the first API request the mock received to its last answer. */
  platformMs: number;
  /** The whole sync command, the database's start-up included. */
  wallMs: number;
  refused: number;
  rateLimit: string;
  source: string;
}

/** Syncs every campaign of a fresh mock with `claim` advertised, and times it. */
async function syncOnce(
  windowMs: number,
  campaigns: number,
  claim: MockApiOptions["advertisedLimit"],
  concurrency: number | undefined,
): Promise<Run> {
  const password = crypto.randomUUID();
  const mock = await serveMockApi({
    email: "bench@adsync.local",
    password,
    rateLimit: { count: 10, windowMs },
    advertise: "ietf",
    ...(claim ? { advertisedLimit: claim } : {}),
    syncDelayMs: Math.round(windowMs / 3),
    errorRate: 0,
    hangRate: 0,
    campaigns,
    seed: 1,
  });
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_bench_" });
  try {
    const config = loadConfig({
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_EMAIL: "bench@adsync.local",
      AD_PLATFORM_PASSWORD: password,
      AD_PLATFORM_RATE_LIMIT: "auto",
      SYNC_STATE_DIR: stateDir,
      DATABASE_URL: Deno.env.get("DATABASE_URL"),
      LOG_LEVEL: "error",
      ...(concurrency ? { SYNC_CONCURRENCY: String(concurrency) } : {}),
    }, ["sync"]);
    const started = performance.now();
    const summary = await runSyncCommand(config);
    const api = mock.log.filter((entry) => entry.path.startsWith("/api/"));
    const first = Math.min(...api.map((entry) => entry.at - entry.latencyMs));
    const last = Math.max(...api.map((entry) => entry.at));
    return {
      status: summary.status,
      platformMs: last - first,
      wallMs: Math.round(performance.now() - started),
      refused: mock.log.filter((entry) => entry.status === 429).length,
      rateLimit: String(summary.rate_limit),
      source: String(summary.rate_limit_source),
    };
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    window: { type: "string", default: "6s" },
    campaigns: { type: "string", default: "100" },
    concurrency: { type: "string" },
  },
});
const windowMs = parseDuration(values.window) ?? 6_000;
const campaigns = Number(values.campaigns);
const concurrency = values.concurrency ? Number(values.concurrency) : undefined;
const honest = await syncOnce(windowMs, campaigns, undefined, concurrency);
const lying = await syncOnce(windowMs, campaigns, { count: 100, windowMs }, concurrency);
const ratio = lying.platformMs / honest.platformMs;
console.log(
  `honest: ${honest.platformMs} ms, ${honest.refused} x 429, ${honest.rateLimit} ${honest.source}; ` +
    `lying (advertises 100): ${lying.platformMs} ms, ${lying.refused} x 429, ` +
    `${lying.rateLimit} ${lying.source}; ratio ${ratio.toFixed(2)}`,
);
console.log(JSON.stringify({ windowMs, campaigns, concurrency, honest, lying, ratio }));
