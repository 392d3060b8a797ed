import type { z } from "zod";
import { type AccountPlan, planAccounts, requestPolicy } from "./account_plan.ts";
import { type AccountSettings, loadAccountsFile, printable } from "./accounts_file.ts";
import { type Command, commandArgument, commandOf, parseFlags } from "./command_line.ts";
import { ConfigError } from "./errors.ts";
import {
  ENV_FILE_HINT,
  type EnvAccount,
  envAccount,
  envAccountPassword,
  passwordFrom,
} from "./env_account.ts";
import { SETTINGS } from "./settings.ts";

export type { AccountPlan, RequestPolicy } from "./account_plan.ts";
export type { AccountSettings } from "./accounts_file.ts";
export type { Command } from "./command_line.ts";
export { readCommandLine, wantsVersion } from "./command_line.ts";

/** Log levels a user may ask for. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Everything a run needs to know, validated once at start-up. */
export interface Config {
  command: Command;
  /** The environment's account (`AD_PLATFORM_*`): its email, empty when unset. */
  email: string;
  /** The environment's password; empty when the command needs none or, with a file, none is set. */
  password: string;
  /** `AD_PLATFORM_CLIENT_ID`: the environment's account. */
  clientId: string;
  /** The deadline of a request; as every plan's `request.timeoutMs`, like the retry settings below. */
  requestTimeoutMs: number;
  /** The deadline of a list request: `AD_PLATFORM_LIST_TIMEOUT`, else 5 s or the request timeout if shorter. */
  listTimeoutMs: number;
  /** The accounts to sync: enabled ones, filtered by `--account`, in file order. */
  accounts: readonly Readonly<AccountSettings>[];
  /** One plan per account of {@linkcode accounts}, in the same order: what its run is told. */
  plans: readonly Readonly<AccountPlan>[];
  /** `SYNC_ACCOUNTS_FILE`; unset: the environment's account is the only one. */
  accountsFile: string | undefined;
  /** Accounts in progress at once: `SYNC_ACCOUNT_CONCURRENCY`, else all of them. */
  accountConcurrency: number;
  /** The ceiling on requests in flight to one platform host, every account together. */
  /** The operator's ceiling on requests in flight to one host; none: sized from the work alone. */
  maxInFlight?: number;
  /** Unset: the embedded PostgreSQL under the state dir. */
  databaseUrl: string | undefined;
  /** The deadline of any one database operation. */
  databaseTimeoutMs: number;
  /** How long a run rides out an unreachable database before it stops, resumably. */
  databaseOutageMs: number;
  stateDir: string;
  logLevel: LogLevel;
  logFormat: "pretty" | "json";
  concurrency: number;
  maxPages: number;
  maxAttempts: number;
  /** First backoff ceiling of a retry; it doubles each attempt up to {@linkcode retryBackoffMaxMs}. */
  retryBackoffMs: number;
  /** Largest backoff ceiling; never below {@linkcode retryBackoffMs}. */
  retryBackoffMaxMs: number;
  maxDurationMs: number | undefined;
  metricsFile: string | undefined;
  resumeMaxAgeMs: number;
  shutdownGraceMs: number;
  /** Let a run mark more than half of an account's live campaigns deleted. */
  allowMassDelete: boolean;
  /** `--resume`; always for `worker`, which resumes an account's latest unfinished run. */
  resume: boolean;
  json: boolean;
  /** Accounts one worker runs at once; unset: derived by the worker (see worker_capacity.ts). */
  workerAccounts: number | undefined;
  /** How often a worker proves it is alive; a job silent this long is taken over. */
  workerHeartbeatMs: number;
  /** The worker's name in `status` and logs; unset: hostname-pid. */
  workerId: string | undefined;
  /** `SYNC_SCHEDULE`: a cron expression, `"off"`, or unset (leave the stored schedule alone). */
  schedule: string | undefined;
  /** `SYNC_HTTP_PORT`: the live endpoint's port (0 picks a free one); unset: no endpoint. */
  httpPort: number | undefined;
  /** `SYNC_HTTP_HOST`: the address the live endpoint listens on. */
  httpHost: string;
  /** `sql`'s query; undefined for every other command. */
  query: string | undefined;
  /** `SYNC_DB_PORT`: the port `db serve` listens on, on 127.0.0.1 (0 picks a free one). */
  dbPort: number;
}

