import { type Account, type AccountOptions, createAccount } from "../src/platform/account.ts";
import type { Campaign } from "../src/platform/schemas.ts";

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
  `"double" and 'single' quotes`,
  String.raw`back\slash \n not a newline \\ two`,
  "emoji 🚀🔥 and ZWJ 👩‍👩‍👧",
  "x".repeat(500),
  "tab\tand newline\nand CR\r",
  "$1 $$ ${} %s %d",
];

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
