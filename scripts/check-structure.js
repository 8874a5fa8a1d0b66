// Structural checks of the sources (npm run check:structure; test/structure.test.ts runs them):
// - no import cycle among the modules of assembly/ or of src/ (type-only imports count too: a
//   cycle of types is still two modules that cannot be read one without the other);
// - no source file (TypeScript, JavaScript, Python, HTML) over MAX_LINES lines, except generated
//   ones (their first line starts "// GENERATED").
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
export const MAX_LINES = 500;

function sourceFiles(dir, extensions = [".ts"]) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...sourceFiles(path, extensions));
    } else if (extensions.some((e) => entry.name.endsWith(e)) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^;]*?\s+from\s+)?["']([^"']+)["']/gm;

/** Relative imports of each file of `dir`, as paths relative to the repository. */
export function importGraph(dir) {
  const files = sourceFiles(join(root, dir));
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const deps = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1];
      if (!spec.startsWith(".")) continue;
      const base = resolve(dirname(file), spec.replace(/\.js$/, ""));
      const target = [`${base}.ts`, join(base, "index.ts")].find((p) => known.has(p));
      if (target) deps.add(relative(root, target));
    }
    graph.set(relative(root, file), [...deps].sort());
  }
  return graph;
}

/** Every strongly connected component of more than one module (or a module importing itself). */
export function cycles(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const found = [];
  const visit = (v) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!meta.has(w)) {
        visit(w);
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
      } else if (meta.get(w).onStack) {
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
      }
    }
    if (meta.get(v).low === meta.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!meta.has(v)) visit(v);
  return found;
}

/** Source files of `dirs` longer than MAX_LINES lines that are not generated. */
export function longFiles(dirs) {
  const out = [];
  for (const dir of dirs) {
    for (const file of sourceFiles(join(root, dir), [".ts", ".js", ".py", ".html"])) {
      const text = readFileSync(file, "utf8");
      if (text.startsWith("// GENERATED")) continue;
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (lines > MAX_LINES) out.push({ file: relative(root, file), lines });
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let failed = false;
  for (const dir of ["assembly", "src"]) {
    for (const c of cycles(importGraph(dir))) {
      failed = true;
      console.error(`import cycle in ${dir}/: ${c.join(" -> ")}`);
    }
  }
  for (const { file, lines } of longFiles(["assembly", "src", "test", "bench", "scripts", "examples", "web"])) {
    failed = true;
    console.error(`${file}: ${lines} lines (at most ${MAX_LINES})`);
  }
  if (failed) process.exit(1);
  console.log("no import cycles in assembly/ and src/; no source file over " + MAX_LINES + " lines");
}