/** What {@linkcode loadConfig} may ask of the outside world. */
export interface LoadConfigOptions {
  /** Reads a secret file (`AD_PLATFORM_PASSWORD_FILE`). @default Deno.readTextFileSync */
  readTextFile?: (path: string) => string;
  /** Whether stderr is a terminal, for the default log format. @default false */
  isTerminal?: boolean;
}

type Settings = typeof SETTINGS;
type Key = keyof Settings;
type Value<K extends Key> = z.output<Settings[K]["schema"]>;
/** Each setting's value: one with a fallback always has one. */
type Parsed = {
  [K in Key]: Settings[K] extends { fallback: string } ? Value<K> : Value<K> | undefined;
};
type Flags = ReturnType<typeof parseFlags>["values"];
type Env = Record<string, string | undefined>;

/**
 * Reads settings from the environment, with flags overriding it, and validates them all.
 * Throws {@linkcode ConfigError} naming the first bad setting.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject(), Deno.args);
 * ```
 */
export function loadConfig(
  env: Env,
  args: string[],
  options: LoadConfigOptions = {},
): Readonly<Config> {
  const { readTextFile = Deno.readTextFileSync, isTerminal = false } = options;
  const { values, positionals } = parseFlags(args);
  const command = commandOf(positionals);
  const argument = commandArgument(command, positionals);
  const settings = readSettings(values, env);
  checkBackoff(settings, values);
  const file = command === "help" ? undefined : settings.accountsFile;
  const useFile = file !== undefined;
  checkRequirements(command, settings, useFile);
  const needsPlatform = talksToPlatform(command);
  const resolved = resolveAccounts(settings, values, { env, readTextFile, file, needsPlatform });
  const accounts = Object.freeze(resolved.accounts.map((account) => Object.freeze(account)));
  const request = Object.freeze(requestPolicy({
    timeoutMs: settings.requestTimeoutMs,
    listTimeoutMs: settings.listTimeoutMs,
    maxAttempts: settings.maxAttempts,
    backoffBaseMs: settings.retryBackoffMs,
    backoffCapMs: settings.retryBackoffMaxMs,
  }));
  // A worker always resumes an account's latest unfinished run, wherever it ran.
  const resume = values.resume === true || command === "worker";
  return Object.freeze({
    command,
    email: resolved.own.email,
    password: needsPlatform ? envAccountPassword(useFile, resolved.password) : "",
    clientId: resolved.own.clientId,
    accounts,
    plans: planAccounts(accounts, request, resume),
    accountsFile: file,
    resume,
    json: values.json === true,
    query: command === "sql" ? argument : undefined,
    requestTimeoutMs: request.timeoutMs,
    listTimeoutMs: request.listTimeoutMs,
    maxAttempts: request.maxAttempts,
    retryBackoffMs: request.backoffBaseMs,
    retryBackoffMaxMs: request.backoffCapMs,
    concurrency: settings.concurrency ?? Math.min(resolved.own.rateLimit.count, 20),
    logFormat: settings.logFormat ?? (isTerminal ? "pretty" : "json"),
    ...processSettings(settings),
    accountConcurrency: settings.accountConcurrency ?? Math.max(1, accounts.length),
    maxInFlight: settings.maxInFlight,
  });
}

/** The name a setting was given under: its flag when the command line set it, else its variable. */
function nameOf(key: Key, values: Flags): string {
  const value = values[SETTINGS[key].flag];
  return typeof value === "string" || value === true
    ? `--${SETTINGS[key].flag}`
    : SETTINGS[key].env;
}

/** Every setting from its flag, else its variable, else its fallback; throws for the first bad one. */
function readSettings(values: Flags, env: Env): Parsed {
  const parsed: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const flagValue = values[setting.flag];
    const fromFlag = typeof flagValue === "string" || flagValue === true;
    const raw = fromFlag ? String(flagValue) : env[setting.env] || undefined;
    const text = raw ?? ("fallback" in setting ? setting.fallback : undefined);
    if (text === undefined) continue;
    const result = (setting.schema as z.ZodType).safeParse(text);
    if (!result.success) {
      throw new ConfigError(
        nameOf(key as Key, values),
        result.error.issues[0]?.message ?? "invalid",
      );
    }
    parsed[key] = result.data;
  }
  // Every key with a fallback was set above, and each value passed its own schema.
  return parsed as Parsed;
}

