#!/usr/bin/env node
// What recur costs a web page: dist/ bundled and minified by Vite (Rolldown + its minifier), as
// an application build would, plus the Wasm binaries it emits; raw and gzip -9 bytes.
//
//   node scripts/size.js          prints the table (npm run size)
//   node scripts/size.js --json   the numbers as JSON
//
// Measured: each entry point of the package (every export it has, with the one binary a browser
// downloads when it loads the core), all of them with both binaries, and typical pages, each with
// the exports it imports (tree-shaking drops the rest). Each backend has two single-thread
// binaries (docs/internals.md): the core, recur-<backend>.wasm, and the full module,
// recur-<backend>-full.wasm, which a page loads instead when it imports recur-nn/esn,
// recur-nn/attention or recur-nn/hessian-free (their code makes the bundler emit it).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The budget of one page (its JavaScript and the one binary it downloads), in bytes. */
export const BUDGET = { bytes: 150_000, gzip: 50_000 };

/** The package's entry points (package.json "exports") and their files in dist/. */
export const ENTRIES = {
  "recur-nn": "index.js",
  "recur-nn/esn": "esn/index.js",
  "recur-nn/datasets": "datasets/index.js",
  "recur-nn/char-lm": "char-lm/index.js",
  "recur-nn/hessian-free": "hessian-free/index.js",
  "recur-nn/testing": "testing/index.js",
  "recur-nn/wasm": "wasm/index.js",
  "recur-nn/onnx": "onnx/index.js",
  "recur-nn/keras": "keras/index.js",
  "recur-nn/attention": "attention/index.js",
  "recur-nn/diagnostics": "diagnostics/index.js",
  "recur-nn/schedulers": "schedulers/index.js",
  "recur-nn/checkpoint": "checkpoint/index.js",
  "recur-nn/beam-search": "beam-search/index.js",
};

/** Typical pages: what each imports, from which entry point. */
export const PAGES = {
  inference: { "recur-nn": ["init", "LSTM", "GRU", "RNN", "StreamState", "loadModel", "readSafetensors"] },
  training: { "recur-nn": ["init", "Embedding", "LSTM", "Linear", "SequenceModel", "Adam", "fit", "saveModel"] },
  esn: { "recur-nn": ["init"], "recur-nn/esn": ["ESN"], "recur-nn/datasets": ["mackeyGlass", "nrmse"] },
};

/** The binaries a bundle may emit, by kind. */
const BINARIES = ["simd128", "relaxed", "simd128-full", "relaxed-full", "simd128-threads", "relaxed-threads"];

