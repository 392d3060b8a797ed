/**
 * End to end: the real CLI learns the limit the mock advertises (IETF draft fields or
 * X-RateLimit-*), over HTTP, on a time-scaled window of one second.
 */
import assert from "node:assert/strict";
import type { MockRequestLogEntry } from "../../mock-api/server.ts";
import { join } from "node:path";
import { logRecords, spawnSync, type SyncOutcome } from "./_cli.ts";
import {
  assertEveryCampaignOnce,
  assertNo429,
  e2e,
  explain,
  type Scenario,
  summaryOf,
} from "./_scenario.ts";

const WINDOW_MS = 1_000;
const CAMPAIGNS = 40;

/** The most rate-limited requests the mock accepted inside any one window, by their arrival. */
function busiestWindow(log: readonly MockRequestLogEntry[]): number {
  const arrivals = log
    .filter((entry) => entry.path.startsWith("/api/") && entry.status !== 429)
    .map((entry) => entry.at - entry.latencyMs)
    .sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, start = 0; i < arrivals.length; i++) {
    while (arrivals[i]! - arrivals[start]! >= WINDOW_MS) start++;
    most = Math.max(most, i - start + 1);
  }
  return most;
}

/** Runs one sync to its end and checks it synced everything with no 429. */
async function syncAll(s: Scenario, env: Record<string, string>) {
  const outcome = await s.run(["--json"], env);
  assert.equal(outcome.code, 0, explain(outcome));
  const summary = summaryOf(outcome);
  assert.equal(summary.status, "ok");
  assert.equal(summary.rate_limited, 0, explain(outcome));
  assertNo429(s, s.mock.log, "the sync");
  await assertEveryCampaignOnce(s, summary);
  return { outcome, summary };
}

for (const style of ["ietf", "x-ratelimit"] as const) {
  e2e(
    `An account configured at 10 on a platform advertising 5 (${style}) gets no 429`,
    {
      mock: {
        advertise: style,
        campaigns: CAMPAIGNS,
        rateLimit: { count: 10, windowMs: WINDOW_MS },
        clientRateLimits: { acme: { count: 5, windowMs: WINDOW_MS } },
      },
    },
    async (s) => {
      const { summary } = await syncAll(s, {
        AD_PLATFORM_CLIENT_ID: "acme",
        AD_PLATFORM_RATE_LIMIT: "10/1s",
      });
      // X-RateLimit-* carries no window: it is read from the reset and the Date header, both
      // whole seconds (and Date may be cached for up to a second), rounded up: 1 s reads as 1-3 s.
      const window = style === "ietf" ? /^5\/1s$/ : /^5\/[1-3]s$/;
      assert.match(String(summary.rate_limit), window);
      assert.equal(summary.rate_limit_source, "advertised");
      assert.ok(busiestWindow(s.mock.log) <= 5);
    },
  );
}

/** When (epoch ms) the run logged its change of limit to `limit`; fails if it logged none. */
function limitChangedAt(outcome: SyncOutcome, limit: string): number {
  const record = logRecords(outcome.stderr).find((r) =>
    String(r.message).startsWith(`Rate limit now ${limit} (advertised)`)
  );
  assert.ok(record, `no change to ${limit} logged:\n${outcome.stderr}`);
  return Date.parse(String(record.timestamp));
}

/** When the first request of `path` arrived at the mock. */
function firstArrival(log: readonly MockRequestLogEntry[], path: RegExp): number {
  return Math.min(...log.filter((e) => path.test(e.path)).map((e) => e.at - e.latencyMs));
}

/** Forgets the last run's rows and requests, so the next one is counted alone. */
async function nextRun(s: Scenario): Promise<void> {
  s.mock.log.length = 0;
  await s.db!.sql`truncate campaigns`;
}

