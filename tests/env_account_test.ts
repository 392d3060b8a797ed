import assert from "node:assert/strict";
import { join } from "node:path";
import { envAccount, envAccountPassword, type EnvAccountSettings } from "../src/env_account.ts";
import { ConfigError } from "../src/errors.ts";
import { AUTO_RATE_LIMIT } from "../src/settings.ts";

const SETTINGS: EnvAccountSettings = {
  clientId: "acme",
  apiUrl: "http://api.test",
  email: "ops@acme.test",
  passwordFile: undefined,
  rateLimit: { count: 10, windowMs: 60_000 },
  pageSize: 100,
};

/** The I/O of envAccount, reading no file unless a test gives one. */
function io(env: Record<string, string | undefined>, withPassword: boolean) {
  const reads: string[] = [];
  return {
    reads,
    env,
    withPassword,
    readTextFile: (path: string) => {
      reads.push(path);
      return Deno.readTextFileSync(path);
    },
  };
}

Deno.test("The environment's account carries its AD_PLATFORM_* settings and password", () => {
  const { own } = envAccount(SETTINGS, io({ AD_PLATFORM_PASSWORD: "hunter2" }, true));
  assert.deepEqual(own, {
    clientId: "acme",
    apiUrl: "http://api.test",
    email: "ops@acme.test",
    password: "hunter2",
    rateLimit: { count: 10, windowMs: 60_000 },
    rateLimitAuto: false,
    pageSize: 100,
    credentialsFrom: "AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD",
  });
});

Deno.test("Without withPassword a missing password does not fail until it is asked for", () => {
  const account = envAccount({ ...SETTINGS, email: undefined }, io({}, false));
  assert.equal(account.own.password, "");
  assert.equal(account.own.email, "", "an unset email is empty");
  assert.throws(() => account.password(), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.setting, "AD_PLATFORM_PASSWORD");
    assert.equal(
      error.message,
      "AD_PLATFORM_PASSWORD: is required, or AD_PLATFORM_PASSWORD_FILE " +
        "(set it in .env: cp .env.example .env; --help lists every setting)",
    );
    return true;
  });
});

Deno.test("With withPassword a missing password fails at once with its ConfigError", () => {
  assert.throws(() => envAccount(SETTINGS, io({}, true)), ConfigError);
});

Deno.test("The password file is read once, without its trailing newline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_env_account_" });
  try {
    const path = join(dir, "password");
    await Deno.writeTextFile(path, "from-a-file\n");
    const files = io({}, false);
    const account = envAccount({ ...SETTINGS, passwordFile: path }, files);
    assert.deepEqual(files.reads, [], "not read before it is asked for");
    assert.equal(account.password(), "from-a-file");
    assert.equal(account.password(), "from-a-file");
    assert.deepEqual(files.reads, [path], "read once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A password set both in the environment and as a file is refused", () => {
  const account = envAccount(
    { ...SETTINGS, passwordFile: "/nonexistent/password" },
    io({ AD_PLATFORM_PASSWORD: "hunter2" }, false),
  );
  assert.throws(() => account.password(), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.setting, "AD_PLATFORM_PASSWORD_FILE");
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
});

Deno.test("An empty password file is refused naming the setting and the path, not a content", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adsync_env_account_" });
  try {
    const path = join(dir, "password");
    await Deno.writeTextFile(path, "\n");
    const account = envAccount({ ...SETTINGS, passwordFile: path }, io({}, false));
    assert.throws(() => account.password(), {
      name: "ConfigError",
      message: `AD_PLATFORM_PASSWORD_FILE: ${path} is empty`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rate_limit auto starts from the default limit and follows the advertised one", () => {
  const { own } = envAccount({ ...SETTINGS, rateLimit: "auto" }, io({}, false));
  assert.deepEqual(own.rateLimit, AUTO_RATE_LIMIT);
  assert.notEqual(own.rateLimit, AUTO_RATE_LIMIT, "a copy: the shared default stays untouched");
  assert.equal(own.rateLimitAuto, true);
});

Deno.test("envAccountPassword without a file passes a missing password's error on", () => {
  const missing = () => {
    throw new ConfigError("AD_PLATFORM_PASSWORD", "is required");
  };
  assert.throws(() => envAccountPassword(false, missing), ConfigError);
});

Deno.test("envAccountPassword with an accounts file treats a missing password as empty", () => {
  const missing = () => {
    throw new ConfigError("AD_PLATFORM_PASSWORD", "is required");
  };
  assert.equal(envAccountPassword(true, missing), "");
  assert.equal(envAccountPassword(true, () => "hunter2"), "hunter2");
});

Deno.test("envAccountPassword with an accounts file still passes an unexpected error on", () => {
  const broken = () => {
    throw new TypeError("a bug");
  };
  assert.throws(() => envAccountPassword(true, broken), TypeError);
});
