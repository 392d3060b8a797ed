import { z } from "zod";
import type { RateLimit } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { readSecretFile } from "./secret_file.ts";
import {
  AUTO_RATE_LIMIT,
  clientIdSchema,
  httpUrlSchema,
  MAX_PAGE_SIZE,
  rateLimitSettingSchema,
} from "./settings.ts";

/** One client account to sync, every setting resolved. */
export interface AccountSettings {
  clientId: string;
  apiUrl: string;
  email: string;
  password: string;
  rateLimit: RateLimit;
  /** `rate_limit: "auto"`: follow the limit the platform advertises; `rateLimit` until it does. @default false */
  rateLimitAuto?: boolean;
  pageSize: number;
  /** Where its email and password are set, as a refused login names them. @default unnamed */
  credentialsFrom?: string;
}

/** What an account takes from the environment's `AD_PLATFORM_*` settings when the file is silent. */
export interface AccountFallback {
  apiUrl: string;
  /** `AD_PLATFORM_EMAIL`, empty when unset. */
  email: string;
  rateLimit: RateLimit;
  /** `AD_PLATFORM_RATE_LIMIT=auto`. @default false */
  rateLimitAuto?: boolean;
  pageSize: number;
  /** The environment's password; throws its ConfigError when none is set. */
  password(): string;
  /** The variable holding that password, named when the platform refuses it. @default "AD_PLATFORM_PASSWORD" */
  passwordFrom?: string;
}

/** How {@linkcode loadAccountsFile} reads and resolves the file. */
export interface AccountsFileOptions {
  /** The name the user gave the path under, for errors. @default "SYNC_ACCOUNTS_FILE" */
  setting?: string;
  /** Client ids to keep (`--account`); empty keeps every enabled account. @default [] */
  only?: readonly string[];
  /** Where `password_env` names are looked up. @default {} */
  env?: Record<string, string | undefined>;
  /** Reads the file and password files. @default Deno.readTextFileSync */
  readTextFile?: (path: string) => string;
  /** Resolve email and password (the `sync` command); else they are left empty. @default true */
  needsCredentials?: boolean;
}

const SHARED_FIELDS =
  "email, password_env, password_file, api_url, rate_limit, page_size or enabled";
const nonEmpty = z.string("expected a string").trim().min(1, "must not be empty");
const shared = {
  email: nonEmpty.optional(),
  password_env: z.string("expected a string")
    .regex(/^[A-Za-z_]\w*$/, "expected the name of an environment variable").optional(),
  password_file: nonEmpty.optional(),
  api_url: z.string("expected a string").pipe(httpUrlSchema).optional(),
  rate_limit: z.string("expected auto or N/duration such as 10/60s").pipe(rateLimitSettingSchema)
    .optional(),
  page_size: z.int(`expected a whole number from 1 to ${MAX_PAGE_SIZE}`).min(1).max(MAX_PAGE_SIZE, {
    error: `expected a whole number from 1 to ${MAX_PAGE_SIZE}`,
  }).optional(),
  enabled: z.boolean("expected true or false").optional(),
};
const entrySchema = z.strictObject(
  { client_id: z.string("is required").pipe(clientIdSchema), ...shared },
  "expected an object",
);
const fileSchema = z.strictObject({
  defaults: z.strictObject(shared, "expected an object").optional(),
  accounts: z.array(entrySchema, "expected a list of accounts").min(
    1,
    "must list at least one account",
  ),
}, 'expected an object with "accounts"');

type Entry = z.output<typeof entrySchema>;
type Defaults = NonNullable<z.output<typeof fileSchema>["defaults"]>;

/**
 * Reads the accounts file at `path`, validates it whole, and resolves each kept account against
 * its `defaults` and then `fallback`. Throws {@linkcode ConfigError} naming the file, the entry
 * (index and client id) and the field.
 */
