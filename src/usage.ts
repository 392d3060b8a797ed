import type { Command } from "./config.ts";
import { SETTINGS } from "./settings.ts";

type SettingKey = keyof typeof SETTINGS;

/** How one setting reads in the help: its value's name, its default as words, one line of text. */
interface SettingHelp {
  arg?: string;
  /** Shown instead of the setting's fallback, when that needs words. */
  default?: string;
  text: string;
}

/**
 * Words for the settings of {@linkcode SETTINGS}. A setting missing here still shows in the help
 * (its flag, variable and default), so a new setting is never left out.
 */
const SETTING_HELP: Partial<Record<SettingKey, SettingHelp>> = {
  apiUrl: { arg: "URL", text: "the Ad Platform's base URL" },
  email: { arg: "EMAIL", default: "required", text: "login email" },
  passwordFile: {
    arg: "PATH",
    default: "or AD_PLATFORM_PASSWORD",
    text: "file holding the password (one is required)",
  },
  clientId: { arg: "ID", text: "sent as X-Client-ID and stored as each row's account" },
  rateLimit: {
    arg: "N/DUR|auto",
    default: "auto",
    text: "auto: as advertised, else 10/60s; N/DUR: a ceiling",
  },
  requestTimeoutMs: { arg: "DUR", text: "deadline of one request; at most 10m" },
  listTimeoutMs: { arg: "DUR", default: "5s", text: "deadline of a list request" },
  pageSize: { arg: "N", text: "records per page (1-1000); a smaller cap is learnt" },
  accountsFile: { arg: "PATH", default: "unset", text: "JSON file listing many accounts" },
  accountConcurrency: { arg: "N", default: "all", text: "accounts in progress at once" },
  maxInFlight: { arg: "N", text: "ceiling on requests in flight to one platform host" },
  databaseUrl: {
    arg: "URL",
    default: "embedded",
    text: "postgres:// server; unset: PGlite under the state dir",
  },
  databaseTimeoutMs: { arg: "DUR", text: "deadline of one database operation" },
  databaseOutageMs: { arg: "DUR", text: "how long a run rides out a lost database" },
  stateDir: { arg: "DIR", text: "checkpoint, lock and embedded database" },
  logLevel: { arg: "LEVEL", text: "debug, info, warning or error" },
  logFormat: { arg: "FORMAT", default: "pretty on a terminal", text: "pretty or json" },
  concurrency: { arg: "N", default: "N of the rate limit, <= 20", text: "requests in flight" },
  maxPages: { arg: "N", text: "hard cap on pages listed" },
  maxAttempts: { arg: "N", text: "tries per request; list requests get twice as many" },
  retryBackoffMs: { arg: "DUR", text: "first backoff ceiling, doubling each try" },
  retryBackoffMaxMs: { arg: "DUR", text: "largest backoff ceiling" },
  maxDurationMs: { arg: "DUR", default: "none", text: "stop (resumable, exit 75); <= 576h" },
  metricsFile: { arg: "PATH", default: "none", text: "Prometheus textfile written at the end" },
  resumeMaxAgeMs: { arg: "DUR", text: "oldest checkpoint --resume continues" },
  shutdownGraceMs: { arg: "DUR", text: "time for requests in flight after a stop" },
  allowMassDelete: { text: "allow marking over half of an account deleted" },
  httpPort: {
    arg: "N",
    default: "none",
    text: "serve /metrics, /healthz, /readyz; 0: a free port",
  },
  httpHost: { arg: "HOST", text: "the endpoint's address" },
  workerAccounts: {
    arg: "N",
    default: "all, by memory",
    text: "accounts one worker runs at once",
  },
  workerHeartbeatMs: { arg: "DUR", text: ">= 10s; a job silent this long is taken over" },
  workerId: { arg: "ID", default: "hostname-pid", text: "the worker's name in status and logs" },
  schedule: { arg: "CRON", default: "keep", text: "cron (UTC) queueing every account; off" },
  dbPort: { arg: "N", text: "db serve's port on 127.0.0.1; 0: a free port" },
};

