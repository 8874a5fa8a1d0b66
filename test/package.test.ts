/**
 * The package as a user gets it: `npm pack` of the built repository, installed into a fresh app,
 * used from a strict TypeScript file compiled without the DOM library (`--lib es2023 --types
 * node`, recur's declarations checked too) and run; the installed `recur` command answers.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "recur-package-"));
const app = join(tmp, "app");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, encoding: "utf8", timeout: 120_000, env: { ...process.env, npm_config_update_notifier: "false" } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(" ")} failed:\n${stderr || stdout || err.message}`)) : resolve(stdout),
    ),
  );
}

let files: string[] = [];
let tarball = "";

beforeAll(async () => {
  // dist/ and build/ are built before the tests (npm test's pretest): pack only, no scripts.
  const [info] = JSON.parse(await run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], root)) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info.filename);
  files = info.files.map((f) => f.path);
  mkdirSync(join(app, "node_modules", "@types"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await run(npm, ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock"], app);
  // The app's own types for Node: the repository's @types/node, linked rather than downloaded.
  symlinkSync(join(root, "node_modules", "@types", "node"), join(app, "node_modules", "@types", "node"), "dir");
});

describe("npm pack", () => {
  it("ships the built library, both Wasm builds, the sources its maps point at, and no tests", () => {
    for (const f of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/cli/main.js", "src/index.ts"]) expect(files, f).toContain(f);
    for (const b of ["simd128", "relaxed", "simd128-full", "relaxed-full", "simd128-threads", "relaxed-threads"]) expect(files).toContain(`build/recur-${b}.wasm`);
    // The development modules (tests and benchmarks only) stay out.
    expect(files.filter((f) => f.endsWith("-dev.wasm"))).toEqual([]);
    expect(files.filter((f) => /^(test|bench|web|scripts|examples|docs|assembly)\//.test(f) || f.endsWith(".wat") || f.endsWith(".tgz"))).toEqual([]);
  });

  it("every source map points at a file in the package", () => {
    const installed = join(app, "node_modules", "recur-nn");
    const maps = files.filter((f) => f.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const m of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed, m), "utf8")) as { sources: string[] };
      for (const s of sources) {
        const target = join(dirname(m), s).replace(/\\/g, "/");
        if (!files.includes(target)) missing.push(`${m} -> ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("installs into an app where strict TypeScript without the DOM compiles and runs against it", async () => {
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true, target: "es2022", lib: ["es2023"], types: ["node"], module: "nodenext", moduleResolution: "nodenext",
          skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, outDir: "out",
        },
        files: ["main.ts"],
      }),
    );
    writeFileSync(
      join(app, "main.ts"),
      `import { init, LSTM, GRU, loadModel, saveModel, matmul, RecurError, type Tensor, type LoadedModel } from "recur-nn";
import { CharLM } from "recur-nn/char-lm";
import { ESN } from "recur-nn/esn";
import { mackeyGlass, type MackeyGlassOptions } from "recur-nn/datasets";

const info = await init();
const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
const x: Tensor = { shape: [5, 2, 3], data: new Float32Array(30).fill(0.5) };
const { output, hN } = lstm.forward(x);
const loaded: LoadedModel = loadModel(saveModel(lstm));
let same = false;
if (loaded.type === "LSTM") {
  // Narrowed: an LSTM, with its own config.
  same = loaded.model.forward(x).output.data.every((v, i) => v === output.data[i]) && loaded.model.config.projSize === 0;
  loaded.model.dispose();
}
let code = "";
try {
  loadModel(saveModel(lstm), "GRU");
} catch (err) {
  if (err instanceof RecurError) code = err.code;
}
const gru = new GRU({ inputSize: 2, hiddenSize: 2 });
gru.dispose();
const c = matmul({ shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }, { shape: [2, 2], data: Float32Array.of(5, 6, 7, 8) });
const lm = CharLM.fromText("hello world, hello recur", { hiddenSize: 8 });
lm.dispose();
const mg: MackeyGlassOptions = { length: 50 };
const esn = new ESN({ units: 10, seed: 1 });
esn.fit({ shape: [49, 1], data: Float32Array.from(mackeyGlass(mg).subarray(0, 49)) }, { shape: [49, 1], data: Float32Array.from(mackeyGlass(mg).subarray(1, 50)) });
esn.dispose();
lstm.dispose();
console.log(JSON.stringify({ backend: info.backend, outputShape: output.shape, hN: hN.shape, same, code, matmul: Array.from(c.data) }));
`,
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    await run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
    const out = JSON.parse(await run(process.execPath, ["out/main.js"], app));
    expect(out).toEqual({ backend: "relaxed", outputShape: [5, 2, 4], hN: [1, 2, 4], same: true, code: "E_FORMAT", matmul: [19, 22, 43, 50] });
  });

  it("installs the recur command", async () => {
    const bin = join(app, "node_modules", ".bin", "recur");
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    expect(await run(bin, ["--version"], app)).toBe(`recur-nn ${version}\n`);
    expect(readdirSync(join(app, "node_modules"))).toContain("recur-nn");
  });
});
