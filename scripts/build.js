// `npm run build` (also run by `npm install`, `npm test` and `npm pack`): the Wasm binaries
// (scripts/build-wasm.js) and the TypeScript (dist/), each only when its inputs changed since it
// was last built or an output is missing. The inputs' hashes are kept in build/.inputs.json.
// `--force` rebuilds both.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const stampFile = join(root, "build", ".inputs.json");
const force = process.argv.includes("--force");

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

function hash(paths, extra) {
  const h = createHash("sha256").update(extra);
  for (const p of paths) h.update(relative(root, p)).update("\0").update(readFileSync(p)).update("\0");
  return h.digest("hex");
}

const version = (pkg) => JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")).version;

const steps = [
  {
    name: "wasm",
    // The layer descriptor's AssemblyScript copy is generated from src/models/descriptor.ts.
    inputs: () => hash([...files(join(root, "assembly")), join(root, "asconfig.json"), join(root, "scripts", "build-wasm.js"), join(root, "scripts", "gen-descriptor.js"), join(root, "src", "models", "descriptor.ts")], `assemblyscript ${version("assemblyscript")}`),
    outputs: ["simd128", "relaxed", "simd128-full", "relaxed-full", "simd128-dev", "relaxed-dev", "simd128-threads", "relaxed-threads"].map((t) => join(root, "build", `recur-${t}.wasm`)),
    run: () => spawnSync(process.execPath, [join(root, "scripts", "build-wasm.js")], { cwd: root, stdio: "inherit" }).status === 0,
  },
  {
    name: "typescript",
    inputs: () => hash([...files(join(root, "src")), join(root, "tsconfig.build.json")], `typescript ${version("typescript")}`),
    outputs: [join(root, "dist", "index.js"), join(root, "dist", "index.d.ts"), join(root, "dist", "cli", "main.js")],
    run: () => {
      // A clean dist/: files of deleted sources must not linger (npm pack would ship them).
      rmSync(join(root, "dist"), { recursive: true, force: true });
      return spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" }).status === 0;
    },
  },
];

let stamps = {};
try {
  stamps = JSON.parse(readFileSync(stampFile, "utf8"));
} catch {
  // first build
}
for (const step of steps) {
  const inputs = step.inputs();
  if (!force && stamps[step.name] === inputs && step.outputs.every((p) => existsSync(p))) {
    console.log(`build: ${step.name} is up to date`);
    continue;
  }
  delete stamps[step.name];
  if (!step.run()) {
    console.error(`build: ${step.name} failed`);
    process.exit(1);
  }
  stamps[step.name] = inputs;
  writeFileSync(stampFile, `${JSON.stringify(stamps, null, 2)}\n`);
}