/** Settings only a worker reads. */
const WORKER_ONLY: readonly string[] = [
  "workerAccounts",
  "workerHeartbeatMs",
  "workerId",
  "schedule",
];
/** What `status` and `enqueue` read; every other command reads every setting of its kind. */
const STATUS_KEYS: readonly string[] = ["accountsFile", "databaseUrl", "stateDir", "logLevel"];
const ENQUEUE_KEYS: readonly string[] = ["accountsFile", "databaseUrl", "logLevel", "logFormat"];
const SQL_KEYS: readonly string[] = ["databaseUrl", "stateDir", "logLevel"];
const DB_KEYS: readonly string[] = ["stateDir", "dbPort", "logLevel"];

/** The flags that are not settings, per command. */
const OWN_FLAGS: Record<Exclude<Command, "help">, Array<[string, string]>> = {
  sync: [
    ["--resume", "continue the account's latest run if it is unfinished"],
    ["--json", "print the summary as one JSON object, stdout's last line"],
    ["--account ID", "sync only this account of the accounts file (repeatable)"],
  ],
  check: [
    ["--json", "print what was checked as one JSON object"],
    ["--account ID", "check only this account of the accounts file (repeatable)"],
  ],
  status: [
    ["--json", "print the rows as one JSON array"],
  ],
  worker: [],
  sql: [
    ["--json", "print the rows as one JSON array"],
  ],
  db: [],
  enqueue: [
    ["--account ID", "queue only this account of the accounts file (repeatable)"],
    ["--json", "print what was queued as one JSON object"],
  ],
};

const SUMMARY: Record<Exclude<Command, "help">, { usage: string; text: string }> = {
  sync: {
    usage: "deno task sync [flags]      (or: deno run -A main.ts sync [flags])",
    text: "Copies every campaign of the configured accounts into PostgreSQL, all at once.",
  },
  check: {
    usage: "deno task check [flags]     (or: deno run -A main.ts check [flags])",
    text: "Checks the setup without syncing: the settings, one login per account (no\n" +
      "listing, no sync request) and the database, whose migrations it reads but\n" +
      "never applies. One line per problem on stderr.",
  },
  status: {
    usage: "deno task status [flags]    (or: deno run -A main.ts status [flags])",
    text: "Shows each account's latest run (local and workers') and its queue state,\n" +
      "from the database and state dir the settings point at.",
  },
  worker: {
    usage: "deno task worker [flags]    (or: deno run -A main.ts worker [flags])",
    text: "Takes account-sync jobs from the queue in DATABASE_URL until SIGTERM or Ctrl-C.",
  },
  sql: {
    usage: 'deno task sql "QUERY" [flags]\n       (or: deno run -A main.ts sql "QUERY" [flags])',
    text: "Runs one read-only query on the database the settings point at and prints its\n" +
      "rows (psql-like table, or --json). On the embedded database it takes the\n" +
      "database's lock: refused (exit 1) while a sync or db serve has it open, and a\n" +
      "sync refuses meanwhile.",
  },
  db: {
    usage: "deno task db serve [--port N]\n       (or: deno run -A main.ts db serve [--port N])",
    text: "Serves the embedded database (DATABASE_URL unset) to psql on 127.0.0.1 until\n" +
      "Ctrl-C, holding its lock: a sync started meanwhile refuses before any request.\n" +
      "One session at a time: psql -h 127.0.0.1 -p 5499 -U postgres postgres.",
  },
  enqueue: {
    usage: "deno task enqueue [--account ID]... [flags]",
    text: "Queues one sync job per account of the accounts file for the workers\n" +
      "(never two for one account).",
  },
};

const FOOTER = `Settings come from the environment (deno task also reads .env);
a flag overrides its variable. Durations need a unit: ms, s, m or h (15s, 2m).`;

