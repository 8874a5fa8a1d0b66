import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * The host's CPU as figures must name it: model, family (Zen 1 is family 23, Zen 5 family 26) and
 * the vector extensions native peers get (AVX-512 or AVX2 + FMA), from /proc/cpuinfo where there
 * is one. Wasm SIMD is 128-bit everywhere; these decide what the native peers run.
 */
export function hostCpu() {
  const model = os.cpus()[0]?.model?.trim() ?? "unknown";
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return { model, family: undefined, avx512: undefined, avx2: undefined, text: `${model} (vector extensions unknown)` };
  }
  const field = (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  const flags = new Set((field("flags") ?? "").split(/\s+/));
  const family = field("cpu family");
  const avx512 = flags.has("avx512f");
  const avx2 = flags.has("avx2") && flags.has("fma");
  const isa = avx512 ? "AVX-512: yes" : `AVX-512: no${avx2 ? " (AVX2 + FMA)" : ""}`;
  return { model, family: family === undefined ? undefined : Number(family), avx512, avx2, text: `${model}${family ? ` (family ${family})` : ""}, ${isa}` };
}
