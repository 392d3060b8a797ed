import { DEFAULT_MOCK_PORT, MOCK_API_DEFAULTS, MOCK_FLAGS } from "./options.ts";

type Flag = keyof typeof MOCK_FLAGS;

/**
 * Words for the mock's flags. A flag missing here still shows (with its value's name), so a new
 * one is never left out of `deno task mock --help`.
 */
const FLAG_HELP: Partial<Record<Flag, { arg: string; text: string }>> = {
  "port": { arg: "N", text: `port to listen on [${DEFAULT_MOCK_PORT}]; 0 picks a free one` },
  "rate-limit": { arg: "N/DUR", text: "accepted requests per client per window" },
  "error-rate": { arg: "P", text: "share of list requests answered 503" },
  "hang-rate": { arg: "P", text: "share of list requests never answered" },
  "sync-delay": { arg: "DUR", text: "how long POST /api/campaigns/:id/sync takes" },
  "token-ttl": { arg: "DUR", text: "lifetime of an issued token" },
  "campaigns": { arg: "N", text: "campaigns per client" },
  "seed": { arg: "N", text: "seed of the data and failure draws [random]" },
  "email": { arg: "EMAIL", text: "the login email clients use" },
  "password": { arg: "PASSWORD", text: "the login password clients use" },
  "retry-after": { arg: "MODE", text: "429 wait in: header, body or both" },
  "penalty": { arg: "DUR", text: "how long a client stays refused after a 429" },
  "has-more-lies": { arg: "", text: "compute has_more as if the limit were always 10" },
  "past-end-records": { arg: "", text: "answer pages past the end with records" },
  "max-limit": { arg: "N", text: "largest page size served (larger: capped)" },
  "client": { arg: "ID=EMAIL:PW", text: "a client with its own login (repeatable)" },
  "advertise": { arg: "MODE", text: "limit headers: ietf, x-ratelimit, garbage" },
  "advertised-limit": { arg: "N/DUR", text: "limit the headers claim [the enforced one]" },
  "client-rate-limit": { arg: "ID=N/DUR", text: "a client's own limit (repeatable)" },
  "log": { arg: "FILE", text: "write the request lines to FILE, not stdout" },
};

/** A duration as one would type it: 2s, 1h, 70ms. */
function dur(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

/** The defaults as the help shows them, by flag. */
function defaults(): Partial<Record<Flag, string>> {
  const d = MOCK_API_DEFAULTS;
  return {
    "rate-limit": `${d.rateLimit.count}/${dur(d.rateLimit.windowMs)}`,
    "error-rate": String(d.errorRate),
    "hang-rate": String(d.hangRate),
    "sync-delay": dur(d.syncDelayMs),
    "token-ttl": dur(d.tokenTtlMs),
    "campaigns": String(d.campaigns),
    "email": d.email,
    "password": d.password,
    "retry-after": d.retryAfter,
    "penalty": dur(d.penaltyMs),
    "max-limit": String(d.maxLimit),
    "advertise": d.advertise,
  };
}

/** The text of `deno task mock --help`. */
export function mockUsage(): string {
  const shown = defaults();
  const rows = (Object.keys(MOCK_FLAGS) as Flag[]).map((flag) => {
    const help = FLAG_HELP[flag];
    const boolean = MOCK_FLAGS[flag].type === "boolean";
    const arg = help?.arg ?? (boolean ? "" : "VALUE");
    const fallback = shown[flag] === undefined ? "" : ` [${shown[flag]}]`;
    return `  ${`--${flag}${arg ? ` ${arg}` : ""}`.padEnd(26)} ${help?.text ?? ""}${fallback}`;
  });
  return `Usage: deno task mock [flags]    (or: deno run -A mock-api/main.ts [flags])

Serves a simulated Ad Platform (see the README): a sliding-window rate limit,
503s, hangs and expiring tokens. Prints one startup line, then one JSON line per
request. Clients log in with the email and password below (the demo login).

Flags (durations take ms, s, m or h):
${rows.join("\n")}
  -h, --help                 this text`;
}
