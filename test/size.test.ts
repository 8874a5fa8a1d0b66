/**
 * What recur costs a web page, measured by scripts/size.js (Vite's minified build of dist/ and
 * the Wasm binaries it emits). docs/performance.md ("Size") reports the same numbers.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { BUDGET, ENTRIES, measureSize } from "../scripts/size.js";

// Every entry point together with both binaries: not a page anyone loads, so not held to the
// budget; this ceiling only stops the package from growing unnoticed. Lower it as it shrinks.
// Raised from 420 / 142 kB for the cells' options path (ONNX / Keras activations, clip,
// input_forget: +6 kB of Wasm per binary), the allocation-free step, recur-nn/attention (~23 kB:
// its entry and the attention kernels in both binaries), the direct small-product kernels, the
// validation layer for hostile files and arguments (+8 kB), recur-nn/diagnostics, the MRNN, the
// forward-mode (tangent) kernels and recur-nn/hessian-free, then the ONNX executor's Wasm
// convolution and element-wise kernels (+2 kB, +0.9 kB gzipped per binary) and its allocation-free
// sequence runner.
const LIBRARY_CEILING = { bytes: 530_000, gzip: 183_000 };

// The importers of models from elsewhere carry their formats' readers and are measured in
// docs/interop.md; every other entry point is a page within the budget.
const OVER_BUDGET = ["recur-nn/onnx", "recur-nn/keras"];

type Part = { bytes: number; gzip: number };
type Page = { js: Part; wasm: Part; total: Part };
let size: { library: { js: Part; wasm: Record<string, Part>; total: Part }; entries: Record<string, Page>; pages: Record<string, Page> };

beforeAll(async () => {
  size = await measureSize();
});

describe("bundle size", () => {
  it("measures real output: minified JavaScript and both Wasm binaries, emitted as files", () => {
    expect(size.library.js.bytes).toBeGreaterThan(10_000);
    expect(size.library.js.gzip).toBeLessThan(size.library.js.bytes);
    for (const b of ["simd128", "relaxed"]) expect(size.library.wasm[b].bytes, b).toBeGreaterThan(10_000);
    for (const [name, page] of Object.entries(size.pages)) expect(page.js.bytes, name).toBeLessThan(size.library.js.bytes);
  });

  // The 50 kB page budget (BUDGET) is not met at present: the cells' options, the MRNN and
  // forward-mode kernels, attention and the validation layer took the root page from 43 to 59 kB
  // gzipped (docs/performance.md). Until it is won back, these ceilings (measured, +1 %) stop any
  // further growth; lower them as pages shrink, and return to BUDGET when they fit it. Raised by
  // 1.5 / 0.7 kB for the ONNX executor's Wasm kernels (assembly/conv1d.ts, elementwise.ts), which
  // live in the one binary every page loads.
  const PAGE_CEILING = { bytes: 174_500, gzip: 61_000 };
  const fits = (what: string, p: Part) => {
    expect(p.bytes, what).toBeLessThanOrEqual(PAGE_CEILING.bytes);
    expect(p.gzip, what).toBeLessThanOrEqual(PAGE_CEILING.gzip);
  };

  it("the root entry point, every export with one binary, stays under the page ceiling", () => {
    const root = size.entries["recur-nn"];
    expect(root.wasm.bytes).toBeGreaterThan(10_000);
    fits("recur-nn", root.total);
  });

  it("every entry point is measured and under the page ceiling (the model importers aside); datasets loads no binary", () => {
    expect(Object.keys(size.entries).sort()).toEqual(Object.keys(ENTRIES).sort());
    for (const [name, e] of Object.entries(size.entries)) if (!OVER_BUDGET.includes(name)) fits(name, e.total);
    expect(size.entries["recur-nn/datasets"].wasm.bytes).toBe(0);
    // The ESN and attention pages still fit the budget itself.
    for (const name of ["recur-nn/esn", "recur-nn/attention", "recur-nn/diagnostics", "recur-nn/wasm"]) {
      expect(size.entries[name].total.gzip, name).toBeLessThanOrEqual(BUDGET.gzip);
    }
  });

  it("each typical page (inference, training, ESN: its JavaScript and the one binary it loads) stays under the page ceiling; ESN within the budget", () => {
    for (const name of ["inference", "training", "esn"]) fits(name, size.pages[name].total);
    expect(size.pages.esn.total.gzip).toBeLessThanOrEqual(BUDGET.gzip);
  });

  it("every entry point with both binaries stays under its ceiling", () => {
    expect(size.library.total.bytes).toBeLessThanOrEqual(LIBRARY_CEILING.bytes);
    expect(size.library.total.gzip).toBeLessThanOrEqual(LIBRARY_CEILING.gzip);
  });
});
