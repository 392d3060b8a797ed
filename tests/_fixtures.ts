import type { MockApiOptions } from "../mock-api/server.ts";
import { type Account, type AccountOptions, createAccount } from "../src/platform/account.ts";
import type { Campaign } from "../src/platform/schemas.ts";
import type { RunSummary } from "../src/run_summary.ts";

/** A valid campaign record, numbered; spread it to vary a field. */
export function campaign(n: number): Campaign {
  return {
    id: `campaign_${n}`,
    name: `Campaign ${n}`,
    status: "active",
    budget: 1000 + n + 0.25,
    impressions: 10_000 * n,
    clicks: 100 * n,
    conversions: n,
    created_at: "2026-01-15T10:00:00.000Z",
  };
}

/** Names that break naive SQL, JSON or terminal handling; each must round-trip byte-exact. */
export const HOSTILE_NAMES = [
  `Robert'); DROP TABLE campaigns;--`,
  `'); DROP TABLE campaigns; --`,
  `"double" and 'single' quotes`,
  `O'Brien's "quoted" campaign`,
  String.raw`back\slash \n not a newline \\ two`,
  "back\\slash \\n \\x00 \\\\ trailing\\",
  "emoji 🚀🔥 and ZWJ 👩‍👩‍👧",
  "emoji 🚀 family 👩‍👩‍👧 flag 🇫🇷",
  "x".repeat(500),
  "long ".repeat(120) + "é",
  "tab\tand newline\nand CR\r",
  "tab\tnewline\ncarriage\rreturn",
  "$1 $$ ${} %s %d",
  "$1 ${name} %s {{x}} ? :name",
  "right-to-left \u202e override and zero\u200bwidth",
];

/** A mock with no 503s, no hangs, no sync delay and a fixed seed; spread it to vary a knob. */
export const CALM_MOCK: Partial<MockApiOptions> = {
  errorRate: 0,
  hangRate: 0,
  syncDelayMs: 0,
  seed: 7,
};

/** A finished run of 100 campaigns; spread it to vary a count. */
export const RUN_SUMMARY: RunSummary = {
  run_id: "run-1",
  status: "ok",
  campaigns_total: 100,
  synced: 100,
  inserted: 3,
  updated: 5,
  unchanged: 92,
  skipped: 0,
  failed: 0,
  rejected: 0,
  deleted: 0,
  deletions_withheld: 0,
  requests: 131,
  rate_limited: 0,
  retries: 21,
  timeouts: 9,
  token_refreshes: 1,
  duration_ms: 754_000,
};

/** Credentials the mock accepts by default. */
export const MOCK_CREDENTIALS = { email: "admin@mixoads.com", password: "SuperSecret123!" };

/** Turns a mock handler into a `fetch`, so unit tests skip the network. */
export function handlerFetch(handler: (req: Request) => Promise<Response>): typeof fetch {
  return (input, init) => handler(new Request(input, init));
}

/** Account "acme" of an in-process mock, with a limit the tests do not reach; override any option. */
export function acmeAccount(overrides: Partial<AccountOptions> = {}): Account {
  return createAccount({
    baseUrl: "http://mock.test",
    clientId: "acme",
    credentials: MOCK_CREDENTIALS,
    rateLimit: { count: 1000, windowMs: 60_000 },
    ...overrides,
  });
}
