import assert from "node:assert/strict";
import { createMockApi } from "../../mock-api/server.ts";
import { checkLogins, describeLoginFailure } from "../../src/check/login_check.ts";
import { loadConfig } from "../../src/config.ts";
import {
  AuthError,
  HttpError,
  InvalidAnswerError,
  NetworkError,
  TimeoutError,
} from "../../src/errors.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";

const API = "http://platform.test";

/** A config of three accounts from a file; globex's password is wrong. */
function threeAccounts() {
  const file = JSON.stringify({
    defaults: { email: MOCK_CREDENTIALS.email, password_env: "GOOD_PW", api_url: API },
    accounts: [
      { client_id: "acme" },
      { client_id: "globex", password_env: "BAD_PW" },
      { client_id: "initech" },
    ],
  });
  const env = {
    SYNC_ACCOUNTS_FILE: "accounts.json",
    GOOD_PW: MOCK_CREDENTIALS.password,
    BAD_PW: "not-the-password",
    SYNC_RETRY_BACKOFF: "1ms",
  };
  return loadConfig(env, ["check"], { readTextFile: () => file });
}

Deno.test("checkLogins logs each account in once and sends no listing or sync request", async () => {
  const api = createMockApi(CALM_MOCK);
  try {
    const results = await checkLogins(threeAccounts(), {
      fetch: (input, init) => api.handler(new Request(input, init)),
    });
    assert.deepEqual(results.map((r) => [r.account, r.ok, r.error_code]), [
      ["acme", true, undefined],
      ["globex", false, "AUTH_REFUSED"],
      ["initech", true, undefined],
    ]);
    assert.equal(
      results[1]!.error,
      `the platform at ${API} refused the credentials (401): check its email and ` +
        "password_env (or password_file) in the accounts file",
    );
    assert.deepEqual(api.log.map((entry) => [entry.path, entry.client]).sort(), [
      ["/auth/token", "acme"],
      ["/auth/token", "globex"],
      ["/auth/token", "initech"],
    ]);
  } finally {
    api.close();
  }
});

Deno.test("checkLogins keeps at most `concurrency` logins in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const api = createMockApi(CALM_MOCK);
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    most = Math.max(most, ++inFlight);
    // Let every other login that may start start now, before this one answers.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      return await api.handler(new Request(input, init));
    } finally {
      inFlight--;
    }
  };
  try {
    const results = await checkLogins(threeAccounts(), { fetch, concurrency: 2 });
    assert.equal(results.length, 3);
    assert.equal(most, 2);
  } finally {
    api.close();
  }
});

Deno.test("describeLoginFailure names the settings to check for each kind of failure", () => {
  const account = { clientId: "acme", apiUrl: `${API}/` };
  const url = `${API}/`;
  const what = `Cannot log in to ${url} for account acme`;
  const refused = new AuthError(`${what}: the platform refused the credentials (401)`, {
    cause: new HttpError("401", { status: 401, url }),
  });
  assert.deepEqual(describeLoginFailure(refused, account, false), {
    error: `the platform at ${url} refused the credentials (401): check AD_PLATFORM_EMAIL and ` +
      "AD_PLATFORM_PASSWORD (or AD_PLATFORM_PASSWORD_FILE)",
    error_code: "AUTH_REFUSED",
  });
  const cases: Array<[Error, boolean, string, string]> = [
    [
      new NetworkError(`${what}: connection refused`, { url }),
      false,
      `cannot log in to ${url}: connection refused`,
      "PLATFORM_UNREACHABLE",
    ],
    [
      new TimeoutError(`${what}: no complete answer within 15000 ms`, { url }),
      false,
      `cannot log in to ${url}: no complete answer within 15000 ms`,
      "PLATFORM_TIMEOUT",
    ],
    [
      new HttpError(`${what}: 501 Not Implemented`, { status: 501, url }),
      false,
      `cannot log in to ${url}: 501 Not Implemented: is AD_PLATFORM_API_URL the Ad Platform's address?`,
      "PLATFORM_HTTP_ERROR",
    ],
    [
      new HttpError(`${what}: 404 Not Found`, { status: 404, url }),
      true,
      `cannot log in to ${url}: 404 Not Found: is its api_url the Ad Platform's address?`,
      "PLATFORM_HTTP_ERROR",
    ],
    [
      new HttpError(`${what}: 503 Service Unavailable`, { status: 503, url }),
      false,
      `cannot log in to ${url}: 503 Service Unavailable`,
      "PLATFORM_HTTP_ERROR",
    ],
    [
      new InvalidAnswerError(`${what}: the 200 answer is not JSON`, { url, status: 200 }),
      false,
      `cannot log in to ${url}: the 200 answer is not JSON: is AD_PLATFORM_API_URL the Ad ` +
      "Platform's address?",
      "PLATFORM_INVALID_ANSWER",
    ],
    [
      new HttpError(`${what}: 429 Too Many Requests`, { status: 429, url }),
      false,
      `cannot log in to ${url}: 429 Too Many Requests: is AD_PLATFORM_API_URL the Ad ` +
      "Platform's address?",
      "RATE_LIMITED",
    ],
    [
      new Error(`${what}: out of memory`),
      false,
      `cannot log in to ${url}: out of memory`,
      "INTERNAL",
    ],
  ];
  for (const [error, fromFile, message, code] of cases) {
    assert.deepEqual(describeLoginFailure(error, account, fromFile), {
      error: message,
      error_code: code,
    });
  }
});
