import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";

const FILE = "/etc/adsync/accounts.json";
const baseEnv = {
  AD_PLATFORM_EMAIL: "ops@example.com",
  AD_PLATFORM_PASSWORD: "env-pw",
  SYNC_ACCOUNTS_FILE: FILE,
};

/** A `readTextFile` serving the accounts file and secret files from memory. */
function files(accounts: unknown, extra: Record<string, string> = {}) {
  const contents: Record<string, string> = {
    [FILE]: typeof accounts === "string" ? accounts : JSON.stringify(accounts),
    ...extra,
  };
  return (path: string) => {
    const text = contents[path];
    if (text === undefined) throw new Deno.errors.NotFound(`No such file: ${path}`);
    return text;
  };
}

function load(accounts: unknown, options: { env?: object; args?: string[]; extra?: object } = {}) {
  return loadConfig(
    { ...baseEnv, ...options.env } as Record<string, string>,
    options.args ?? [],
    { readTextFile: files(accounts, options.extra as Record<string, string>) },
  );
}

function loadError(accounts: unknown, options: Parameters<typeof load>[1] = {}): ConfigError {
  try {
    load(accounts, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error;
  }
  assert.fail("expected loadConfig to throw");
}

const ISSUE_EXAMPLE = {
  defaults: { email: "ops@agency.example", password_env: "AD_PLATFORM_PASSWORD" },
  accounts: [
    { client_id: "acme" },
    {
      client_id: "globex",
      email: "x@globex.example",
      password_file: "/run/secrets/globex",
      rate_limit: "20/60s",
    },
  ],
};

Deno.test("an accounts file resolves each account from its entry, then defaults, then the environment", () => {
  const config = load(ISSUE_EXAMPLE, {
    env: { AD_PLATFORM_API_URL: "http://platform.example/", AD_PLATFORM_PAGE_SIZE: "50" },
    extra: { "/run/secrets/globex": "globex-pw\n" },
  });
  assert.equal(config.accountsFile, FILE);
  assert.deepEqual(config.accounts, [
    {
      clientId: "acme",
      apiUrl: "http://platform.example",
      email: "ops@agency.example",
      password: "env-pw",
      rateLimit: { count: 10, windowMs: 60_000 },
      rateLimitAuto: true,
      pageSize: 50,
      credentialsFrom: `defaults.email and defaults.password_env (AD_PLATFORM_PASSWORD) in ${FILE}`,
    },
    {
      clientId: "globex",
      apiUrl: "http://platform.example",
      email: "x@globex.example",
      password: "globex-pw",
      rateLimit: { count: 20, windowMs: 60_000 },
      rateLimitAuto: false,
      pageSize: 50,
      credentialsFrom:
        `accounts[1] (globex).email and accounts[1] (globex).password_file in ${FILE}`,
    },
  ]);
  // The environment's own account stays as it was, for compatibility.
  assert.equal(config.clientId, "default");
  assert.equal(config.password, "env-pw");
});

Deno.test("An account names where its email and password are set, for a refused login", () => {
  const config = load({
    accounts: [
      { client_id: "env" },
      { client_id: "own", email: "own@example.com", password_env: "OWN_PW" },
    ],
  }, { env: { OWN_PW: "own-pw" } });
  const from = config.accounts.map((account) => account.credentialsFrom);
  assert.deepEqual(from, [
    "AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD",
    `accounts[1] (own).email and accounts[1] (own).password_env (OWN_PW) in ${FILE}`,
  ]);
});

Deno.test("an accounts file entry overrides defaults field by field", () => {
  const config = load({
    defaults: { api_url: "https://a.example", page_size: 20, rate_limit: "5/1s" },
    accounts: [{ client_id: "acme", api_url: "https://b.example", page_size: 30 }],
  });
  const [acme] = config.accounts;
  assert.equal(acme?.apiUrl, "https://b.example");
  assert.equal(acme?.pageSize, 30);
  assert.deepEqual(acme?.rateLimit, { count: 5, windowMs: 1_000 });
});

Deno.test("an accounts file names the file, the entry and the field of a bad value", () => {
  const error = loadError({
    accounts: [
      { client_id: "acme" },
      { client_id: "initech" },
      { client_id: "globex", rate_limit: "ten a minute" },
    ],
  });
  assert.equal(error.setting, "SYNC_ACCOUNTS_FILE");
  assert.equal(
    error.message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[2] (globex).rate_limit: ` +
      "expected auto or N/duration such as 10/60s",
  );
  assert.equal(
    loadError({ accounts: [{ client_id: "acme", page_size: 0 }] }, {
      args: ["--accounts-file", FILE],
    }).message,
    `--accounts-file: ${FILE}: accounts[0] (acme).page_size: expected a whole number from 1 to 1000`,
  );
  assert.equal(
    loadError({ accounts: [{ client_id: "acme", rate_limit: "10/60" }] }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0] (acme).rate_limit: ` +
      "expected auto or N/duration such as 10/60s: the window needs a unit (ms, s, m or h)",
  );
});

Deno.test("an accounts file refuses an unparsable api_url without showing it", () => {
  const error = loadError({
    accounts: [{ client_id: "acme", api_url: "http://admin:hunter2@exa mple.com" }],
  });
  assert.equal(
    error.message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0] (acme).api_url: expected an http(s) URL`,
  );
});

Deno.test("an accounts file refuses a literal password and says where secrets go", () => {
  for (
    const file of [
      { accounts: [{ client_id: "acme", password: "hunter2" }] },
      { defaults: { password: "hunter2" }, accounts: [{ client_id: "acme" }] },
    ]
  ) {
    const error = loadError(file);
    assert.match(error.message, /^SYNC_ACCOUNTS_FILE: \/etc\/adsync\/accounts\.json: /);
    assert.match(error.message, /(accounts\[0\] \(acme\)|defaults)\.password: a password may not/);
    assert.match(error.message, /password_env.*password_file/);
    assert.doesNotMatch(error.message, /hunter2/);
  }
});

Deno.test("an accounts file refuses unknown fields, so a typo cannot pass silently", () => {
  assert.equal(
    loadError({ accounts: [{ client_id: "acme", ratelimit: "5/1s" }] }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0] (acme).ratelimit: unknown field (expected ` +
      "client_id, email, password_env, password_file, api_url, rate_limit, page_size or enabled)",
  );
  assert.match(
    loadError({ defaults: { emial: "x" }, accounts: [{ client_id: "acme" }] }).message,
    /: defaults\.emial: unknown field \(expected email, password_env, password_file, api_url, /,
  );
  assert.equal(
    loadError({ defaults: { client_id: "acme" }, accounts: [{ client_id: "acme" }] }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: defaults.client_id: belongs in each account, not in defaults`,
  );
  assert.match(
    loadError({ accounts: [{ client_id: "acme" }], default: {} }).message,
    new RegExp(`${FILE}: default: unknown field \\(expected defaults or accounts\\)`),
  );
});

Deno.test("an accounts file requires a valid, unique client_id in every entry", () => {
  assert.equal(
    loadError({ accounts: [{ email: "x@example.com" }] }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0].client_id: is required`,
  );
  assert.match(
    loadError({ accounts: [{ client_id: "a b" }] }).message,
    /accounts\[0\] \(a b\)\.client_id: expected 1-100 letters, digits/,
  );
  assert.equal(
    loadError({ accounts: [{ client_id: "acme" }, { client_id: "x" }, { client_id: "acme" }] })
      .message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[2] (acme).client_id: duplicates accounts[0]`,
  );
});

Deno.test("an accounts file must list an account and enable one", () => {
  assert.equal(
    loadError({ accounts: [] }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts: must list at least one account`,
  );
  assert.equal(
    loadError({ defaults: {} }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts: expected a list of accounts`,
  );
  assert.equal(
    loadError({
      accounts: [{ client_id: "a", enabled: false }, { client_id: "b", enabled: false }],
    })
      .message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: every account is disabled (enabled: false)`,
  );
});

Deno.test("an accounts file leaves disabled accounts out, keeping file order", () => {
  const config = load({
    defaults: { enabled: false },
    accounts: [
      { client_id: "c", enabled: true },
      { client_id: "a" },
      { client_id: "b", enabled: true },
    ],
  });
  assert.deepEqual(config.accounts.map((a) => a.clientId), ["c", "b"]);
});

Deno.test("--account picks accounts from the file and names an unknown or disabled one", () => {
  const file = {
    accounts: [
      { client_id: "acme" },
      { client_id: "globex" },
      { client_id: "initech" },
      { client_id: "hooli", enabled: false },
    ],
  };
  const config = load(file, { args: ["--account", "initech", "--account", "acme"] });
  assert.deepEqual(config.accounts.map((a) => a.clientId), ["acme", "initech"]);
  assert.equal(
    loadError(file, { args: ["--account", "acme", "--account", "umbrella"] }).message,
    `--account: unknown account 'umbrella' (not in ${FILE})`,
  );
  assert.equal(
    loadError(file, { args: ["--account", "hooli"] }).message,
    `--account: account 'hooli' is disabled in ${FILE}`,
  );
});

Deno.test("an accounts file reads passwords from named variables and files only when syncing", () => {
  const file = {
    accounts: [
      { client_id: "acme", password_env: "ACME_PW" },
      { client_id: "globex", password_file: "/run/secrets/globex" },
    ],
  };
  assert.equal(
    loadError(file).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0] (acme).password_env: ACME_PW is not set`,
  );
  assert.equal(
    loadError(file, { env: { ACME_PW: "acme-pw" } }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[1] (globex).password_file: ` +
      "cannot read /run/secrets/globex (NotFound)",
  );
  const status = load(file, { args: ["status"] });
  assert.deepEqual(status.accounts.map((a) => [a.clientId, a.password]), [
    ["acme", ""],
    ["globex", ""],
  ]);
});

Deno.test("an accounts file needs no environment password when every account has its own", () => {
  const config = loadConfig(
    { SYNC_ACCOUNTS_FILE: FILE, ACME_PW: "acme-pw" },
    [],
    {
      readTextFile: files({
        defaults: { email: "ops@agency.example" },
        accounts: [{ client_id: "acme", password_env: "ACME_PW" }],
      }),
    },
  );
  assert.equal(config.accounts[0]?.password, "acme-pw");
  assert.equal(config.password, "");
  const error = loadError({ accounts: [{ client_id: "acme" }] }, {
    env: { AD_PLATFORM_EMAIL: "", AD_PLATFORM_PASSWORD: "" },
  });
  assert.equal(
    error.message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0] (acme).email: ` +
      "is required (in the entry, in defaults or as AD_PLATFORM_EMAIL)",
  );
});

Deno.test("an accounts file refuses both password sources in one place", () => {
  assert.equal(
    loadError({
      accounts: [{ client_id: "acme", password_env: "PW", password_file: "/run/pw" }],
    }).message,
    `SYNC_ACCOUNTS_FILE: ${FILE}: accounts[0] (acme): set password_env or password_file, not both`,
  );
});

Deno.test("an accounts file that is not JSON is refused without quoting it", () => {
  const error = loadError('{"accounts": [{"client_id": "acme", "password_env": "hunter2" x}]}');
  assert.match(error.message, new RegExp(`^SYNC_ACCOUNTS_FILE: ${FILE}: is not valid JSON`));
  assert.doesNotMatch(error.message, /hunter2/);
  assert.equal(
    loadError(ISSUE_EXAMPLE, { env: { SYNC_ACCOUNTS_FILE: "/nowhere.json" } }).message,
    "SYNC_ACCOUNTS_FILE: /nowhere.json: cannot read it (NotFound)",
  );
});

Deno.test("an accounts file is read from disk by default", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_accounts_" });
  try {
    const path = join(dir, "accounts.json");
    await Deno.writeTextFile(path, JSON.stringify({ accounts: [{ client_id: "acme" }] }));
    const config = loadConfig({ ...baseEnv, SYNC_ACCOUNTS_FILE: path }, []);
    assert.deepEqual(config.accounts.map((a) => a.clientId), ["acme"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an accounts file sets rate_limit auto or a ceiling per account, over the environment's", () => {
  const config = load({
    defaults: { rate_limit: "auto" },
    accounts: [{ client_id: "acme" }, { client_id: "globex", rate_limit: "5/1s" }],
  }, { env: { AD_PLATFORM_RATE_LIMIT: "20/1m" } });
  assert.deepEqual(config.accounts.map((a) => [a.clientId, a.rateLimit, a.rateLimitAuto]), [
    ["acme", { count: 10, windowMs: 60_000 }, true],
    ["globex", { count: 5, windowMs: 1_000 }, false],
  ]);
  const silent = load({ accounts: [{ client_id: "acme" }] }, {
    env: { AD_PLATFORM_RATE_LIMIT: "20/1m" },
  });
  assert.deepEqual(silent.accounts[0]?.rateLimit, { count: 20, windowMs: 60_000 });
  assert.equal(silent.accounts[0]?.rateLimitAuto, false, "the environment's ceiling");
});

Deno.test("An accounts file that starts with a byte order mark parses", () => {
  const config = load(`\uFEFF${JSON.stringify({ accounts: [{ client_id: "acme" }] })}`);
  assert.deepEqual(config.accounts.map((a) => a.clientId), ["acme"]);
});

Deno.test("A client_id holding a newline or an escape is never echoed raw", () => {
  const forged = "acme\nadsync: all accounts synced\u001b[2K";
  const messages = [
    loadError({ accounts: [{ client_id: forged }] }).message,
    loadError({ accounts: [{ client_id: "acme" }] }, { args: ["--account", forged] }).message,
    (() => {
      try {
        loadConfig({ ...baseEnv, SYNC_ACCOUNTS_FILE: "" } as Record<string, string>, [
          "--account",
          forged,
        ]);
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    })(),
  ];
  for (const message of messages) {
    assert.ok(message.length > 0);
    // deno-lint-ignore no-control-regex -- the test looks for the raw characters
    assert.doesNotMatch(message, /[\n\u001b]/, `raw control character in: ${message}`);
    assert.match(message, /acme\\nadsync: all accounts synced\\u001b\[2K/);
  }
});
