/**
 * The shape of `src/` as its imports draw it: no module reaches itself through its imports (type
 * imports included, since a cycle of types still ties the modules into one), and data flows down
 * the layers: `platform` and `store` never import `sync`.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Every relative specifier of an `import … from`, `export … from`, bare `import` or `import()`. */
function relativeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const patterns = [
    /\b(?:import|export)\b[^;'"`]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g,
    /\bimport\s*["'](\.{1,2}\/[^"']+)["']/g,
    /\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]!));
}

/** Each `.ts` file under `dir` (relative to `SRC`) mapped to the `src` files it imports. */
function importGraph(dir = SRC, graph = new Map<string, string[]>()): Map<string, string[]> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) importGraph(path, graph);
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      const targets = relativeSpecifiers(Deno.readTextFileSync(path))
        .map((specifier) => resolve(dirname(path), specifier))
        .filter((target) => target.startsWith(SRC))
        .map((target) => relative(SRC, target));
      graph.set(relative(SRC, path), [...new Set(targets)]);
    }
  }
  return graph;
}

/** The first cycle found, as the path of files that closes it (`a -> b -> a`), or none. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (file: string): string[] | undefined => {
    const at = onPath.indexOf(file);
    if (at >= 0) return [...onPath.slice(at), file];
    if (done.has(file)) return undefined;
    onPath.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(file);
    return undefined;
  };
  for (const file of [...graph.keys()].sort()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

Deno.test("relativeSpecifiers reads type imports, re-exports and multi-line imports", () => {
  const source = [
    `import type { A } from "./a.ts";`,
    `import {\n  b,\n  type C,\n} from "../b.ts";`,
    `export { d } from "./d.ts";`,
    `export type * from "./e.ts";`,
    `import "./f.ts";`,
    `const g = await import("./g.ts");`,
    `import { z } from "zod";`,
    `// import { h } from "./h.ts";`,
  ].join("\n");
  assert.deepEqual(relativeSpecifiers(source).sort(), [
    "../b.ts",
    "./a.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
  ]);
});

Deno.test("findCycle names the files of a cycle and finds none in a tree", () => {
  const cyclic = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
  ]);
  assert.deepEqual(findCycle(cyclic), ["a.ts", "b.ts", "c.ts", "a.ts"]);
  const tree = new Map([["a.ts", ["b.ts", "c.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]]);
  assert.equal(findCycle(tree), undefined);
});

Deno.test("no module under src reaches itself through its imports, type imports included", () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `only ${graph.size} modules found under ${SRC}`);
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import cycle in src/: ${cycle?.join(" -> ")}`);
});

Deno.test("platform and store never import sync", () => {
  const upward = [...importGraph()]
    .filter(([file]) => file.startsWith("platform/") || file.startsWith("store/"))
    .flatMap(([file, targets]) =>
      targets.filter((target) => target.startsWith("sync/")).map((target) => `${file} -> ${target}`)
    );
  assert.deepEqual(upward, []);
});
