import type { AccountSettings } from "./accounts_file.ts";
import type { RateLimit } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { readSecretFile } from "./secret_file.ts";
import { AUTO_RATE_LIMIT } from "./settings.ts";

/** The `AD_PLATFORM_*` settings, as validated. */
export interface EnvAccountSettings {
  clientId: string;
  apiUrl: string;
  email: string | undefined;
  passwordFile: string | undefined;
  rateLimit: RateLimit | "auto";
  pageSize: number;
}

/** The environment's own account, and its password read once, when first asked for. */
export interface EnvAccount {
  /** Its password is empty unless {@linkcode envAccount} was told to read it. */
  own: AccountSettings;
  /** The environment's password; throws its ConfigError when none is set. */
  password(): string;
}

/**
 * The environment's account (`AD_PLATFORM_*`). With `withPassword` its password is read now
 * (throwing when none is set); else only when {@linkcode EnvAccount.password} is called.
 */
export function envAccount(
  settings: EnvAccountSettings,
  io: {
    env: Record<string, string | undefined>;
    readTextFile: (path: string) => string;
    withPassword: boolean;
  },
): EnvAccount {
  let read: string | undefined;
  const password = () => read ??= readPassword(io.env, settings.passwordFile, io.readTextFile);
  const own: AccountSettings = {
    clientId: settings.clientId,
    apiUrl: settings.apiUrl,
    email: settings.email ?? "",
    password: io.withPassword ? password() : "",
    ...rateLimitOf(settings.rateLimit),
    pageSize: settings.pageSize,
    credentialsFrom: `AD_PLATFORM_EMAIL and ${passwordFrom(settings)}`,
  };
  return { own, password };
}

/** The variable that holds the environment account's password. */
export function passwordFrom(settings: Pick<EnvAccountSettings, "passwordFile">): string {
  return settings.passwordFile ? "AD_PLATFORM_PASSWORD_FILE" : "AD_PLATFORM_PASSWORD";
}

/** The environment account's password; with a file, only if one is set (accounts may not need it). */
export function envAccountPassword(useFile: boolean, password: () => string): string {
  if (!useFile) return password();
  try {
    return password();
  } catch (error) {
    if (error instanceof ConfigError) return "";
    throw error;
  }
}

/** `auto` follows the limit the platform advertises, starting from {@linkcode AUTO_RATE_LIMIT}. */
function rateLimitOf(
  setting: RateLimit | "auto",
): { rateLimit: RateLimit; rateLimitAuto: boolean } {
  return setting === "auto"
    ? { rateLimit: { ...AUTO_RATE_LIMIT }, rateLimitAuto: true }
    : { rateLimit: setting, rateLimitAuto: false };
}

/**
 * What a missing credential's error adds: where settings usually come from. `deno task` reads
 * `.env`, which a fresh clone lacks until `.env.example` is copied.
 */
export const ENV_FILE_HINT = "set it in .env: cp .env.example .env; --help lists every setting";

function readPassword(
  env: Record<string, string | undefined>,
  file: string | undefined,
  readTextFile: (path: string) => string,
): string {
  if (env.AD_PLATFORM_PASSWORD && file) {
    throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", "set it or AD_PLATFORM_PASSWORD, not both");
  }
  if (env.AD_PLATFORM_PASSWORD) return env.AD_PLATFORM_PASSWORD;
  if (!file) {
    throw new ConfigError(
      "AD_PLATFORM_PASSWORD",
      `is required, or AD_PLATFORM_PASSWORD_FILE (${ENV_FILE_HINT})`,
    );
  }
  return readSecretFile(file, readTextFile, (reason) => {
    throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", reason);
  });
}