export function loadAccountsFile(
  path: string,
  fallback: AccountFallback,
  options: AccountsFileOptions = {},
): AccountSettings[] {
  const {
    setting = "SYNC_ACCOUNTS_FILE",
    only = [],
    env = {},
    readTextFile = Deno.readTextFileSync,
    needsCredentials = true,
  } = options;
  const fail = (where: string, message: string): never => {
    throw new ConfigError(setting, `${path}: ${where ? `${where}: ` : ""}${message}`);
  };
  let text: string;
  try {
    text = readTextFile(path);
  } catch (error) {
    return fail("", `cannot read it (${error instanceof Error ? error.name : "unreadable"})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, "")); // editors on Windows save UTF-8 with a BOM
  } catch (error) {
    // The parser's message quotes the text, which may hold a secret: keep only the position.
    const at = /line \d+ column \d+/.exec(String(error))?.[0];
    return fail("", `is not valid JSON${at ? ` (${at})` : ""}`);
  }
  const label = labeller(raw);
  refuseLiteralPasswords(raw, label, fail);
  const result = fileSchema.safeParse(raw);
  if (!result.success) return fail(...explainIssue(result.error.issues[0]!, label));
  const { defaults = {}, accounts } = result.data;
  const both = (object: Defaults) =>
    object.password_env !== undefined && object.password_file !== undefined;
  const notBoth = "set password_env or password_file, not both";
  if (both(defaults)) fail("defaults", notBoth);
  const seen = new Map<string, number>();
  accounts.forEach((entry, index) => {
    if (both(entry)) fail(label(["accounts", index]), notBoth);
    const first = seen.get(entry.client_id);
    if (first !== undefined) {
      fail(label(["accounts", index, "client_id"]), `duplicates accounts[${first}]`);
    }
    seen.set(entry.client_id, index);
  });
  const enabled = accounts.filter((entry) => entry.enabled ?? defaults.enabled ?? true);
  if (enabled.length === 0) fail("", "every account is disabled (enabled: false)");
  for (const id of only) {
    const index = seen.get(id);
    if (index === undefined) {
      throw new ConfigError("--account", `unknown account '${printable(id)}' (not in ${path})`);
    }
    if (!enabled.includes(accounts[index]!)) {
      throw new ConfigError("--account", `account '${printable(id)}' is disabled in ${path}`);
    }
  }
  const kept = only.length === 0 ? enabled : enabled.filter((e) => only.includes(e.client_id));
  return kept.map((entry) => {
    const index = seen.get(entry.client_id)!;
    const where = label(["accounts", index]);
    const credentials = needsCredentials
      ? resolveCredentials(entry, defaults, fallback, {
        env,
        readTextFile,
        where,
        path,
        fail: (field, message) => fail(`${where}.${field}`, message),
      })
      : { email: entry.email ?? defaults.email ?? fallback.email, password: "" };
    return {
      clientId: entry.client_id,
      apiUrl: entry.api_url ?? defaults.api_url ?? fallback.apiUrl,
      ...credentials,
      ...rateLimitOf(entry.rate_limit ?? defaults.rate_limit, fallback),
      pageSize: entry.page_size ?? defaults.page_size ?? fallback.pageSize,
    };
  });
}

/** Where the file's first schema issue is and what is wrong there, as `fail` takes them. */
function explainIssue(
  issue: z.ZodError["issues"][number],
  label: ReturnType<typeof labeller>,
): [where: string, message: string] {
  const path = issue.path.filter((key) => typeof key !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const where = label([...path, key]);
    if (path.length === 0) return [where, "unknown field (expected defaults or accounts)"];
    if (path[0] !== "defaults") {
      return [where, `unknown field (expected client_id, ${SHARED_FIELDS})`];
    }
    if (key === "client_id") return [where, "belongs in each account, not in defaults"];
    return [where, `unknown field (expected ${SHARED_FIELDS})`];
  }
  return [label(path), issue.message];
}

/** The account's limit and whether it follows the platform's, from the file or the environment. */
function rateLimitOf(
  chosen: RateLimit | "auto" | undefined,
  fallback: AccountFallback,
): { rateLimit: RateLimit; rateLimitAuto: boolean } {
  if (chosen === "auto") return { rateLimit: { ...AUTO_RATE_LIMIT }, rateLimitAuto: true };
  if (chosen !== undefined) return { rateLimit: chosen, rateLimitAuto: false };
  return { rateLimit: fallback.rateLimit, rateLimitAuto: fallback.rateLimitAuto ?? false };
}

function resolveCredentials(
  entry: Entry,
  defaults: Defaults,
  fallback: AccountFallback,
  io: {
    env: Record<string, string | undefined>;
    readTextFile: (path: string) => string;
    /** The entry's label (`accounts[1] (globex)`) and the file's path, to name where things are. */
    where: string;
    path: string;
    fail: (field: string, message: string) => never;
  },
): { email: string; password: string; credentialsFrom: string } {
  const email = entry.email ?? defaults.email ?? fallback.email;
  if (!email) io.fail("email", "is required (in the entry, in defaults or as AD_PLATFORM_EMAIL)");
  const own = entry.password_env !== undefined || entry.password_file !== undefined;
  const source = own ? entry : defaults;
  const from = own ? "" : " (from defaults)";
  const at = own ? `${io.where}.` : "defaults.";
  const emailFrom = entry.email !== undefined
    ? `${io.where}.email`
    : defaults.email !== undefined
    ? "defaults.email"
    : "AD_PLATFORM_EMAIL";
  const credentialsFrom = (passwordFrom: string, inFile: boolean) =>
    `${emailFrom} and ${passwordFrom}${
      inFile || emailFrom !== "AD_PLATFORM_EMAIL" ? ` in ${io.path}` : ""
    }`;
  if (source.password_env !== undefined) {
    const password = io.env[source.password_env];
    if (!password) io.fail(`password_env${from}`, `${source.password_env} is not set`);
    const named = `${at}password_env (${source.password_env})`;
    return { email, password: password!, credentialsFrom: credentialsFrom(named, true) };
  }
  if (source.password_file !== undefined) {
    const password = readSecretFile(
      source.password_file,
      io.readTextFile,
      (reason) => io.fail(`password_file${from}`, reason),
    );
    return { email, password, credentialsFrom: credentialsFrom(`${at}password_file`, true) };
  }
  const passwordFrom = fallback.passwordFrom ?? "AD_PLATFORM_PASSWORD";
  return {
    email,
    password: fallback.password(),
    credentialsFrom: credentialsFrom(passwordFrom, false),
  };
}

/**
 * A client id as messages may show it: as it is when valid, else escaped as in JSON and cut, so
 * that a newline or an escape sequence in it can never forge a line of our output.
 */
export function printable(id: string): string {
  if (clientIdSchema.safeParse(id).success) return id;
  const escaped = JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id).slice(1, -1);
  return escaped.replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Names a place in the file: `accounts[2] (globex).rate_limit`. */
function labeller(raw: unknown): (path: readonly PropertyKey[]) => string {
  const accounts = (raw as { accounts?: unknown })?.accounts;
  return (path) => {
    let text = "";
    for (const key of path) {
      if (typeof key === "number") {
        const id = Array.isArray(accounts) ? accounts[key]?.client_id : undefined;
        text += `[${key}]${typeof id === "string" ? ` (${printable(id)})` : ""}`;
      } else text += `${text ? "." : ""}${String(key)}`;
    }
    return text;
  };
}

function refuseLiteralPasswords(
  raw: unknown,
  label: (path: readonly PropertyKey[]) => string,
  fail: (where: string, message: string) => never,
): void {
  const file = raw as { defaults?: unknown; accounts?: unknown } | null;
  const places: [PropertyKey[], unknown][] = [[["defaults"], file?.defaults]];
  if (Array.isArray(file?.accounts)) {
    file.accounts.forEach((entry, index) => places.push([["accounts", index], entry]));
  }
  for (const [path, object] of places) {
    if (object !== null && typeof object === "object" && Object.hasOwn(object, "password")) {
      fail(
        label([...path, "password"]),
        "a password may not sit in this file: name an environment variable holding it " +
          "(password_env) or a file holding it (password_file)",
      );
    }
  }
}
