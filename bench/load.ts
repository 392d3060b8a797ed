/**
 * Load beside a bench run, as a busy machine has it: one busy loop per core, and a writer that
 * keeps the disk of the temporary dir busy (4 MiB written and fsync'd in a loop, in a file it
 * rewrites), each its own process, so the sync under test shares the cores and the disk.
 * @module
 */

/** Options of {@linkcode startLoad}. */
export interface LoadOptions {
  /** Busy loops, one process each. @default navigator.hardwareConcurrency */
  cpuProcesses?: number;
  /** Disk writers, one process each. @default 1 */
  diskProcesses?: number;
  /** Where the disk writers write. @default a new temporary dir */
  dir?: string;
}

/** Load processes running until stopped. */
export interface Load {
  /** Busy-loop and disk-writer processes started. */
  readonly cpu: number;
  readonly disk: number;
  /** Stops every load process and removes what they wrote. */
  stop(): Promise<void>;
}

const BUSY_LOOP = "for (;;) { Math.sqrt(Math.random()); }";

const DISK_WRITER = `
const path = Deno.args[0] + "/load_" + Deno.pid;
const chunk = new Uint8Array(4 * 1024 * 1024).fill(7);
for (;;) {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let i = 0; i < 8; i++) { await file.write(chunk); await file.sync(); }
  file.close();
}`;

/** Starts the load processes. */
export async function startLoad(options: LoadOptions = {}): Promise<Load> {
  const { cpuProcesses = navigator.hardwareConcurrency, diskProcesses = 1 } = options;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "adsync_load_" });
  const spawn = (code: string, args: string[] = []) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { DENO_NO_UPDATE_CHECK: "1" },
    }).spawn();
  const children = [
    ...Array.from({ length: cpuProcesses }, () => spawn(BUSY_LOOP)),
    ...Array.from({ length: diskProcesses }, () => spawn(DISK_WRITER, [dir])),
  ];
  return {
    cpu: cpuProcesses,
    disk: diskProcesses,
    async stop() {
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await Promise.all(children.map((child) => child.status));
      if (!options.dir) await Deno.remove(dir, { recursive: true });
    },
  };
}
