/**
 * Takes a CPU profile of a Deno process started with `--inspect=HOST:PORT`, through the
 * inspector (Deno has no `--cpu-prof`): `deno run -A bench/cpu_profile.ts 127.0.0.1:9229 60
 * out.cpuprofile` samples for 60 s, writes the profile (open it in Chrome's DevTools) and prints
 * the functions with the most self time, and each one's share of the samples.
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Samples the process at `address` for `seconds` and returns the V8 CPU profile. */
export async function takeProfile(
  address: string,
  seconds: number,
): Promise<{ nodes: ProfileNode[] }> {
  const targets = await (await fetch(`http://${address}/json/list`)).json();
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message.result);
  };
  const call = (method: string, params: unknown = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 1_000 });
  await call("Profiler.start");
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  const { profile } = await call("Profiler.stop") as { profile: { nodes: ProfileNode[] } };
  socket.close();
  return profile;
}

/** The `top` functions by self samples, with their share of all samples (idle included). */
export function topSelf(nodes: ProfileNode[], top = 25): string[] {
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = `${functionName || "(anonymous)"} ${
      url.replace(/^.*\/(src|bench|node_modules)\//, "$1/")
    }:${lineNumber + 1}`;
    byFunction.set(where, (byFunction.get(where) ?? 0) + hits);
  }
  return [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top).map(([where, hits]) =>
    `${(100 * hits / total).toFixed(1).padStart(5)} %  ${where}`
  );
}

if (import.meta.main) {
  const [address = "127.0.0.1:9229", seconds = "60", out = "adsync.cpuprofile"] = Deno.args;
  const profile = await takeProfile(address, Number(seconds));
  await Deno.writeTextFile(out, JSON.stringify(profile));
  console.log(topSelf(profile.nodes).join("\n"));
}
