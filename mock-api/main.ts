// deno-lint-ignore-file no-console -- the mock's entry point prints its startup line and request log.
/**
 * Runs the mock Ad Platform: `deno task mock -- --rate-limit 10/5s --seed 42`.
 * Prints one startup line, then one JSON line per request.
 */
import { formatDuration } from "../src/duration.ts";
import { type MockRequestLogEntry, parseMockArgs } from "./options.ts";
import { serveMockApi } from "./server.ts";
import { mockUsage } from "./usage.ts";

function printRequest(entry: MockRequestLogEntry): void {
  console.log(JSON.stringify({
    method: entry.method,
    path: entry.path,
    ...(entry.page === undefined ? {} : { page: entry.page }),
    ...(entry.campaignId === undefined ? {} : { campaign_id: entry.campaignId }),
    status: entry.status,
    client: entry.client,
    latency_ms: entry.latencyMs,
    at: entry.at,
    ...(entry.hung ? { hung: true } : {}),
  }));
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

  let mock;
  try {
    mock = serveMockApi({ ...options, onRequest: printRequest });
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
    void mock.close();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
}

if (import.meta.main) main();