export async function bundle(entrySource) {
  const dir = mkdtempSync(join(tmpdir(), "recur-size-"));
  try {
    const entry = join(dir, "entry.js");
    writeFileSync(entry, entrySource);
    const result = await build({
      root: dir,
      configFile: false,
      logLevel: "silent",
      build: {
        write: false,
        minify: true,
        assetsInlineLimit: 0, // the Wasm stays a separate file, as the browser fetches it
        modulePreload: false,
        rollupOptions: { input: entry, preserveEntrySignatures: "exports-only" },
      },
    });
    const output = [result].flat()[0].output;
    const files = output.map((o) => {
      const bytes = Buffer.from(o.type === "chunk" ? o.code : o.source);
      return { name: o.fileName, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
    const sum = (list) => ({ bytes: list.reduce((a, f) => a + f.bytes, 0), gzip: list.reduce((a, f) => a + f.gzip, 0) });
    // The page's JavaScript: the entry chunk and what it imports statically. Chunks it only
    // imports dynamically (the worker pool, loaded by init({ threads > 1 })) are reported apart.
    const chunks = new Map(output.filter((o) => o.type === "chunk").map((o) => [o.fileName, o]));
    const loaded = new Set();
    const visit = (name) => {
      if (loaded.has(name)) return;
      loaded.add(name);
      for (const i of chunks.get(name)?.imports ?? []) visit(i);
    };
    for (const c of chunks.values()) if (c.isEntry) visit(c.fileName);
    const js = sum(files.filter((f) => f.name.endsWith(".js") && loaded.has(f.name)));
    const lazy = sum(files.filter((f) => f.name.endsWith(".js") && !loaded.has(f.name)));
    // The threaded binaries (recur-<backend>-threads.wasm) are emitted too but only loaded with
    // init({ threads > 1 }): reported apart, outside the budget.
    // Emitted as assets/recur-<kind>-<8-character hash>.wasm (the hash may hold "-" and "_").
    const kind = (name) => /recur-([\w-]+)-[\w-]{8}\.wasm$/.exec(name)?.[1] ?? "";
    const wasm = Object.fromEntries(BINARIES.map((b) => [b, sum(files.filter((f) => f.name.endsWith(".wasm") && kind(f.name) === b))]));
    return { js, lazy, wasm };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const file = (entry) => JSON.stringify(join(root, "dist", ENTRIES[entry]));

/**
 * Bundles every entry point whole (each with the one binary a browser downloads, when it loads
 * the core), all of them together with both binaries, and each page of PAGES; returns the sizes.
 */
export async function measureSize() {
  const add = (...parts) => ({ bytes: parts.reduce((a, p) => a + p.bytes, 0), gzip: parts.reduce((a, p) => a + p.gzip, 0) });
  const library = await bundle(Object.keys(ENTRIES).map((e) => `export * from ${file(e)};\n`).join(""));
  // A browser downloads one binary: the full module when the page emits it (it imports an entry
  // point that needs it), else the core; of the two backends, the larger bounds it.
  const withBinary = (b) => {
    const suffix = b.wasm["simd128-full"].bytes > 0 ? "-full" : "";
    const wasm = [b.wasm[`simd128${suffix}`], b.wasm[`relaxed${suffix}`]].reduce((x, y) => (y.gzip > x.gzip ? y : x));
    return { js: b.js, lazy: b.lazy, wasm, total: add(b.js, wasm) };
  };
  const entries = {};
  for (const entry of Object.keys(ENTRIES)) entries[entry] = withBinary(await bundle(`export * from ${file(entry)};\n`));
  const pages = {};
  for (const [name, imports] of Object.entries(PAGES)) {
    pages[name] = withBinary(await bundle(Object.entries(imports).map(([e, names]) => `export { ${names.join(", ")} } from ${file(e)};\n`).join("")));
  }
  // Every entry point: all its JavaScript (the worker pool too) and the full binaries of both backends.
  return { library: { ...library, total: add(library.js, library.lazy, library.wasm["simd128-full"], library.wasm["relaxed-full"]) }, entries, pages };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = await measureSize();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ budget: BUDGET, ...s }, null, 2));
  } else {
    const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
    const row = (what, p) => `| ${what} | ${kb(p.bytes)} | ${kb(p.gzip)} |`;
    console.log(
      [
        "| what | minified | gzip -9 |",
        "| --- | ---: | ---: |",
        ...Object.entries(s.entries).map(([entry, e]) => row(`\`${entry}\` (every export)${e.wasm.bytes > 0 ? " + one binary" : ""}`, e.total)),
        row("recur-simd128.wasm (the core)", s.library.wasm.simd128),
        row("recur-relaxed.wasm (the core)", s.library.wasm.relaxed),
        row("recur-simd128-full.wasm (with `recur-nn/esn`, `/attention` or `/hessian-free`)", s.library.wasm["simd128-full"]),
        row("recur-relaxed-full.wasm (with `recur-nn/esn`, `/attention` or `/hessian-free`)", s.library.wasm["relaxed-full"]),
        row("recur-simd128-threads.wasm (only with `init({ threads })`)", s.library.wasm["simd128-threads"]),
        row("recur-relaxed-threads.wasm (only with `init({ threads })`)", s.library.wasm["relaxed-threads"]),
        row("the worker pool's JavaScript (only with `init({ threads })`)", s.entries["recur-nn"].lazy),
        row("every entry point + both full binaries", s.library.total),
        ...Object.entries(s.pages).map(([name, p]) => row(`${name} page (${Object.values(PAGES[name]).flat().join(", ")}) + one binary`, p.total)),
        "",
        `budget: ${kb(BUDGET.bytes)} minified, ${kb(BUDGET.gzip)} gzipped`,
      ].join("\n"),
    );
  }
}
