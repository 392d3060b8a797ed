/**
 * `deno task demo`: serves the mock Ad Platform and syncs five client accounts of it at once
 * into the embedded PostgreSQL with the real CLI, through an accounts file written to a temp
 * dir. The fast profile scales time down 30x (the run takes about half a minute);
 * `--realistic` uses the platform's real pace (10 requests a minute per account: over 11
 * minutes). Other arguments go to `main.ts sync` (for example `--resume`, `--json` or
 * `--account acme`).
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface
import { fileURLToPath } from "node:url";
import { serveMockApi } from "./server.ts";

const USAGE = `Usage: deno task demo [--realistic] [sync flags]

Serves the mock Ad Platform and syncs five client accounts of it at once (acme,
globex, initech, umbrella, hooli) into the embedded PostgreSQL in .adsync/demo,
with the real CLI. The fast profile scales time down 30x (about half a minute);
--realistic uses the platform's real pace (10 requests a minute per account).

Flags:
  --realistic   the platform's real pace: over 11 minutes
  -h, --help    this text
Every other flag goes to the sync, such as --resume, --json or --account acme
(deno task sync --help lists them). Ctrl-C stops the sync; --resume continues it.`;

if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
  console.log(USAGE);
  Deno.exit(0);
}

const DEMO_PORT = 3101;
/** The demo's client accounts: each gets its own campaigns, token and rate-limit window. */
const DEMO_ACCOUNTS = ["acme", "globex", "initech", "umbrella", "hooli"];
const realistic = Deno.args.includes("--realistic");
const passthrough = Deno.args.filter((arg) => arg !== "--realistic");
const profile = realistic
  ? { rateLimit: "10/60s", windowMs: 60_000, syncDelayMs: 2_000, timeout: "15s" }
  : { rateLimit: "10/2s", windowMs: 2_000, syncDelayMs: 70, timeout: "1s" };
// A password made up for this demo only: no credential lives in the code.
const password = crypto.randomUUID();
const email = "demo@adsync.local";

const settings = {
  email,
  password,
  rateLimit: { count: 10, windowMs: profile.windowMs },
  syncDelayMs: profile.syncDelayMs,
};
// A fixed port keeps the API URL the same from one demo to the next, so `--resume` continues
// the run a Ctrl-C interrupted (a checkpoint from another URL is not resumed).
let mock;
try {
  mock = serveMockApi({ ...settings, port: DEMO_PORT });
} catch (error) {
  if (!(error instanceof Deno.errors.AddrInUse)) throw error;
  mock = serveMockApi(settings);
}
// The accounts file names the variable that holds the password, never the password itself. It
// goes to a temp dir under .adsync, the only place the demo may write.
const stateRoot = fileURLToPath(new URL("../.adsync", import.meta.url));
await Deno.mkdir(stateRoot, { recursive: true });
const accountsDir = await Deno.makeTempDir({ dir: stateRoot, prefix: "demo_accounts_" });
const accountsFile = `${accountsDir}/accounts.json`;
await Deno.writeTextFile(
  accountsFile,
  JSON.stringify(
    {
      defaults: { email, password_env: "DEMO_PASSWORD" },
      accounts: DEMO_ACCOUNTS.map((id) => ({ client_id: id })),
    },
    null,
    2,
  ),
);
console.log(
  `Mock Ad Platform at ${mock.url}: ${profile.rateLimit} per account, 20% 503s, 10% hangs ` +
    `(seed ${mock.seed}); syncing ${DEMO_ACCOUNTS.length} accounts (${DEMO_ACCOUNTS.join(", ")}) ` +
    `at once, listed in ${accountsFile}, into the embedded PostgreSQL under .adsync/demo\n`,
);
// Ctrl-C reaches the sync too: let it stop cleanly and report, then exit with its code.
Deno.addSignalListener("SIGINT", () => {});
const sync = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write=.adsync",
    "--allow-sys",
  ]
    .concat(["main.ts", "sync", ...passthrough]),
  cwd: new URL("..", import.meta.url),
  env: {
    AD_PLATFORM_API_URL: mock.url,
    SYNC_ACCOUNTS_FILE: accountsFile,
    DEMO_PASSWORD: password,
    AD_PLATFORM_RATE_LIMIT: profile.rateLimit,
    AD_PLATFORM_REQUEST_TIMEOUT: profile.timeout,
    SYNC_STATE_DIR: ".adsync/demo",
    DATABASE_URL: "", // the demo always uses the embedded PostgreSQL
  },
}).spawn();
const { code } = await sync.status;
await mock.close();
await Deno.remove(accountsDir, { recursive: true });
Deno.exit(code);
