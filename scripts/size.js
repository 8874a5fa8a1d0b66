#!/usr/bin/env node
// What recur costs a web page: dist/ bundled and minified by Vite (Rolldown + its minifier), as
// an application build would, plus the Wasm binaries it emits; raw and gzip -9 bytes.
//
//   node scripts/size.js          prints the table (npm run size)
//   node scripts/size.js --json   the numbers as JSON
//
// Measured: the whole library (every export, both Wasm binaries), and typical pages, each with the
// exports it imports and the one binary a browser downloads (tree-shaking drops the rest).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The budget of a typical page, JavaScript + Wasm, in bytes. */
export const BUDGET = { bytes: 150_000, gzip: 50_000 };

/** Typical pages: what each imports. */
export const PAGES = {
  inference: ["init", "LSTM", "GRU", "RNN", "StreamState", "loadModel", "readSafetensors"],
  training: ["init", "Embedding", "LSTM", "Linear", "SequenceModel", "Adam", "fit", "saveModel"],
  esn: ["init", "ESN", "mackeyGlass", "nrmse"],
};

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
    const files = [result].flat()[0].output.map((o) => {
      const bytes = Buffer.from(o.type === "chunk" ? o.code : o.source);
      return { name: o.fileName, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
    const sum = (list) => ({ bytes: list.reduce((a, f) => a + f.bytes, 0), gzip: list.reduce((a, f) => a + f.gzip, 0) });
    const js = sum(files.filter((f) => f.name.endsWith(".js")));
    // The threaded binaries (recur-<backend>-threads.wasm) are emitted too but only loaded with
    // init({ threads > 1 }): reported apart, outside the budget.
    const binary = (b, threads) => (f) => f.name.endsWith(".wasm") && f.name.includes(`recur-${b}`) && f.name.includes(`recur-${b}-threads`) === threads;
    const wasm = Object.fromEntries(["simd128", "relaxed"].flatMap((b) => [[b, sum(files.filter(binary(b, false)))], [`${b}-threads`, sum(files.filter(binary(b, true)))]]));
    return { js, wasm };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bundles dist/index.js whole and as each page of PAGES, and returns the sizes. */
export async function measureSize() {
  const index = JSON.stringify(join(root, "dist", "index.js"));
  const library = await bundle(`export * from ${index};\n`);
  const add = (...parts) => ({ bytes: parts.reduce((a, p) => a + p.bytes, 0), gzip: parts.reduce((a, p) => a + p.gzip, 0) });
  // A browser downloads one binary: the larger of the two bounds it.
  const larger = library.wasm.simd128.gzip >= library.wasm.relaxed.gzip ? "simd128" : "relaxed";
  const pages = {};
  for (const [name, exports] of Object.entries(PAGES)) {
    const page = await bundle(`export { ${exports.join(", ")} } from ${index};\n`);
    pages[name] = { js: page.js, wasm: page.wasm[larger], total: add(page.js, page.wasm[larger]) };
  }
  return { library: { ...library, total: add(library.js, library.wasm.simd128, library.wasm.relaxed) }, pages };
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
        row("library JavaScript (every export)", s.library.js),
        row("recur-simd128.wasm", s.library.wasm.simd128),
        row("recur-relaxed.wasm", s.library.wasm.relaxed),
        row("**library + both binaries**", s.library.total),
        row("recur-simd128-threads.wasm (only with `init({ threads })`)", s.library.wasm["simd128-threads"]),
        row("recur-relaxed-threads.wasm (only with `init({ threads })`)", s.library.wasm["relaxed-threads"]),
        ...Object.entries(s.pages).map(([name, p]) => row(`${name} page (${PAGES[name].join(", ")}) + one binary`, p.total)),
        "",
        `budget: ${kb(BUDGET.bytes)} minified, ${kb(BUDGET.gzip)} gzipped`,
      ].join("\n"),
    );
  }
}
