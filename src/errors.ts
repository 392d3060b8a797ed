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

/** The platform answered with a status we could not use. */
export class HttpError extends Error {
  readonly status: number;
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

/** The platform refused our credentials; retrying cannot help. */
export class AuthError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthError";
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
