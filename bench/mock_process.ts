/**
 * The mock Ad Platform in a process of its own (`deno run mock-api/main.ts`), so its CPU and
 * event loop are not the sync's, with its request log read from its stdout (one JSON line per
 * request).
 * @module
 */

/** One request as the mock printed it (mock-api/main.ts `printRequest`). */
export interface MockLogLine {
  method: string;
  path: string;
  page?: number;
  campaign_id?: string;
  status: number;
  client: string;
  latency_ms: number;
  /** When the mock answered (ms since the epoch, the mock's clock). */
  at: number;
  hung?: boolean;
}

/** Options of {@linkcode startMockProcess}. */
export interface MockProcessOptions {
  /** The mock's flags (`--rate-limit`, `--seed`, ...); `--port 0` is added. */
  args: string[];
  /** Where the repository lives. @default this file's parent folder */
  projectDir?: URL;
  /** How long to wait for the startup line. @default 30_000 */
  startTimeoutMs?: number;
}

/** A running mock process. */
export interface MockProcess {
  url: string;
  pid: number;
  /** Every request line printed so far, in the order printed. */
  log: MockLogLine[];
  /** Lines on stdout that were neither the startup line nor a request. */
  other: string[];
  /** Stops the mock (SIGTERM, then SIGKILL after 5 s) and waits for its output to end. */
  close(): Promise<void>;
}

const LISTENING = /^Mock Ad Platform listening on (\S+)/;

/** Parses one stdout line of the mock: a request, or `undefined` when it is not one. */
export function parseMockLine(line: string): MockLogLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(line) as Partial<MockLogLine>;
    if (typeof value.path !== "string" || typeof value.status !== "number") return undefined;
    if (typeof value.at !== "number" || typeof value.latency_ms !== "number") return undefined;
    return value as MockLogLine;
  } catch {
    return undefined;
  }
}

/** Writes `log` to `file` as JSON lines, the way the mock printed them: for a closer look later. */
export async function writeMockLog(file: string, log: readonly MockLogLine[]): Promise<void> {
  await Deno.writeTextFile(file, log.map((line) => `${JSON.stringify(line)}\n`).join(""));
}

/** Starts the mock on a free port and resolves once it listens. */
export async function startMockProcess(options: MockProcessOptions): Promise<MockProcess> {
  const { args, projectDir = new URL("../", import.meta.url), startTimeoutMs = 30_000 } = options;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "mock-api/main.ts", "--port", "0", ...args],
    cwd: projectDir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log: MockLogLine[] = [];
  const other: string[] = [];
  let stderr = "";
  const { promise: listening, resolve, reject } = Promise.withResolvers<string>();
  const readOut = (async () => {
    for await (const line of lines(child.stdout)) {
      const entry = parseMockLine(line);
      if (entry) log.push(entry);
      else {
        const url = LISTENING.exec(line)?.[1];
        if (url) resolve(url);
        else if (line.length > 0) other.push(line);
      }
    }
    reject(new Error(`The mock exited before listening: ${stderr.trim() || other.join(" ")}`));
  })();
  const readErr = (async () => {
    for await (const line of lines(child.stderr)) stderr += `${line}\n`;
  })();
  const timer = setTimeout(
    () => reject(new Error(`The mock did not listen within ${startTimeoutMs} ms`)),
    startTimeoutMs,
  );
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 5_000);
    await child.status;
    await Promise.allSettled([readOut, readErr]);
    clearTimeout(killer);
  };
  try {
    const url = await listening;
    return { url, pid: child.pid, log, other, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Splits a byte stream into lines (without their `\n`). */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let newline = rest.indexOf("\n");
    while (newline >= 0) {
      yield rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      newline = rest.indexOf("\n");
    }
  }
  if (rest.length > 0) yield rest;
}
