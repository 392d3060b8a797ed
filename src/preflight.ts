import { dirname, resolve } from "node:path";
import type { Config } from "./config.ts";
import { ConfigError, errorMessage } from "./errors.ts";

/** A setting naming a path the process must write, as the user knows it. */
interface PathSetting {
  /** How the message names the setting: `SYNC_STATE_DIR (--state-dir)`. */
  name: string;
  path: string;
}

/**
 * Checks, before any request, that the process may write where its settings point: the state
 * dir (sync) and the metrics file (sync and worker). Throws {@linkcode ConfigError} naming the
 * setting and what to do, instead of Deno's text (which names a flag a task cannot take) or a
 * failure found out after the whole run.
 */
export async function checkWritablePaths(config: Readonly<Config>): Promise<void> {
  const settings: PathSetting[] = [];
  if (config.command === "sync") {
    settings.push({ name: "SYNC_STATE_DIR (--state-dir)", path: config.stateDir });
  }
  if (config.metricsFile !== undefined) {
    settings.push({ name: "SYNC_METRICS_FILE (--metrics-file)", path: config.metricsFile });
  }
  for (const setting of settings) await checkWritable(setting, config.command);
}

/**
 * The command that runs `command` as `deno task` does (same `.env`) but may write anywhere: every
 * permission, since a narrower grant (`--allow-write` alone) fails on the first setting read.
 */
export function unrestrictedCommand(command: string): string {
  return `deno run -A --env-file=.env main.ts ${command}`;
}

async function checkWritable({ name, path }: PathSetting, command: string): Promise<void> {
  const isDir = name.startsWith("SYNC_STATE_DIR");
  // The metrics file is written next to itself first (then renamed): its dir must be writable.
  const dir = isDir ? path : dirname(path);
  for (const target of isDir ? [dir] : [dir, path]) {
    const { state } = Deno.permissions.querySync({ name: "write", path: target });
    if (state !== "granted") {
      throw new ConfigError(
        name,
        `cannot write ${path}: this process may not write ${resolve(target)} (deno task ` +
          `${command} may write only under .adsync); choose a path under .adsync, or run ` +
          `${unrestrictedCommand(command)} with the same flags`,
      );
    }
  }
  try {
    if (isDir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const probe = await Deno.makeTempFile({ dir, prefix: ".adsync-write-check-" });
    await Deno.remove(probe);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? `${dir} does not exist`
      : error instanceof Deno.errors.PermissionDenied
      ? `permission denied in ${dir}`
      : errorMessage(error);
    throw new ConfigError(
      name,
      `cannot write ${path}: ${reason}; choose a dir this user may write`,
    );
  }
}