/** The backoff cap may not sit below the first backoff. */
function checkBackoff(settings: Parsed, values: Flags): void {
  const { retryBackoffMs, retryBackoffMaxMs } = settings;
  if (retryBackoffMaxMs >= retryBackoffMs) return;
  throw new ConfigError(
    nameOf("retryBackoffMaxMs", values),
    `must be at least ${nameOf("retryBackoffMs", values)} (${retryBackoffMs} ms)`,
  );
}

/** What the command cannot start without: a server for the queue, an email for the platform. */
function checkRequirements(command: Command, settings: Parsed, useFile: boolean): void {
  if ((command === "worker" || command === "enqueue") && settings.databaseUrl === undefined) {
    throw new ConfigError(
      "DATABASE_URL",
      `is required for ${command}: workers share their queue through a PostgreSQL server`,
    );
  }
  if (command === "db" && settings.databaseUrl !== undefined) {
    throw new ConfigError(
      "DATABASE_URL",
      "is set: 'db serve' serves the embedded database only; connect to that server directly",
    );
  }
  if (talksToPlatform(command) && !useFile && !settings.email) {
    throw new ConfigError("AD_PLATFORM_EMAIL", `is required (${ENV_FILE_HINT})`);
  }
}

/** The commands that log in to the platform, and so need every account's credentials. */
function talksToPlatform(command: Command): boolean {
  return command === "sync" || command === "worker" || command === "check";
}

/** Where {@linkcode resolveAccounts} reads from, and what the command needs of the accounts. */
interface AccountSources {
  env: Env;
  readTextFile: (path: string) => string;
  /** `SYNC_ACCOUNTS_FILE`, unless the command is help; unset: the environment's account only. */
  file: string | undefined;
  /** The command talks to the platform, so it needs credentials. */
  needsPlatform: boolean;
}

/**
 * The environment's own account (`AD_PLATFORM_*`), and the accounts to sync: the file's enabled
 * ones, or the environment's one, filtered by `--account`. The environment's password is read
 * once, when first needed.
 */
function resolveAccounts(
  settings: Parsed,
  values: Flags,
  sources: AccountSources,
): EnvAccount & { accounts: AccountSettings[] } {
  const { env, readTextFile, file, needsPlatform } = sources;
  const withPassword = needsPlatform && file === undefined;
  const { own, password } = envAccount(settings, { env, readTextFile, withPassword });
  const picked: unknown[] = Array.isArray(values.account) ? values.account : [];
  const only = [...new Set(picked.filter((id) => typeof id === "string"))];
  if (file !== undefined) {
    const accounts = loadAccountsFile(file, {
      ...own,
      password,
      passwordFrom: passwordFrom(settings),
    }, {
      setting: nameOf("accountsFile", values),
      only,
      env,
      readTextFile,
      needsCredentials: needsPlatform,
    });
    return { own, accounts, password };
  }
  const unknown = only.find((id) => id !== own.clientId);
  if (unknown !== undefined) {
    throw new ConfigError(
      "--account",
      `unknown account '${printable(unknown)}' (the only account is '${own.clientId}' ` +
        "from AD_PLATFORM_CLIENT_ID; list more in SYNC_ACCOUNTS_FILE)",
    );
  }
  return { own, accounts: [own], password };
}

/** The settings of the process as a whole, as read. */
function processSettings(settings: Parsed) {
  return {
    accountConcurrency: settings.accountConcurrency,
    databaseUrl: settings.databaseUrl,
    databaseTimeoutMs: settings.databaseTimeoutMs,
    databaseOutageMs: settings.databaseOutageMs,
    stateDir: settings.stateDir,
    logLevel: settings.logLevel,
    maxPages: settings.maxPages,
    maxDurationMs: settings.maxDurationMs,
    metricsFile: settings.metricsFile,
    resumeMaxAgeMs: settings.resumeMaxAgeMs,
    shutdownGraceMs: settings.shutdownGraceMs,
    allowMassDelete: settings.allowMassDelete,
    workerAccounts: settings.workerAccounts,
    workerHeartbeatMs: settings.workerHeartbeatMs,
    workerId: settings.workerId,
    schedule: settings.schedule,
    httpPort: settings.httpPort,
    httpHost: settings.httpHost,
    dbPort: settings.dbPort,
  } satisfies Partial<Config>;
}
