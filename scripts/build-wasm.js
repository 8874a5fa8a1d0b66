// Builds the Wasm binaries from the same sources: the SIMD128 baseline and the relaxed-SIMD
// variant (FMA through f32x4.relaxed_madd), each as the core (assembly/index.ts: what the package
// root needs), the full module (assembly/full.ts: the core and the kernels only recur-nn/esn,
// recur-nn/attention and recur-nn/hessian-free use; loaded when one of them is imported), the
// development module (assembly/dev.ts: the full one and kernels only tests and benchmarks call;
// never loaded by the library) and a threaded full build (shared memory, atomics; loaded only by
// init({ threads > 1 })). Kernels switch on ASC_FEATURE_RELAXED_SIMD and ASC_FEATURE_THREADS at
// compile time, so there is no runtime branch in the hot loops. The eight compilations run side by
// side, as many at once as there are CPUs.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { descriptorIsCurrent, generateDescriptor } from "./gen-descriptor.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = createRequire(import.meta.url).resolve("assemblyscript/bin/asc.js");
mkdirSync(join(root, "build"), { recursive: true });
// The recurrent layers' descriptor is defined in TypeScript; its AssemblyScript copy is generated.
if (!descriptorIsCurrent()) writeFileSync(join(root, "assembly/cells/descriptor.ts"), generateDescriptor());

// AS112 ("exchange of v128 values is not supported by all embeddings") fires for every exported
// function with a v128 in its signature, also those only shared between our own files
// (assembly/cells/activation.ts); none of the modules' exports (assembly/index.ts, full.ts, dev.ts) takes one.
function compile(target) {
  const entry = target.endsWith("-dev") ? "assembly/dev.ts" : target.includes("-") ? "assembly/full.ts" : "assembly/index.ts";
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [asc, entry, "--config", "asconfig.json", "--target", target, "--disableWarning", "112"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (e) => resolve({ target, ok: false, out: `${out}${e.message}\n` }));
    child.on("close", (code, signal) => resolve({ target, ok: code === 0, out, status: code ?? signal }));
  });
}

const targets = ["simd128", "relaxed", "simd128-full", "relaxed-full", "simd128-dev", "relaxed-dev", "simd128-threads", "relaxed-threads"];
const width = Math.max(1, Math.min(targets.length, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length));
let failed = false;
for (let i = 0; i < targets.length; i += width) {
  for (const r of await Promise.all(targets.slice(i, i + width).map(compile))) {
    // Binaryen's note that its last --converge round did not shrink the module is not a problem.
    const out = r.out.replace(/^Last converge was suboptimal\.\n/gm, "");
    if (out) process.stderr.write(out);
    if (!r.ok) {
      console.error(`build-wasm: asc failed for target ${r.target} (exit ${r.status})`);
      failed = true;
    }
  }
}
if (failed) process.exit(1);
