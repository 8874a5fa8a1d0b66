import { runtime } from "../../src/runtime.js";
import type { ParameterRegion, Trainable } from "../../src/train/module.js";

/**
 * A bare Trainable for optimizer and clipping tests: regions of `sizes[i]` real floats followed by
 * `pad` floats of zero padding (as modules pad between tensors), allocated from the shared heap.
 */
export class FakeModule implements Trainable {
  readonly regions: ParameterRegion[];
  readonly sizes: number[];
  changed = 0;

  constructor(sizes: number[], pad = 3) {
    const { heap } = runtime();
    this.sizes = sizes;
    this.regions = sizes.map((n) => {
      const floats = n + pad;
      const params = heap.alloc(floats * 4);
      const grads = heap.alloc(floats * 4);
      heap.f32(params, floats).fill(0);
      heap.f32(grads, floats).fill(0);
      return { params, grads, floats };
    });
  }

  parameterRegions(): ParameterRegion[] {
    return this.regions;
  }

  zeroGrad(): void {
    for (const r of this.regions) runtime().heap.f32(r.grads, r.floats).fill(0);
  }

  parametersChanged(): void {
    this.changed++;
  }

  params(i: number): Float32Array {
    const r = this.regions[i];
    return runtime().heap.f32(r.params, r.floats);
  }

  grads(i: number): Float32Array {
    const r = this.regions[i];
    return runtime().heap.f32(r.grads, r.floats);
  }

  dispose(): void {
    const { heap } = runtime();
    for (const r of this.regions) {
      heap.release(r.params);
      heap.release(r.grads);
    }
  }
}
