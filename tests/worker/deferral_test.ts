import assert from "node:assert/strict";
import { AuthError, HttpError, NetworkError, TimeoutError } from "../../src/errors.ts";
import {
  DEFER_AFTER_WINDOWS,
  deferralFor,
  LOGIN_BACKOFF_CAP_MS,
} from "../../src/worker/deferral.ts";

const WINDOW = 60_000;
const url = "http://platform.test/api/campaigns";
const tooMany = (retryAfterMs?: number) =>
  new HttpError("Cannot fetch page 1: 429 Too Many Requests", { status: 429, url, retryAfterMs });
const request = { during: "request" as const, windowMs: WINDOW, handBacks: 0 };
const login = { during: "login" as const, windowMs: WINDOW, handBacks: 0 };

Deno.test("A 429 asking a wait of a few windows at most is held, not handed back", () => {
  assert.equal(deferralFor(tooMany(2_000), request), undefined);
  assert.equal(deferralFor(tooMany(DEFER_AFTER_WINDOWS * WINDOW), request), undefined);
  assert.equal(deferralFor(tooMany(undefined), request), undefined, "no wait said: one window");
});

Deno.test("A 429 asking a longer wait hands the account back for exactly that wait", () => {
  const deferral = deferralFor(tooMany(DEFER_AFTER_WINDOWS * WINDOW + 1_000), request);
  assert.equal(deferral?.delayMs, DEFER_AFTER_WINDOWS * WINDOW + 1_000);
  assert.match(deferral!.reason, /asked to wait 181 s/);
  // Beyond the longest hold (two minutes) the platform's word is kept, not cut.
  assert.equal(deferralFor(tooMany(3_600_000), request)?.delayMs, 3_600_000);
});

Deno.test("Other failures of a request are the retry loop's, never a hand-back", () => {
  for (
    const error of [new HttpError("503", { status: 503, url }), new NetworkError("x", { url })]
  ) {
    assert.equal(deferralFor(error, request), undefined);
  }
});

Deno.test("A login that failed transiently is handed back, a window doubling per hand-back", () => {
  const down = new HttpError("Cannot log in: 503 Service Unavailable", { status: 503, url });
  assert.equal(deferralFor(down, login)?.delayMs, WINDOW);
  assert.equal(deferralFor(down, { ...login, handBacks: 2 })?.delayMs, 4 * WINDOW);
  assert.equal(deferralFor(down, { ...login, handBacks: 50 })?.delayMs, LOGIN_BACKOFF_CAP_MS);
  assert.equal(deferralFor(new NetworkError("refused", { url }), login)?.delayMs, WINDOW);
  assert.equal(deferralFor(new TimeoutError("slow", { url }), login)?.delayMs, WINDOW);
  assert.match(deferralFor(down, login)!.reason, /^login failed \(Cannot log in: 503.*60 s$/);
});

Deno.test("A login's 429 comes back after the wait it asked, when longer than the backoff", () => {
  assert.equal(deferralFor(tooMany(5 * WINDOW), login)?.delayMs, 5 * WINDOW);
  assert.equal(deferralFor(tooMany(1_000), login)?.delayMs, WINDOW);
});

Deno.test("Refused credentials (401, 403) and bugs are never handed back", () => {
  const refused = new AuthError("Cannot log in: the platform refused the credentials (401)", {
    url,
  });
  assert.equal(deferralFor(refused, login), undefined);
  assert.equal(deferralFor(new HttpError("403", { status: 403, url }), login), undefined);
  assert.equal(deferralFor(new TypeError("bug"), login), undefined);
});
