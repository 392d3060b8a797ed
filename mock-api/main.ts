// deno-lint-ignore-file no-console -- the mock's entry point prints its startup line and request log.
/**
 * Runs the mock Ad Platform: `deno task mock -- --rate-limit 10/5s --seed 42`.
 * Prints one startup line, then one JSON line per request (to `--log FILE` instead, if given).
 */
import { formatDuration } from "../src/duration.ts";
import { type MockRequestLogEntry, parseMockArgs } from "./options.ts";
import { serveMockApi } from "./server.ts";
import { mockUsage } from "./usage.ts";

/** A request's log line, without its newline. */
function requestLine(entry: MockRequestLogEntry): string {
  return JSON.stringify({
    method: entry.method,
    path: entry.path,
    ...(entry.page === undefined ? {} : { page: entry.page }),
    ...(entry.campaignId === undefined ? {} : { campaign_id: entry.campaignId }),
    status: entry.status,
    client: entry.client,
    latency_ms: entry.latencyMs,
    at: entry.at,
    ...(entry.hung ? { hung: true } : {}),
  });
}

/** Where request lines go: stdout, a line at a time, or a file. */
interface RequestSink {
  write(entry: MockRequestLogEntry): void;
  close(): void;
}

const stdoutSink: RequestSink = {
  write: (entry) => console.log(requestLine(entry)),
  close() {},
};

/**
 * Writes request lines to `path`, one write every 100 ms (and on close) rather than one a request:
 * a bench runs thousands of requests a second, and the mock shares the machine with the sync it
 * measures.
 */
function fileSink(path: string): RequestSink {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let lines: string[] = [];
  const flush = () => {
    if (lines.length === 0) return;
    let bytes = encoder.encode(lines.join(""));
    lines = [];
    while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
  };
  const timer = setInterval(flush, 100);
  return {
    write: (entry) => void lines.push(`${requestLine(entry)}\n`),
    close() {
      clearInterval(timer);
      flush();
      file.close();
    },
  };
}

function main(): void {
  if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
    console.log(mockUsage());
    return;
  }
  let options;
  try {
    options = parseMockArgs(Deno.args);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`mock: ${message} (see --help)`);
    Deno.exit(1);
  }

  const { logFile, ...apiOptions } = options;
  let sink = stdoutSink;
  try {
    if (logFile !== undefined) sink = fileSink(logFile);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`mock: --log: cannot open ${logFile}: ${reason}`);
    Deno.exit(1);
  }

  let mock;
  try {
    // Its entries are printed as they come: none is kept in memory.
    mock = serveMockApi({ ...apiOptions, keepLog: false, onRequest: sink.write });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`mock: --port: cannot listen on ${options.port}: ${reason}`);
    Deno.exit(1);
  }

  const { rateLimit } = options;
  console.log(
    `Mock Ad Platform listening on ${mock.url} ` +
      `(seed ${mock.seed}, rate limit ${rateLimit.count}/${formatDuration(rateLimit.windowMs)}, ` +
      `error rate ${options.errorRate}, hang rate ${options.hangRate}, ` +
      `${options.campaigns} campaigns per client, ` +
      `own logins for ${Object.keys(options.clients ?? {}).length} clients)`,
  );

  const signals = ["SIGINT", "SIGTERM"] as const;
  const stop = () => {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    void mock.close().then(() => sink.close());
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
}

if (import.meta.main) main();
