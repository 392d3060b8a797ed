/**
 * `deno task demo`: serves the mock Ad Platform and syncs it into the embedded PostgreSQL with
 * the real CLI. The fast profile scales time down 30x (the run takes about half a minute);
 * `--realistic` uses the platform's real pace (10 requests a minute: over 11 minutes).
 * Other arguments go to `main.ts sync` (for example `--resume` or `--json`).
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface
import { serveMockApi } from "./server.ts";

const DEMO_PORT = 3101;
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
console.log(
  `Mock Ad Platform at ${mock.url}: ${profile.rateLimit}, 20% 503s, 10% hangs ` +
    `(seed ${mock.seed}); syncing into the embedded PostgreSQL under .adsync/demo\n`,
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
    AD_PLATFORM_EMAIL: email,
    AD_PLATFORM_PASSWORD: password,
    AD_PLATFORM_RATE_LIMIT: profile.rateLimit,
    AD_PLATFORM_REQUEST_TIMEOUT: profile.timeout,
    SYNC_STATE_DIR: ".adsync/demo",
    DATABASE_URL: "", // the demo always uses the embedded PostgreSQL
  },
}).spawn();
const { code } = await sync.status;
await mock.close();
Deno.exit(code);
