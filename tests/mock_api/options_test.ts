import assert from "node:assert/strict";
import { MOCK_API_DEFAULTS, parseMockArgs } from "../../mock-api/options.ts";
import { ConfigError } from "../../src/errors.ts";

Deno.test("parseMockArgs without flags gives the documented defaults", () => {
  const options = parseMockArgs([]);
  assert.equal(options.port, 3001);
  assert.deepEqual(options.rateLimit, { count: 10, windowMs: 60_000 });
  assert.equal(options.errorRate, 0.2);
  assert.equal(options.hangRate, 0.1);
  assert.equal(options.syncDelayMs, 2_000);
  assert.equal(options.tokenTtlMs, 3_600_000);
  assert.equal(options.campaigns, 100);
  assert.equal(options.seed, undefined);
  assert.equal(options.email, "admin@mixoads.com");
  assert.equal(options.password, "SuperSecret123!");
  assert.equal(options.retryAfter, "both");
  assert.equal(options.penaltyMs, 0);
  assert.equal(options.hasMoreLies, false);
  assert.equal(options.pastEndRecords, false);
  assert.deepEqual(options.clients, {});
});

Deno.test("parseMockArgs reads every flag, with durations in ms, s, m and h", () => {
  const options = parseMockArgs([
    "--port=0",
    "--rate-limit=5/2s",
    "--error-rate=0",
    "--hang-rate=0.5",
    "--sync-delay=150ms",
    "--token-ttl=2m",
    "--campaigns=7",
    "--seed=42",
    "--email=ops@example.com",
    "--password=pw",
    "--retry-after=header",
    "--penalty=1h",
    "--has-more-lies",
    "--past-end-records",
    "--client=acme=a@acme.example:pw:with:colons",
    "--client=globex=x@globex.example:pw2",
    "--advertise=x-ratelimit",
    "--advertised-limit=100/6s",
    "--client-rate-limit=acme=5/60s",
    "--client-rate-limit=globex=20/1s",
    "--log=requests.jsonl",
  ]);
  assert.deepEqual(options, {
    ...MOCK_API_DEFAULTS,
    port: 0,
    rateLimit: { count: 5, windowMs: 2_000 },
    errorRate: 0,
    hangRate: 0.5,
    syncDelayMs: 150,
    tokenTtlMs: 120_000,
    campaigns: 7,
    seed: 42,
    email: "ops@example.com",
    password: "pw",
    retryAfter: "header",
    penaltyMs: 3_600_000,
    hasMoreLies: true,
    pastEndRecords: true,
    clients: {
      acme: { email: "a@acme.example", password: "pw:with:colons" },
      globex: { email: "x@globex.example", password: "pw2" },
    },
    advertise: "x-ratelimit",
    advertisedLimit: { count: 100, windowMs: 6_000 },
    clientRateLimits: {
      acme: { count: 5, windowMs: 60_000 },
      globex: { count: 20, windowMs: 1_000 },
    },
    logFile: "requests.jsonl",
  });
});

Deno.test("parseMockArgs refuses a bad value with one line naming the flag", () => {
  const cases: [string[], string][] = [
    [["--rate-limit", "10"], "--rate-limit: expected N/duration such as 10/60s"],
    [["--port", "http"], "--port: "],
    [["--port", "70000"], "--port: "],
    [["--error-rate", "1.5"], "--error-rate: "],
    [["--hang-rate", "-0.1"], "--hang-rate: "],
    [["--error-rate", "0.6", "--hang-rate", "0.6"], "--hang-rate: "],
    [["--sync-delay", "soon"], "--sync-delay: "],
    [["--token-ttl", "0s"], "--token-ttl: "],
    [["--campaigns", "lots"], "--campaigns: "],
    [["--seed", "-1"], "--seed: "],
    [["--email="], "--email: "],
    [["--log="], "--log: must not be empty"],
    [["--retry-after", "never"], "--retry-after: expected both, header or body"],
    [["--penalty", "1 day"], "--penalty: "],
    [["--colour"], "--colour: unknown flag"],
    [["--port"], "--port: expected a value"],
    [["--has-more-lies=yes"], "--has-more-lies: takes no value"],
    [["stray"], "stray: unexpected argument"],
    [["--client", "acme"], "--client: expected ID=EMAIL:PASSWORD"],
    [["--client", "acme=a@b.c"], "--client: expected ID=EMAIL:PASSWORD"],
    [["--client", "a=b:c", "--client", "a=d:e"], "--client: a is given twice"],
    [["--advertise", "headers"], "--advertise: expected none, ietf, x-ratelimit or garbage"],
    [["--advertised-limit", "lots"], "--advertised-limit: expected N/duration such as 100/6s"],
    [["--client-rate-limit", "acme"], "--client-rate-limit: expected ID=N/duration"],
    [["--client-rate-limit", "acme=5"], "--client-rate-limit: expected ID=N/duration"],
    [["--client-rate-limit", "=5/1s"], "--client-rate-limit: expected ID=N/duration"],
    [
      ["--client-rate-limit", "a=5/1s", "--client-rate-limit", "a=6/1s"],
      "--client-rate-limit: a is given twice",
    ],
  ];
  for (const [args, start] of cases) {
    assert.throws(() => parseMockArgs(args), (error: unknown) => {
      assert.ok(error instanceof ConfigError, `${args.join(" ")} throws a ConfigError`);
      assert.ok(error.message.startsWith(start), `"${error.message}" starts with "${start}"`);
      assert.ok(!error.message.includes("\n"), "the message is one line");
      return true;
    });
  }
});
