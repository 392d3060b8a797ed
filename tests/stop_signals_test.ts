/**
 * listenForStop reads the process's own signals, so each test runs it in a child process that
 * prints what it sees as JSON lines, and sends that child real signals.
 */
import assert from "node:assert/strict";
import { STOP_SIGNALS, type StopOptions } from "../src/stop_signals.ts";

const MODULE_URL = new URL("../src/stop_signals.ts", import.meta.url).href;

/** What the child saw, in order: `stop <reason>`, `signal <message>`, `wire <message>`, `exitNow <reason>`. */
interface Child {
  /** Resolves once the child has printed `line`. */
  saw(line: string): Promise<void>;
  kill(signal: Deno.Signal): void;
  /** Every line printed and how the child ended. */
  finished: Promise<{ lines: string[]; code: number; signal: Deno.Signal | null }>;
}

type Timing = Pick<StopOptions, "graceMs" | "closingBoundMs" | "maxDurationMs">;

/** Starts a child listening for its stop with `timing`; it exits with code 3 on `exitNow`. */
async function startChild(timing: Timing, disposeAtOnce = false): Promise<Child> {
  const script = `
    const { listenForStop } = await import(${JSON.stringify(MODULE_URL)});
    const say = (line) => console.log(line);
    const stop = listenForStop({
      ...${JSON.stringify(timing)},
      onStop: (reason) => say("stop " + reason),
      exitNow: (reason) => { say("exitNow " + reason); Deno.exit(3); },
    });
    stop.signal.addEventListener("abort", () => say("signal " + stop.signal.reason.message));
    stop.wireSignal.addEventListener("abort", () => say("wire " + stop.wireSignal.reason.message));
    if (${disposeAtOnce}) stop.dispose();
    setInterval(() => {}, 1_000); // alive until told otherwise
    say("ready");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve();
      }
    }
  })();
  const finished = Promise.all([child.status, reading]).then(([status]) => ({
    lines,
    code: status.code,
    signal: status.signal,
  }));
  const saw = (line: string) =>
    lines.includes(line) ? Promise.resolve() : Promise.race([
      new Promise<void>((resolve) => waiters.push({ line, resolve })),
      finished.then(({ lines }) => {
        if (!lines.includes(line)) throw new Error(`The child ended without "${line}": ${lines}`);
      }),
    ]);
  await saw("ready");
  return { saw, kill: (signal) => child.kill(signal), finished };
}

Deno.test("The stop signals are SIGINT, SIGTERM and SIGHUP", () => {
  assert.deepEqual(STOP_SIGNALS, ["SIGINT", "SIGTERM", "SIGHUP"]);
});

Deno.test("A first SIGTERM stops new work, the grace period's end cuts the wire, then the closing bound exits", async () => {
  const child = await startChild({ graceMs: 50, closingBoundMs: 50 });
  child.kill("SIGTERM");
  const { lines, code } = await child.finished;
  assert.deepEqual(lines, [
    "ready",
    "stop SIGTERM",
    "signal Stopped by SIGTERM",
    "wire Grace period over",
    "exitNow SIGTERM",
  ]);
  assert.equal(code, 3);
});

Deno.test("A second signal cuts the wire at once, and a third ends the process as the first stop", async () => {
  const hour = 3_600_000;
  const child = await startChild({ graceMs: hour, closingBoundMs: hour });
  child.kill("SIGINT");
  await child.saw("signal Stopped by SIGINT");
  child.kill("SIGTERM");
  await child.saw("wire SIGTERM received twice");
  child.kill("SIGHUP");
  const { lines, code } = await child.finished;
  assert.deepEqual(lines, [
    "ready",
    "stop SIGINT",
    "signal Stopped by SIGINT",
    "wire SIGTERM received twice",
    "exitNow SIGINT",
  ]);
  assert.equal(code, 3);
});

Deno.test("The max-duration budget stops the command as a signal would, naming itself", async () => {
  const child = await startChild({ graceMs: 50, closingBoundMs: 50, maxDurationMs: 50 });
  const { lines } = await child.finished;
  assert.deepEqual(lines, [
    "ready",
    "stop max-duration",
    "signal Stopped by max-duration",
    "wire Grace period over",
    "exitNow max-duration",
  ]);
});

Deno.test("After dispose a signal is no longer caught: SIGTERM ends the process as usual", async () => {
  const child = await startChild({ graceMs: 50, closingBoundMs: 50, maxDurationMs: 50 }, true);
  child.kill("SIGTERM");
  const { lines, signal } = await child.finished;
  assert.equal(signal, "SIGTERM");
  assert.deepEqual(lines, ["ready"], "neither the signal nor the disposed budget stopped it");
});
