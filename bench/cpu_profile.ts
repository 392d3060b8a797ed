/**
 * Profiles a Deno process started with `--inspect=HOST:PORT`, through the inspector (Deno has no
 * `--cpu-prof`). `deno run -A bench/cpu_profile.ts 127.0.0.1:9229 60 out.cpuprofile` samples the
 * CPU for 60 s, writes the profile (open it in Chrome's DevTools) and prints the functions with
 * the most self time, each with its share of the samples. With `--heap` as a fourth argument it
 * samples allocations instead (V8's sampling heap profiler), writes them (a `.heapprofile` for
 * DevTools) and prints where the memory still live at the end was allocated; with `--alloc`, where
 * everything allocated was allocated, collected or not (what keeps the garbage collector busy).
 * @module
 */
// deno-lint-ignore-file no-console -- an entry point: its output is the user interface

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  callFrame: CallFrame;
  hitCount?: number;
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** Calls into the inspector of the process at `address`, and closes the connection. */
async function connect(address: string) {
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
  return { call, close: () => socket.close() };
}

const wait = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1_000));

/** Samples the CPU for `seconds` and returns the V8 CPU profile. */
export async function takeProfile(address: string, seconds: number) {
  const { call, close } = await connect(address);
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 1_000 });
  await call("Profiler.start");
  await wait(seconds);
  const { profile } = await call("Profiler.stop") as { profile: { nodes: ProfileNode[] } };
  close();
  return profile;
}

/**
 * Samples allocations for `seconds`; returns the allocation tree of what is still live, or with
 * `all` of everything allocated (what the garbage collector has to clear).
 */
export async function takeHeapProfile(
  address: string,
  seconds: number,
  all = false,
): Promise<HeapNode> {
  const { call, close } = await connect(address);
  await call("HeapProfiler.enable");
  await call("HeapProfiler.startSampling", {
    samplingInterval: 65_536,
    includeObjectsCollectedByMajorGC: all,
    includeObjectsCollectedByMinorGC: all,
  });
  await wait(seconds);
  // Live means still reachable: a full collection first, or the garbage not collected yet counts.
  if (!all) await call("HeapProfiler.collectGarbage");
  const { profile } = await call("HeapProfiler.stopSampling") as { profile: { head: HeapNode } };
  close();
  return profile.head;
}

function describe({ functionName, url, lineNumber }: CallFrame): string {
  const file = url.replace(/^.*\/(src|bench|node_modules)\//, "$1/");
  return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
}

/** The `top` entries of `amounts` by size, each with its share of the total. */
function ranked(amounts: Map<string, number>, unit: (n: number) => string, top = 25): string[] {
  const total = [...amounts.values()].reduce((a, b) => a + b, 0);
  return [...amounts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([where, n]) =>
    `${(100 * n / total).toFixed(1).padStart(5)} % ${unit(n).padStart(10)}  ${where}`
  );
}

/** The functions with the most self samples, with their share of all samples (idle included). */
export function topSelf(nodes: ProfileNode[], top = 25): string[] {
  const hits = new Map<string, number>();
  for (const node of nodes) {
    const where = describe(node.callFrame);
    hits.set(where, (hits.get(where) ?? 0) + (node.hitCount ?? 0));
  }
  return ranked(hits, (n) => `${n} ms`, top);
}

/** The functions that allocated the most of what is still live. */
export function topLive(head: HeapNode, top = 25): string[] {
  const bytes = new Map<string, number>();
  const visit = (node: HeapNode) => {
    const where = describe(node.callFrame);
    bytes.set(where, (bytes.get(where) ?? 0) + node.selfSize);
    node.children.forEach(visit);
  };
  visit(head);
  return ranked(bytes, (n) => `${(n / 2 ** 20).toFixed(1)} MB`, top);
}

if (import.meta.main) {
  const [address = "127.0.0.1:9229", seconds = "60", out = "adsync.cpuprofile", mode] = Deno.args;
  if (mode === "--heap" || mode === "--alloc") {
    const head = await takeHeapProfile(address, Number(seconds), mode === "--alloc");
    await Deno.writeTextFile(out, JSON.stringify({ head }));
    console.log(topLive(head, 40).join("\n"));
  } else {
    const profile = await takeProfile(address, Number(seconds));
    await Deno.writeTextFile(out, JSON.stringify(profile));
    console.log(topSelf(profile.nodes).join("\n"));
  }
}
