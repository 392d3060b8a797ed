/**
 * Samples a process's peak resident memory (VmHWM in /proc/<pid>/status) and CPU time (utime +
 * stime in /proc/<pid>/stat) while it runs. The kernel keeps the high-water mark itself, so
 * sampling only has to catch the last value before the process exits; the CPU time misses at
 * most what the process spent in its last interval. Deno grants reading /proc/<pid> only with
 * --allow-all, so the default reader runs `cat` (the bench already has --allow-run) instead, one
 * for both files every 500 ms: two every 100 ms took 4.6 % of a core (the bench and its `cat`s),
 * on a machine whose two cores the sync and the mock fill at 10,000 accounts; this takes 0.5 %.
 * @module
 */

/** Options of {@linkcode sampleRss}. */
export interface RssSamplerOptions {
  /** Time between two reads. @default 500 */
  intervalMs?: number;
  /** Reads files as one text, one after the other (injected in tests). @default {@linkcode catFiles} */
  readFiles?: (paths: string[]) => Promise<string>;
}

/** A sampler running until stopped. */
export interface RssSampler {
  /** The highest VmHWM read so far, in KiB; 0 before the first read. */
  peakKib(): number;
  /** How many reads succeeded. */
  samples(): number;
  /** The CPU time (user + system) the process had used at the last read, in seconds. */
  cpuSeconds(): number;
  /** Reads once more (if the process still lives), stops, and returns the peak in KiB. */
  stop(): Promise<number>;
}

/** Reads the `VmHWM` (peak resident set) of a /proc status text, in KiB; undefined if absent. */
export function parseVmHwmKib(status: string): number | undefined {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) : undefined;
}

/** The clock ticks per second /proc/<pid>/stat counts in (`getconf CLK_TCK` on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Reads user + system CPU seconds from a /proc/<pid>/stat line; undefined if it is not one. */
export function parseCpuSeconds(stat: string): number | undefined {
  // Fields after the command name, which sits in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || fields.length < 13) return undefined;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Reads files with one `cat`; rejects when it cannot read one (the process has gone). */
export async function catFiles(paths: string[]): Promise<string> {
  const { success, stdout } = await new Deno.Command("cat", {
    args: paths,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) throw new Deno.errors.NotFound(`Cannot read ${paths.join(", ")}`);
  return new TextDecoder().decode(stdout);
}

/** Starts reading `/proc/<pid>/status` every `intervalMs` and keeps the highest VmHWM. */
export function sampleRss(pid: number, options: RssSamplerOptions = {}): RssSampler {
  const { intervalMs = 500, readFiles = catFiles } = options;
  let peak = 0;
  let count = 0;
  let cpu = 0;
  let stopped = false;
  let reading: Promise<void> = Promise.resolve();

  const read = async () => {
    try {
      // The stat line first: the status text holds parentheses too, which would mislead its parser.
      const text = await readFiles([`/proc/${pid}/stat`, `/proc/${pid}/status`]);
      const newline = text.indexOf("\n");
      const hwm = parseVmHwmKib(text.slice(newline + 1));
      if (hwm !== undefined) {
        peak = Math.max(peak, hwm);
        count++;
      }
      const seconds = parseCpuSeconds(text.slice(0, newline));
      if (seconds !== undefined) cpu = Math.max(cpu, seconds);
    } catch {
      // The process has exited (or /proc is absent): the last read stands.
    }
  };
  const tick = () => {
    if (stopped) return;
    reading = read().then(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  tick();

  return {
    peakKib: () => peak,
    samples: () => count,
    cpuSeconds: () => cpu,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await reading;
      await read();
      return peak;
    },
  };
}