e2e(
  "An account on auto uses the 20 per window the platform advertises; one configured at 10 keeps 10",
  {
    mock: {
      advertise: "ietf",
      campaigns: CAMPAIGNS,
      rateLimit: { count: 20, windowMs: WINDOW_MS },
    },
  },
  async (s) => {
    const auto = await syncAll(s, { AD_PLATFORM_RATE_LIMIT: "auto" });
    assert.equal(auto.summary.rate_limit, "20/1s");
    assert.equal(auto.summary.rate_limit_source, "advertised");
    const most = busiestWindow(s.mock.log);
    assert.ok(most > 10 && most <= 20, `${most} requests in the busiest window`);
    assert.ok(
      limitChangedAt(auto.outcome, "20/1s") <= firstArrival(s.mock.log, /\/sync$/),
      "learnt from page 1, before any sync was sent",
    );
    await nextRun(s);
    // Right after: the window holds the last run's sends, which 10/60s would wait a minute for.
    const again = await syncAll(s, { AD_PLATFORM_RATE_LIMIT: "auto" });
    assert.equal(again.summary.rate_limit, "20/1s");
    assert.ok(
      limitChangedAt(again.outcome, "20/1s") <= firstArrival(s.mock.log, /^\/api\/campaigns$/),
      "the limit the last run learnt holds from page 1 on",
    );
    await nextRun(s);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS)); // an empty window, as at first
    const configured = await syncAll(s, { AD_PLATFORM_RATE_LIMIT: "10/1s" });
    assert.equal(configured.summary.rate_limit, "10/1s");
    assert.equal(configured.summary.rate_limit_source, "configured");
    assert.equal(busiestWindow(s.mock.log), 10, "the configured ceiling holds");
  },
);

e2e(
  "Garbage rate-limit headers are ignored with one warning, and the configured limit holds",
  { mock: { advertise: "garbage", campaigns: CAMPAIGNS } },
  async (s) => {
    const { outcome, summary } = await syncAll(s, { AD_PLATFORM_RATE_LIMIT: "10/1s" });
    assert.equal(summary.rate_limit, "10/1s");
    assert.equal(summary.rate_limit_source, "configured");
    const warnings = logRecords(outcome.stderr).filter((r) =>
      /rate-limit headers that cannot be read/.test(String(r.message))
    );
    assert.equal(warnings.length, 1, outcome.stderr);
    assert.ok(Number(summary.requests) > 1, "every answer carried the garbage");
  },
);

e2e(
  "A platform advertising 100 while it enforces 10 is kept to its 10: the sync finishes with few 429s and says the advertisement was wrong",
  {
    mock: {
      advertise: "ietf",
      campaigns: 100,
      rateLimit: { count: 10, windowMs: WINDOW_MS },
      advertisedLimit: { count: 100, windowMs: WINDOW_MS },
    },
  },
  async (s) => {
    const metricsFile = join(s.stateDir, "adsync.prom");
    const env = { AD_PLATFORM_RATE_LIMIT: "auto", SYNC_METRICS_FILE: metricsFile };
    const outcome = await s.run(["--json"], env);
    assert.equal(outcome.code, 0, explain(outcome));
    const summary = summaryOf(outcome);
    assert.equal(summary.status, "ok");
    await assertEveryCampaignOnce(s, summary);
    const refused = s.mock.log.filter((entry) => entry.status === 429).length;
    assert.ok(refused <= 10, `${refused} answers 429:\n${outcome.stderr}`);
    assert.equal(summary.rate_limited, refused);
    assert.equal(summary.rate_limit_source, "enforced");
    assert.equal(summary.rate_limit_advertised, "100/1s");
    const enforced = /^(\d+)\/1s$/.exec(String(summary.rate_limit));
    assert.ok(enforced && Number(enforced[1]) <= 10, `rate_limit ${summary.rate_limit}`);
    const warnings = logRecords(outcome.stderr).filter((r) =>
      String(r.message).startsWith("The platform advertises 100/1s but enforces about")
    );
    assert.equal(warnings.length, 1, outcome.stderr);
    const metrics = await Deno.readTextFile(metricsFile);
    assert.match(metrics, /^adsync_advertised_limit_overridden\{account="default"\} 1$/m);
    assert.match(
      metrics,
      /^adsync_rate_limit_requests\{account="default",source="enforced"\} \d+$/m,
    );
    const status = await spawnSync(s.env(env), ["--json"], "status").finished;
    assert.equal(status.code, 0, explain(status));
    const [row] = JSON.parse(status.stdout.trim().split("\n").at(-1)!);
    assert.equal(row.rate_limit_source, "enforced");
    assert.equal(row.rate_limit_advertised, "100/1s");
  },
);
