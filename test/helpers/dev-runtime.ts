/**
 * The development module (build/recur-<backend>-dev.wasm, assembly/dev.ts): the full module and
 * the kernels no library path calls (element-wise activations and softmax over arrays, the peak
 * probe), which these tests use to check the cells' functions over the whole float range.
 */
import type { DevKernels } from "../../src/kernels.js";
import { type Backend, createRuntime, type Runtime } from "../../src/runtime.js";

export type DevRuntime = Runtime & { kernels: DevKernels };

export async function devRuntime(backend: Backend): Promise<DevRuntime> {
  const rt = await createRuntime({ backend, wasm: new URL(`../../build/recur-${backend}-dev.wasm`, import.meta.url) });
  return rt as DevRuntime;
}
