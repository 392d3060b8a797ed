import assert from "node:assert/strict";
import type { RunSummary, SyncSummary } from "../../src/run_summary.ts";
import { AuthError } from "../../src/errors.ts";
import { exitCodeFor, summarize } from "../../src/sync/summary.ts";
import { NO_DRIFT } from "../../src/sync/catalog.ts";
import { acmeAccount } from "../_fixtures.ts";

const summary = (status: RunSummary["status"]) => ({ status }) as RunSummary;

Deno.test("Exit codes follow the SPEC for every way a run ends", () => {
  assert.equal(exitCodeFor(summary("ok"), undefined), 0);
  assert.equal(exitCodeFor(summary("partial"), undefined), 2);
  assert.equal(exitCodeFor(summary("failed"), undefined), 1);
  assert.equal(exitCodeFor(summary("interrupted"), "SIGINT"), 130);
  assert.equal(exitCodeFor(summary("interrupted"), "SIGTERM"), 143);
  assert.equal(exitCodeFor(summary("interrupted"), "max-duration"), 75);
});

Deno.test("A run that finished its work despite a stop request exits as finished", () => {
  assert.equal(exitCodeFor(summary("ok"), "SIGINT"), 0);
  assert.equal(exitCodeFor(summary("partial"), "SIGTERM"), 2);
});

const RESULT = {
  total: 0,
  pagesTotal: 0,
  pagesDone: 0,
  synced: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  skipped: 0,
  failed: 0,
  rejected: 0,
  deleted: 0,
  withheld: 0,
  queued: 0,
  drift: NO_DRIFT,
  interrupted: false,
  fatal: undefined,
};

Deno.test("The summary says the rate limit in force and where it came from", () => {
  const result = RESULT;

  const configured = acmeAccount({ rateLimit: { count: 10, windowMs: 60_000 } });
  assert.deepEqual(
    pick(summarize("run-1", configured, result, 0)),
    { rate_limit: "10/60s", rate_limit_source: "configured" },
  );
  const auto = acmeAccount({ rateLimit: { count: 10, windowMs: 60_000 }, rateLimitAuto: true });
  assert.deepEqual(
    pick(summarize("run-2", auto, result, 0)),
    { rate_limit: "10/60s", rate_limit_source: "default" },
  );
  auto.limits.observe(new Headers({ "RateLimit-Policy": '"default";q=20;w=1' }));
  assert.deepEqual(
    pick(summarize("run-3", auto, result, 0)),
    { rate_limit: "20/1s", rate_limit_source: "advertised" },
  );
});

Deno.test("The summary says what the platform advertised when its 429s showed it enforces less", () => {
  const result = { ...RESULT, total: 1, pagesTotal: 1, pagesDone: 1, synced: 1 };
  const account = acmeAccount({ rateLimit: { count: 10, windowMs: 60_000 }, rateLimitAuto: true });
  account.limits.observe(new Headers({ "RateLimit-Policy": '"default";q=100;w=6' }));
  const honest = summarize("run-1", account, result, 0);
  assert.equal("rate_limit_advertised" in honest, false, "no new field while it is believed");
  for (let i = 0; i < 11; i++) account.limits.sent(Date.now())(i < 10 ? 200 : 429);
  const summary = summarize("run-2", account, result, 0);
  assert.deepEqual(
    { ...pick(summary), advertised: summary.rate_limit_advertised },
    { rate_limit: "10/6s", rate_limit_source: "enforced", advertised: "100/6s" },
  );
  assert.equal(summary.status, "ok", "the run's own fields are as before");
});

function pick({ rate_limit, rate_limit_source }: SyncSummary) {
  return { rate_limit, rate_limit_source };
}

Deno.test("A failed run's summary carries its error's stable code beside its message", () => {
  const account = acmeAccount({ rateLimit: { count: 10, windowMs: 60_000 } });
  const refused = new AuthError("Cannot log in: the platform refused the credentials (401)");
  const failed = summarize("run-1", account, { ...RESULT, fatal: refused }, 0);
  assert.deepEqual([failed.status, failed.last_error, failed.error_code], [
    "failed",
    "Cannot log in: the platform refused the credentials (401)",
    "AUTH_REFUSED",
  ]);
  const bug = summarize("run-2", account, { ...RESULT, fatal: new TypeError("x is undefined") }, 0);
  assert.equal(bug.error_code, "INTERNAL");
  const ok = summarize("run-3", account, RESULT, 0);
  assert.equal("error_code" in ok || "last_error" in ok, false, "no error, no code");
});
