/**
 * adsync's one error family: every domain error is an {@linkcode AdsyncError} with a stable
 * `code`, which the JSON log lines (`error_code`), the JSON summary and the metrics carry.
 */

/**
 * The stable codes of adsync's errors (UPPER_SNAKE; scripts and alerts may match on them):
 *
 * - `CONFIG_INVALID`: a setting is missing or invalid ({@linkcode ConfigError}).
 * - `AUTH_REFUSED`: the platform refused the credentials ({@linkcode AuthError}).
 * - `RATE_LIMITED`: the platform answered 429 ({@linkcode HttpError}).
 * - `PLATFORM_HTTP_ERROR`: the platform answered another unusable status ({@linkcode HttpError}).
 * - `PLATFORM_TIMEOUT`: no complete answer before the deadline ({@linkcode TimeoutError}).
 * - `PLATFORM_UNREACHABLE`: no answer at all: refused, reset, DNS ({@linkcode NetworkError}).
 * - `PLATFORM_INVALID_ANSWER`: a 2xx that is not what the endpoint promises
 *   ({@linkcode InvalidAnswerError}).
 * - `DATABASE_UNAVAILABLE`: the database could not be reached, answered too late, or refused a
 *   statement or migration ({@linkcode StoreError}).
 * - `SCHEMA_NEWER`: the database holds migrations this adsync does not know (`check`).
 * - `ACCOUNT_BUSY`: another process holds the account's lease ({@linkcode StoreError}).
 * - `CHECKPOINT_UNAVAILABLE`: the checkpoint or the state dir's lock cannot be opened, read or
 *   written (`CheckpointError`).
 * - `INTERNAL`: anything else: a bug, or a failure adsync has no name for ({@linkcode errorCode}).
 */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "AUTH_REFUSED"
  | "RATE_LIMITED"
  | "PLATFORM_HTTP_ERROR"
  | "PLATFORM_TIMEOUT"
  | "PLATFORM_UNREACHABLE"
  | "PLATFORM_INVALID_ANSWER"
  | "DATABASE_UNAVAILABLE"
  | "SCHEMA_NEWER"
  | "ACCOUNT_BUSY"
  | "CHECKPOINT_UNAVAILABLE"
  | "INTERNAL";

/** The base of every adsync error: a message for people and a stable `code` for machines. */
export class AdsyncError extends Error {
  /** What kind of failure this is; stable across releases. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AdsyncError";
    this.code = code;
  }
}

/** A setting is missing or invalid; the message names it. */
export class ConfigError extends AdsyncError {
  /** The name of the bad setting, as the user wrote it (env var or flag). */
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", `${setting}: ${message}`, options);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/**
 * The platform answered with an HTTP status we could not use (a 3xx, 4xx or 5xx); its code is
 * `RATE_LIMITED` for a 429, else `PLATFORM_HTTP_ERROR`.
 */
export class HttpError extends AdsyncError {
  /** The HTTP status the platform sent. */
  readonly status: number;
  /** The request's URL, without credentials. */
  readonly url: string;
  /** The wait the platform asked for (429), if any. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    init: { status: number; url: string; retryAfterMs?: number },
    options?: ErrorOptions,
  ) {
    super(init.status === 429 ? "RATE_LIMITED" : "PLATFORM_HTTP_ERROR", message, options);
    this.name = "HttpError";
    this.status = init.status;
    this.url = init.url;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** A request to the platform that got no answer it could use: a timeout or a network failure. */
export class UnansweredError extends AdsyncError {
  /** The request's URL, without credentials. */
  readonly url: string;
  constructor(
    code: "PLATFORM_TIMEOUT" | "PLATFORM_UNREACHABLE",
    message: string,
    init: { url: string },
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "UnansweredError";
    this.url = init.url;
  }
}

/** No answer, or no complete body, came back before the request's deadline. */
export class TimeoutError extends UnansweredError {
  constructor(message: string, init: { url: string }, options?: ErrorOptions) {
    super("PLATFORM_TIMEOUT", message, init, options);
    this.name = "TimeoutError";
  }
}

/** The request never got an answer: connection refused or reset, DNS failure and the like. */
export class NetworkError extends UnansweredError {
  constructor(message: string, init: { url: string }, options?: ErrorOptions) {
    super("PLATFORM_UNREACHABLE", message, init, options);
    this.name = "NetworkError";
  }
}

/** A 2xx answer whose body is not JSON or does not match what the endpoint promises. */
export class InvalidAnswerError extends AdsyncError {
  /** The request's URL, without credentials. */
  readonly url: string;
  /** The HTTP status of the answer. */
  readonly status: number;
  constructor(message: string, init: { url: string; status: number }, options?: ErrorOptions) {
    super("PLATFORM_INVALID_ANSWER", message, options);
    this.name = "InvalidAnswerError";
    this.url = init.url;
    this.status = init.status;
  }
}

/** The platform refused our credentials; retrying cannot help. */
export class AuthError extends AdsyncError {
  /** The URL that refused them, without credentials, when known. */
  readonly url: string | undefined;
  constructor(message: string, options?: ErrorOptions & { url?: string }) {
    super("AUTH_REFUSED", message, options);
    this.name = "AuthError";
    this.url = options?.url;
  }
}

/** Options of {@linkcode StoreError}. */
export interface StoreErrorOptions extends ErrorOptions {
  /** `ACCOUNT_BUSY` when another process holds the account. @default "DATABASE_UNAVAILABLE" */
  code?: "DATABASE_UNAVAILABLE" | "ACCOUNT_BUSY";
}

/** The database could not be reached or migrated, or an account is another's: it cannot run. */
export class StoreError extends AdsyncError {
  constructor(message: string, options: StoreErrorOptions = {}) {
    const { code = "DATABASE_UNAVAILABLE", ...rest } = options;
    super(code, message, rest);
    this.name = "StoreError";
  }
}

/** The message of an error, or the text of whatever else was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The stable code of an error: an {@linkcode AdsyncError}'s own, else `INTERNAL`. */
export function errorCode(error: unknown): ErrorCode {
  return error instanceof AdsyncError ? error.code : "INTERNAL";
}

/** An error as a log line's properties: its message and its stable code. */
export function errorFields(error: unknown): { error: string; error_code: ErrorCode } {
  return { error: errorMessage(error), error_code: errorCode(error) };
}
