/**
 * adsync: copies every ad campaign of a client account from the Ad Platform into PostgreSQL.
 *
 * @example
 * ```sh
 * deno run -A main.ts sync --resume --json
 * ```
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface
import { checkProblems, formatCheckSummary, runCheckCommand } from "./src/check/check_command.ts";
import { type Config, loadConfig, readCommandLine, wantsVersion } from "./src/config.ts";
import { ConfigError, errorMessage } from "./src/errors.ts";
import { basicAuth } from "./src/platform/token_manager.ts";
import { checkWritablePaths } from "./src/preflight.ts";
import { addSecret, configureLogging } from "./src/report/logging.ts";
import { formatReport } from "./src/report/summary_table.ts";
import { runStatusCommand } from "./src/status_command.ts";
import { runSqlCommand } from "./src/sql_command.ts";
import { connectionUrl, serveEmbeddedDatabase } from "./src/db_serve_command.ts";
import type { RunSummary, SyncReport } from "./src/run_summary.ts";
import { listenForStop } from "./src/stop_signals.ts";
import { exitCodeFor, type StopReason } from "./src/sync/summary.ts";
import { runSyncCommand } from "./src/sync/sync_command.ts";
import { commandUsage, topUsage } from "./src/usage.ts";
import { VERSION } from "./src/version.ts";
import {
  enqueueWarning,
  formatEnqueueResult,
  runEnqueueCommand,
} from "./src/worker/enqueue_command.ts";
import { runWorkerCommand } from "./src/worker/worker_command.ts";

async function main(): Promise<number> {
  let config: Readonly<Config>;
  if (wantsVersion(Deno.args)) {
    console.log(`adsync ${VERSION}`);
    return 0;
  }
  try {
    const line = readCommandLine(Deno.args);
    if (line.help) {
      console.log(line.named ? commandUsage(line.command) : topUsage());
      return 0;
    }
    config = loadConfig(Deno.env.toObject(), Deno.args, { isTerminal: Deno.stderr.isTerminal() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const hint = /--help/.test(error.message) ? "" : " (see --help)";
    console.error(`adsync: ${error.message}${hint}`);
    return 1;
  }
  // Every account's password and Basic header, and the environment's: redacted from the start.
  const logins = [{ email: config.email, password: config.password }, ...config.accounts];
  const secrets = logins.filter((login) => login.password)
    .flatMap((login) => [login.password, basicAuth(login)]);
  await configureLogging({ level: config.logLevel, format: config.logFormat, secrets });
  try {
    if (config.command === "status") {
      console.log(await runStatusCommand(config, { columns: terminalColumns() }));
      return 0;
    }
    if (config.command === "sql") {
      console.log(await runSqlCommand(config));
      return 0;
    }
    if (config.command === "db") return await serveDatabase(config);
    if (config.command === "enqueue") {
      const warning = enqueueWarning(config);
      if (warning) console.error(warning);
      console.log(formatEnqueueResult(await runEnqueueCommand(config), config.json));
      return 0;
    }
    if (config.command === "check") return await check(config);
    await checkWritablePaths(config);
    if (config.command === "worker") return await worker(config);
    return await sync(config);
  } catch (error) {
    // Expected failures (database unreachable, state dir locked) get one line; debug adds the stack.
    console.error(`adsync: ${errorMessage(error)}`);
    if (config.logLevel === "debug" && error instanceof Error) console.error(error.stack);
    return 1;
  }
}

/**
 * Checks the setup without syncing: one stderr line per problem, then `--json`'s object or, when
 * all is well, a short summary. Exit 0 when every check passed, else 1.
 */
async function check(config: Readonly<Config>): Promise<number> {
  const report = await runCheckCommand(config, { onToken: addSecret });
  for (const problem of checkProblems(report)) console.error(`adsync: check: ${problem}`);
  if (config.json) console.log(JSON.stringify(report));
  else if (report.ok) console.log(formatCheckSummary(report));
  return report.ok ? 0 : 1;
}

/**
 * How long the run may take to close once requests are cut (the database gets 1 s per write by
 * then), before the process exits anyway.
 */
const CLOSING_BOUND_MS = 5_000;

/**
 * Runs the sync until it ends or a stop signal (SIGINT, SIGTERM, SIGHUP, `--max-duration`)
 * stops it: see stop_signals.ts. Stopped, it saves its checkpoint and exits 130/143/129/75.
 */
