/**
 * `deno task bench`: syncs the mock at a time-scaled rate limit and reports how close the run
 * came to the limit. Without flags, one account in-process (bench/single_account.ts);
 * `--accounts N` syncs N accounts at once with the real CLI against the mock in its own process
 * (bench/many_accounts.ts), and `--load` runs a busy loop per core and a disk writer beside it
 * (bench/load.ts). `BENCH_WINDOW_MS` (default 3000: 60 s scaled 20x down; 60000 is the
 * platform's real pace), `BENCH_CAMPAIGNS`, `BENCH_SEED` and `DATABASE_URL` change the setup;
 * `BENCH_MOCK_LOG=FILE` keeps the many-accounts run's mock request log, `BENCH_SYNC_LOG=FILE` its
 * sync's log, and `BENCH_V8_FLAGS` replaces the sync's V8 flags (comma-separated).
 *
 * @example
 * ```sh
 * deno task bench --accounts 100
 * ```
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface
import { parseArgs } from "node:util";
import { runManyAccountsBench } from "./many_accounts.ts";
import { runSingleAccountBench } from "./single_account.ts";

const USAGE = "usage: deno task bench [--accounts N [--load]]";

function parse(): { accounts?: number; load: boolean } | undefined {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: { accounts: { type: "string" }, load: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    });
    const load = values.load === true;
    if (values.accounts === undefined) {
      if (!load) return { load };
      console.error(`bench: --load goes with --accounts N\n${USAGE}`);
      return undefined;
    }
    const accounts = /^\d+$/.test(values.accounts) ? Number(values.accounts) : NaN;
    if (!(accounts >= 1 && accounts <= 10_000)) {
      console.error(`bench: --accounts: expected a whole number from 1 to 10000\n${USAGE}`);
      return undefined;
    }
    return { accounts, load };
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return undefined;
  }
}

const args = parse();
const env = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const setup = {
  windowMs: env("BENCH_WINDOW_MS", 3_000),
  campaigns: env("BENCH_CAMPAIGNS", 100),
  seed: env("BENCH_SEED", 1),
  databaseUrl: Deno.env.get("DATABASE_URL") || undefined,
};
if (!args) Deno.exitCode = 1;
else if (args.accounts === undefined) Deno.exitCode = await runSingleAccountBench(setup);
else {
  // Ctrl-C reaches the mock and the sync too: let the sync stop and report, then clean up.
  Deno.addSignalListener("SIGINT", () => {});
  const mockLogFile = Deno.env.get("BENCH_MOCK_LOG") || undefined;
  Deno.exitCode = await runManyAccountsBench({
    ...setup,
    accounts: args.accounts,
    mockLogFile,
    load: args.load,
  });
}
