/**
 * `adsync check`: is this setup able to sync? The settings (read by the same loadConfig as
 * sync), one login per account, and the database with its migrations; nothing is synced,
 * listed or migrated.
 */
import type { Config } from "../config.ts";
import { errorMessage } from "../errors.ts";
import { checkWritablePaths } from "../preflight.ts";
import { VERSION } from "../version.ts";
import { checkDatabase, type DatabaseCheck } from "./database_check.ts";
import { type AccountCheck, type CheckErrorCode, checkLogins } from "./login_check.ts";

export type { AccountCheck, CheckErrorCode } from "./login_check.ts";
export type { DatabaseCheck, MigrationsStatus } from "./database_check.ts";

/** The outcome of `check`, as `--json` prints it. */
export interface CheckReport {
  /** Every check passed: the exit code is 0. */
  ok: boolean;
  /** adsync's version. */
  version: string;
  /** The paths the sync writes (state dir, metrics file) can be written. */
  settings: { ok: boolean; error?: string; error_code?: CheckErrorCode };
  /** One login per account, in the accounts' order. */
  accounts: AccountCheck[];
  database: DatabaseCheck;
}

/** Options of {@linkcode runCheckCommand}. */
export interface CheckOptions {
  /** The fetch to log in with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Called with every token, so logging can redact it. @default no-op */
  onToken?: (token: string) => void;
  /** Logins in flight at once. @default 8 */
  loginConcurrency?: number;
}

/** Runs every check, the logins and the database at the same time; throws nothing it expects. */
export async function runCheckCommand(
  config: Readonly<Config>,
  options: CheckOptions = {},
): Promise<CheckReport> {
  const { fetch, onToken, loginConcurrency } = options;
  const settings = await checkPaths(config);
  const [accounts, database] = await Promise.all([
    checkLogins(config, { fetch, onToken, concurrency: loginConcurrency }),
    checkDatabase(config),
  ]);
  const ok = settings.ok && database.ok && accounts.every((account) => account.ok);
  return { ok, version: VERSION, settings, accounts, database };
}

/** The writes a sync makes first: its state dir and, if set, its metrics file. */
async function checkPaths(config: Readonly<Config>): Promise<CheckReport["settings"]> {
  try {
    await checkWritablePaths({ ...config, command: "sync" });
    return { ok: true };
  } catch (error) {
    return { ok: false, error: errorMessage(error), error_code: "CONFIG_INVALID" };
  }
}

/** One line per problem, naming the account or the database it is about; none when ok. */
export function checkProblems(report: CheckReport): string[] {
  const lines: string[] = [];
  if (report.settings.error) lines.push(report.settings.error);
  for (const account of report.accounts) {
    if (!account.ok) lines.push(`account ${account.account}: ${account.error}`);
  }
  if (report.database.error) lines.push(`database: ${report.database.error}`);
  return lines;
}

/** Account names shown in the summary; the rest are counted. */
const NAMES_SHOWN = 5;

/** The short summary of a check that passed: what was checked, and what is worth knowing. */
export function formatCheckSummary(report: CheckReport): string {
  const names = report.accounts.map((account) => account.account);
  const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : "";
  const { database } = report;
  const schema = database.migrations === "current"
    ? `migrations current (version ${database.applied.at(-1)})`
    : database.note ?? `migrations ${database.migrations}`;
  const logins = names.length === 1 ? "1 account" : `${names.length} accounts`;
  return [
    `adsync ${report.version}: every check passed`,
    `  settings  valid; the state dir is writable`,
    `  accounts  ${logins} logged in: ${names.slice(0, NAMES_SHOWN).join(", ")}${more}`,
    `  database  ${database.database}: ${schema}`,
  ].join("\n");
}