async function sync(config: Readonly<Config>): Promise<number> {
  // Until the accounts start, a stop leaves nothing to resume: one line says so, and no run starts.
  let started = false;
  const stoppedEarly = (reason: StopReason) =>
    console.error(`adsync: ${reason}: stopped before the run started; nothing to resume`);
  // Last resort when something still waits on a database that does not answer: the checkpoint
  // (synchronous SQLite) is consistent between any two statements, so exiting here loses nothing.
  const exitNow = (reason: StopReason) => {
    if (!started) Deno.exit(exitCodeFor({ status: "interrupted" }, reason));
    console.error(
      `adsync: ${reason}: PostgreSQL did not answer in time; campaigns synced since its ` +
        "last commit are not saved there but are kept in the checkpoint: --resume continues",
    );
    Deno.exit(exitCodeFor({ status: "interrupted" } as RunSummary, reason));
  };
  const stop = listenForStop({
    graceMs: config.shutdownGraceMs,
    closingBoundMs: CLOSING_BOUND_MS,
    maxDurationMs: config.maxDurationMs,
    exitNow,
    onStop(reason) {
      if (!started) return stoppedEarly(reason);
      const what = reason === "max-duration" ? "the --max-duration budget is spent" : reason;
      const again = reason === "SIGINT" || reason === "max-duration"
        ? "a second Ctrl-C"
        : `a second ${reason}`;
      // On a terminal, start below the live progress line instead of after it.
      const fresh = Deno.stderr.isTerminal() ? "\n" : "";
      console.error(
        `${fresh}adsync: ${what}: finishing requests in flight (up to ${config.shutdownGraceMs} ms), ` +
          `then saving the checkpoint; ${again} cuts them now`,
      );
    },
  });
  try {
    const report = await runSyncCommand(config, {
      signal: stop.signal,
      wireSignal: stop.wireSignal,
      onToken: addSecret,
      progress: Deno.stderr.isTerminal() ? "tty" : "log",
      onStart: () => started = true,
    });
    if (report.accounts.length === 0) return exitCodeFor(report, stop.reason());
    printReport(config, report);
    return exitCodeFor(report, stop.reason());
  } catch (error) {
    // A setup the stop cut short (its database waits end early) is the stop, already said.
    const reason = stop.reason();
    if (!started && reason) return exitCodeFor({ status: "interrupted" }, reason);
    throw error;
  } finally {
    stop.dispose();
  }
}

/**
 * Prints the run's outcome, each error once: the table (errors under their rows), or `--json`'s
 * object with one stderr line per error. When no account got to start (the platform down, say),
 * a table of zeros says nothing: the errors alone are printed, unless pretty logs, written for
 * a person, already said them.
 */
function printReport(config: Readonly<Config>, report: SyncReport): void {
  const neverStarted = report.accounts.every((a) =>
    a.status === "failed" && a.campaigns_total === 0 && a.synced + a.skipped === 0
  );
  if (!config.json && !neverStarted) {
    console.log(formatReport(report, { columns: terminalColumns() }));
    return;
  }
  if (config.json) console.log(JSON.stringify({ version: VERSION, ...report }));
  if (config.logFormat === "pretty" && neverStarted) return;
  const many = report.accounts.length > 1;
  for (const account of report.accounts) {
    if (!account.last_error) continue;
    console.error(`adsync: ${many ? `account ${account.account}: ` : ""}${account.last_error}`);
  }
}

/** The width tables fit: COLUMNS if set, else the terminal's, else 100. */
function terminalColumns(): number {
  const fromEnv = Number(Deno.env.get("COLUMNS"));
  if (Number.isInteger(fromEnv) && fromEnv >= 20) return fromEnv;
  try {
    if (Deno.stdout.isTerminal()) return Deno.consoleSize().columns;
  } catch {
    // No console after all: the default below.
  }
  return 100;
}

/**
 * Runs a worker until SIGTERM, SIGINT or SIGHUP: then it takes no new job, stops its accounts
 * (their checkpoints saved) and hands their jobs back; requests still in flight get the grace
 * period, a second signal cuts them, and the process exits regardless CLOSING_BOUND_MS after the
 * cut. A worker that stopped this way exits 0: nothing is left for its caller to resume.
 */
async function worker(config: Readonly<Config>): Promise<number> {
  const stop = listenForStop({
    graceMs: config.shutdownGraceMs,
    closingBoundMs: CLOSING_BOUND_MS,
    exitNow() {
      console.error("adsync: worker: the database did not answer in time; exiting anyway");
      Deno.exit(1);
    },
    onStop(signal) {
      console.error(
        `adsync: ${signal}: worker stops taking jobs and hands back the accounts in progress ` +
          `(up to ${config.shutdownGraceMs} ms for requests in flight; a second ${signal} cuts them)`,
      );
    },
  });
  try {
    const report = await runWorkerCommand(config, {
      signal: stop.signal,
      wireSignal: stop.wireSignal,
      onToken: addSecret,
    });
    console.error(`adsync: worker ${report.worker} stopped after ${report.jobs} jobs`);
    return 0;
  } finally {
    stop.dispose();
  }
}

/**
 * Serves the embedded database until SIGINT or SIGTERM, then closes it (PGlite writes its last
 * pages) and releases its lock. The URL goes to stdout, for scripts; the words to stderr.
 */
async function serveDatabase(config: Readonly<Config>): Promise<number> {
  const stop = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => stop.abort();
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    await serveEmbeddedDatabase(config, {
      signal: stop.signal,
      onReady(server) {
        console.log(connectionUrl(server));
        console.error(
          `adsync: serving ${server.dataDir} to one session at a time (psql "${
            connectionUrl(server)
          }"); a sync started meanwhile is refused; Ctrl-C ends it`,
        );
      },
    });
    return 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}

Deno.exit(await main());