/** Each command's own exit codes, as its help lists them. */
const EXIT_CODES: Record<Exclude<Command, "help">, string> = {
  sync: `Exit codes: 0 all synced, 2 some failed or rejected, 1 fatal, 130 SIGINT,
143 SIGTERM, 75 --max-duration (130, 143 and 75 continue with --resume).`,
  status: "Exit codes: 0 shown, 1 fatal (bad setting, database unreachable).",
  worker: `Exit codes: 0 stopped by SIGTERM, SIGINT or SIGHUP (its accounts handed back),
1 fatal (bad setting, database unreachable).`,
  enqueue: "Exit codes: 0 queued (or queued already), 1 fatal (bad setting, database down).",
  check: "Exit codes: 0 every check passed, 1 a problem (one line each on stderr).",
  sql: "Exit codes: 0 rows printed, 1 query refused or database unavailable.",
  db: `Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 the database is open elsewhere
or the port is taken.`,
};

/** The text of `adsync --help` (no command) and `adsync help`. */
export function topUsage(): string {
  return `adsync: copy every ad campaign of client accounts into PostgreSQL

Usage: deno task sync [flags]        sync every account
       deno task check [flags]       log in and reach the database; sync nothing
       deno task status [flags]      each account's latest run and queue state
       deno task worker [flags]      take sync jobs from the queue until SIGTERM
       deno task enqueue [flags]     queue one job per account for the workers
       deno task sql "QUERY"         one read-only query's rows
       deno task db serve            the embedded database to psql until Ctrl-C
       deno task CMD --help          a command's settings and exit codes
                                     (or: deno run -A main.ts help CMD)
       deno run -A main.ts --version print adsync's version (or: -V)

Without a task: deno run -A --env-file=.env main.ts CMD [flags].

${FOOTER}
${EXIT_CODES.sync.replace("Exit codes:", "Exit codes (sync):")}`;
}

/** The help of one command: what it does, its own flags, then the settings it reads. */
export function commandUsage(command: Exclude<Command, "help">): string {
  const { usage, text } = SUMMARY[command];
  const own = OWN_FLAGS[command].map(([flag, words]) => `  ${flag.padEnd(14)}${words}`);
  const settings = settingRows(command);
  return [
    `Usage: ${usage}`,
    "",
    text,
    ...(own.length > 0 ? ["", "Flags:", ...own] : []),
    "",
    "Settings (flag, environment variable [default]):",
    ...settings,
    "",
    FOOTER,
    EXIT_CODES[command],
  ].join("\n");
}

/** Two lines per setting: flag, variable and default; then what it does. */
function settingRows(command: Exclude<Command, "help">): string[] {
  const keys = (Object.keys(SETTINGS) as SettingKey[]).filter((key) => {
    if (command === "status") return STATUS_KEYS.includes(key);
    if (command === "enqueue") return ENQUEUE_KEYS.includes(key);
    if (command === "sql") return SQL_KEYS.includes(key);
    if (command === "db") return DB_KEYS.includes(key);
    if (key === "dbPort") return false;
    if (command === "sync" || command === "check") return !WORKER_ONLY.includes(key);
    return true;
  });
  if (command === "worker") {
    keys.sort((a, b) => +!WORKER_ONLY.includes(a) - +!WORKER_ONLY.includes(b));
  }
  return keys.flatMap((key) => {
    const setting = SETTINGS[key];
    const help = SETTING_HELP[key];
    const boolean = "boolean" in setting;
    const arg = boolean ? "" : ` ${help?.arg ?? "VALUE"}`;
    const fallback = help?.default ?? ("fallback" in setting ? setting.fallback : undefined);
    const shown = fallback === undefined ? "" : ` [${fallback}]`;
    const head = `  ${`--${setting.flag}${arg}`.padEnd(FLAG_WIDTH)} ${setting.env}${shown}`;
    return help ? [head, `${" ".repeat(FLAG_WIDTH + 3)}${help.text}`] : [head];
  });
}

/** Width of the flag column: the longest flag with its value's name. */
const FLAG_WIDTH = 24;
