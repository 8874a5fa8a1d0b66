// Builds both Wasm binaries from the same sources: the SIMD128 baseline and the relaxed-SIMD
// variant (FMA through f32x4.relaxed_madd). Kernels switch on ASC_FEATURE_RELAXED_SIMD at
// compile time, so there is no runtime branch in the hot loops.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = createRequire(import.meta.url).resolve("assemblyscript/bin/asc.js");
mkdirSync(join(root, "build"), { recursive: true });
for (const target of ["simd128", "relaxed"]) {
  execFileSync(process.execPath, [asc, "assembly/index.ts", "--config", "asconfig.json", "--target", target], {
    cwd: root,
    stdio: "inherit",
  });
}
