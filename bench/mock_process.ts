/**
 * The mock Ad Platform in a process of its own (`deno run mock-api/main.ts`), so its CPU and
 * event loop are not the sync's, with its request log (one JSON line per request) written to a file
 * and read once it stopped.
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
  /**
   * The mock writes its request lines to this file (`--log`), a batch every 100 ms, and they are
   * read into `log` once it stopped: a bench of thousands of requests a second then spends no CPU
   * on them while the sync it measures runs (reading them from stdout as they came took a tenth
   * of a core, more as the log grew).
   */
  logFile: string;
}

/** A running mock process. */
export interface MockProcess {
  url: string;
  pid: number;
  /** Every request line, in the order written: empty until {@linkcode MockProcess.close} read them. */
  log: MockLogLine[];
  /** The first request line written so far, if any, read from the file's head. */
  firstLogged(): MockLogLine | undefined;
  /** Lines on stdout other than the startup line. */
  other: string[];
  /**
   * Stops the mock (SIGTERM, then SIGKILL after 5 s), waits for its output to end and reads its
   * request lines into `log`. Calling it again waits for the first call.
   */
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

/** Starts the mock on a free port and resolves once it listens. */
export async function startMockProcess(options: MockProcessOptions): Promise<MockProcess> {
  const { args, projectDir = new URL("../", import.meta.url), startTimeoutMs = 30_000 } = options;
  const { logFile } = options;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-net", "--allow-env", `--allow-write=${logFile}`, "mock-api/main.ts"],
      ...["--port", "0", "--log", logFile, ...args],
    ],
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
      const url = LISTENING.exec(line)?.[1];
      if (url) resolve(url);
      else if (line.length > 0) other.push(line);
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
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
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
      // One by one: a spread of a million lines overflows the stack.
      for (const line of await readMockLog(logFile)) log.push(line);
    })();
  const firstLogged = () => firstLine(logFile);
  try {
    const url = await listening;
    return { url, pid: child.pid, log, other, firstLogged, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The request lines of a log file the mock wrote (`--log`), in order; a missing file has none. */
export async function readMockLog(file: string): Promise<MockLogLine[]> {
  const log: MockLogLine[] = [];
  try {
    // The readable closes the file at its end.
    for await (const line of lines((await Deno.open(file)).readable)) {
      const entry = parseMockLine(line);
      if (entry) log.push(entry);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return log;
}

/** The first request line of a log file the mock is writing, if one is whole yet. */
function firstLine(file: string): MockLogLine | undefined {
  let head: string;
  try {
    using handle = Deno.openSync(file);
    const buffer = new Uint8Array(4_096);
    head = new TextDecoder().decode(buffer.subarray(0, handle.readSync(buffer) ?? 0));
  } catch {
    return undefined;
  }
  const end = head.indexOf("\n");
  return end < 0 ? undefined : parseMockLine(head.slice(0, end));
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
