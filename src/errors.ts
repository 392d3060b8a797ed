/** A setting is missing or invalid; the message names it. */
export class ConfigError extends Error {
  /** The name of the bad setting, as the user wrote it (env var or flag). */
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super(`${setting}: ${message}`, options);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** The platform answered with an HTTP status we could not use (a 3xx, 4xx or 5xx). */
export class HttpError extends Error {
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
    super(message, options);
    this.name = "HttpError";
    this.status = init.status;
    this.url = init.url;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** No answer, or no complete body, came back before the request's deadline. */
export class TimeoutError extends Error {
  /** The request's URL, without credentials. */
  readonly url: string;
  constructor(message: string, init: { url: string }, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
    this.url = init.url;
  }
}

/** The request never got an answer: connection refused or reset, DNS failure and the like. */
export class NetworkError extends Error {
  /** The request's URL, without credentials. */
  readonly url: string;
  constructor(message: string, init: { url: string }, options?: ErrorOptions) {
    super(message, options);
    this.name = "NetworkError";
    this.url = init.url;
  }
}

/** A 2xx answer whose body is not JSON or does not match what the endpoint promises. */
export class InvalidAnswerError extends Error {
  /** The request's URL, without credentials. */
  readonly url: string;
  /** The HTTP status of the answer. */
  readonly status: number;
  constructor(message: string, init: { url: string; status: number }, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidAnswerError";
    this.url = init.url;
    this.status = init.status;
  }
}

/** The platform refused our credentials; retrying cannot help. */
export class AuthError extends Error {
  /** The URL that refused them, without credentials, when known. */
  readonly url: string | undefined;
  constructor(message: string, options?: ErrorOptions & { url?: string }) {
    super(message, options);
    this.name = "AuthError";
    this.url = options?.url;
  }
}

/** The database could not be reached or migrated; the run cannot start. */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** The message of an error, or the text of whatever else was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
