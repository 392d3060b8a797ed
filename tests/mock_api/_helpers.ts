/** What the mock's suites share: a calm mock served for one test, and a JSON call to it. */
import { type MockApiOptions, type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";

/** The mock's default login. */
export const { email: EMAIL, password: PASSWORD } = MOCK_CREDENTIALS;

/** A calm mock: no failures, no sync delay, a fixed seed. */
export const CALM: Partial<MockApiOptions> = CALM_MOCK;

/** Serves a calm mock with `options` over it for the length of `test`. */
export async function withMock(
  options: Partial<MockApiOptions>,
  test: (mock: ServedMockApi) => Promise<void>,
): Promise<void> {
  const mock = serveMockApi({ ...CALM, ...options });
  try {
    await test(mock);
  } finally {
    await mock.close();
  }
}

/** An answer of the mock, its body parsed. */
export interface Answer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Sends a request and reads its JSON answer. */
export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.json() };
}
