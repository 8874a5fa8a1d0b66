// Benchmark dispatcher over the BUILT library (run `npm run build` first):
//
//   npm run bench                       every workload (bench/*.js except run.js and _*.js)
//   npm run bench -- kernels esn        the named workloads, in that order
//   npm run bench -- kernels --json     one JSON document on stdout instead of markdown
//   npm run bench -- kernels --quick    shorter timings (smoke runs, CI)
//
// Any other `--flag` or `--key=value` is passed to the workloads as an option (`--quality` ->
// { quality: true }, `--sizes=64,128` -> { sizes: "64,128" }; `--threads 2` = `--threads=2`).
//
// A workload is a module bench/<name>.js exporting `async function run(options)` that returns
// either rows { name, value, unit, target?, note? } (printed as one table) or
// { tables: [{ title, columns: [...], rows: [[...], ...], notes?: [...] }] }.
// Progress goes to stderr, results to stdout. Machines are shared and noisy: compare ratios
// measured within one run, not absolute numbers across runs.
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { shutdown } from "../dist/index.js";
import { hostCpu } from "./_host.js";

const here = fileURLToPath(new URL(".", import.meta.url));

function parseArgs(argv) {
  const names = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = (eq < 0 ? arg.slice(2) : arg.slice(2, eq)).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
      // `--threads 2` as `--threads=2`: a number is never a workload name.
      if (eq < 0 && /^\d+$/.test(argv[i + 1] ?? "")) options[key] = argv[++i];
      else options[key] = eq < 0 ? true : arg.slice(eq + 1);
    } else {
      names.push(arg);
    }
  }
  return { names, options };
}

function available() {
  return readdirSync(here)
    .filter((f) => f.endsWith(".js") && f !== "run.js" && !f.startsWith("_"))
    .map((f) => f.slice(0, -3))
    .sort();
}

function cell(v) {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a >= 100 ? v.toFixed(1) : a >= 0.1 ? v.toFixed(3) : a === 0 ? "0" : v.toPrecision(3);
  }
  return v === undefined || v === null ? "" : String(v).replace(/\|/g, "\\|");
}

function markdownTable(columns, rows) {
  const lines = [`| ${columns.map(cell).join(" | ")} |`, `|${columns.map(() => "---").join("|")}|`];
  for (const r of rows) lines.push(`| ${r.map(cell).join(" | ")} |`);
  return lines.join("\n");
}

/** Normalises a workload's result to { tables: [...] }. */
function toTables(name, result) {
  if (Array.isArray(result)) {
    return {
      tables: [
        {
          title: name,
          columns: ["name", "value", "unit", "target", "note"],
          rows: result.map((r) => [r.name, r.value, r.unit, r.target, r.note]),
        },
      ],
    };
  }
  return result;
}

async function main() {
  const { names, options } = parseArgs(process.argv.slice(2));
  if (!existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)))) {
    console.error("bench: ../dist/index.js is missing; run `npm run build` first");
    process.exit(2);
  }
  const all = available();
  const selected = names.length > 0 ? names : all;
  for (const n of selected) {
    if (!all.includes(n)) {
      console.error(`bench: unknown workload "${n}"; available: ${all.join(", ")}`);
      process.exit(2);
    }
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model ?? "unknown",
    host: hostCpu(),
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    platform: `${process.platform} ${process.arch}`,
    command: `node ${process.execArgv.join(" ")} bench/run.js ${process.argv.slice(2).join(" ")}`.replace(/\s+/g, " ").trim(),
  };
  const results = {};
  for (const name of selected) {
    console.error(`bench: ${name} ...`);
    const mod = await import(new URL(`./${name}.js`, import.meta.url).href);
    if (typeof mod.run !== "function") throw new Error(`bench/${name}.js does not export run(options)`);
    // Each workload starts its own runtime: an earlier one may have started the core binary where
    // this one imports a subpath (esn, attention, hessian-free, onnx) that needs the full one.
    await shutdown();
    const started = performance.now();
    results[name] = toTables(name, await mod.run(options));
    console.error(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    globalThis.gc?.();
  }
  if (options.json) {
    console.log(JSON.stringify({ meta, results }, null, 2));
    return;
  }
  const out = [
    `# recur benchmarks`,
    "",
    `${meta.date} · node ${meta.node} (V8 ${meta.v8}) · ${meta.host.text} × ${meta.cpus} CPUs · load average at start ${meta.loadAverage.join(" ")} · \`${meta.command}\``,
  ];
  for (const [name, { tables }] of Object.entries(results)) {
    out.push("", `## ${name}`);
    for (const t of tables) {
      out.push("", `### ${t.title}`, "", markdownTable(t.columns, t.rows));
      for (const note of t.notes ?? []) out.push("", note);
    }
  }
  console.log(out.join("\n"));
}

await main();
