/**
 * One login per account, as the sync logs in, and nothing else: no listing, no sync request.
 */
import { getLogger } from "@logtape/logtape";
import pLimit from "p-limit";
import type { AccountSettings, Config } from "../config.ts";
import {
  AuthError,
  type ErrorCode,
  errorCode,
  errorMessage,
  HttpError,
  InvalidAnswerError,
} from "../errors.ts";
import { createTokenManager } from "../platform/token_manager.ts";
import { withoutCredentials } from "../platform/send.ts";

const log = getLogger(["adsync", "check"]);

/**
 * Why a check failed, stable for scripts: the `error_code` of `check --json`, from the codes of
 * adsync's errors (`AUTH_REFUSED`, `PLATFORM_UNREACHABLE`, `CONFIG_INVALID`, `SCHEMA_NEWER`…).
 */
export type CheckErrorCode = ErrorCode;

/** How one account's login went. */
export interface AccountCheck {
  /** Its client id. */
  account: string;
  /** The platform it logged in to, without credentials. */
  api_url: string;
  ok: boolean;
  /** What went wrong, one line naming what to check; never a secret. */
  error?: string;
  error_code?: CheckErrorCode;
}

/** Options of {@linkcode checkLogins}. */
export interface LoginCheckOptions {
  /** The fetch to log in with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Called with every token, so logging can redact it. @default no-op */
  onToken?: (token: string) => void;
  /** Logins in flight at once, so a file of thousands of accounts is no burst. @default 8 */
  concurrency?: number;
}

/**
 * Tries of one login at most: a check answers in seconds, and a platform that did not answer
 * three times is worth a line even if a sync's five tries might get through.
 */
const MAX_LOGIN_ATTEMPTS = 3;

/** Logs in once per account of `config`, a few at a time; the results in the accounts' order. */
export async function checkLogins(
  config: Readonly<Config>,
  options: LoginCheckOptions = {},
): Promise<AccountCheck[]> {
  const limit = pLimit(options.concurrency ?? 8);
  return await Promise.all(
    config.accounts.map((account) => limit(() => checkLogin(account, config, options))),
  );
}

async function checkLogin(
  account: Readonly<AccountSettings>,
  config: Readonly<Config>,
  options: LoginCheckOptions,
): Promise<AccountCheck> {
  const { clientId, apiUrl, email, password } = account;
  const row = { account: clientId, api_url: withoutCredentials(apiUrl) };
  const tokens = createTokenManager(apiUrl, { email, password }, {
    fetch: options.fetch,
    clientId,
    timeoutMs: config.requestTimeoutMs,
    maxAttempts: Math.min(config.maxAttempts, MAX_LOGIN_ATTEMPTS),
    backoffBaseMs: config.retryBackoffMs,
    backoffCapMs: config.retryBackoffMaxMs,
    onToken: options.onToken,
  });
  try {
    await tokens.get();
    log.debug("Logged in for account {account}", { account: clientId });
    return { ...row, ok: true };
  } catch (error) {
    const fromFile = config.accountsFile !== undefined;
    return { ...row, ok: false, ...describeLoginFailure(error, account, fromFile) };
  }
}

/**
 * A failed login in one line, with the settings to look at: the credentials when refused, the
 * URL when what answered is not the platform.
 */
export function describeLoginFailure(
  error: unknown,
  account: Pick<AccountSettings, "clientId" | "apiUrl">,
  fromFile: boolean,
): { error: string; error_code: CheckErrorCode } {
  const url = withoutCredentials(account.apiUrl);
  const urlSetting = fromFile ? "its api_url" : "AD_PLATFORM_API_URL";
  const notPlatform = `: is ${urlSetting} the Ad Platform's address?`;
  if (error instanceof AuthError) {
    const status = error.cause instanceof HttpError ? ` (${error.cause.status})` : "";
    const check = fromFile
      ? "its email and password_env (or password_file) in the accounts file"
      : "AD_PLATFORM_EMAIL and AD_PLATFORM_PASSWORD (or AD_PLATFORM_PASSWORD_FILE)";
    return {
      error: `the platform at ${url} refused the credentials${status}: check ${check}`,
      error_code: "AUTH_REFUSED",
    };
  }
  // The token manager's messages say "Cannot log in to URL for account ID: why".
  const prefix = `Cannot log in to ${url} for account ${account.clientId}: `;
  const message = errorMessage(error);
  const why = message.startsWith(prefix)
    ? `cannot log in to ${url}: ${message.slice(prefix.length)}`
    : message;
  const error_code = errorCode(error);
  if (error instanceof InvalidAnswerError) return { error: why + notPlatform, error_code };
  if (error instanceof HttpError) {
    const wrongPlace = error.status < 500 || error.status === 501;
    return { error: wrongPlace ? why + notPlatform : why, error_code };
  }
  return { error: why, error_code };
}
