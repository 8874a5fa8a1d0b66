import { fail } from "../errors.js";
import { runtime, type Runtime } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import { readStateDict, writeStateDict, type ParamSpec } from "../io/state-dict.js";
import type { ParameterRegion, Trainable } from "../train/module.js";
import { blockFinalizer, OwnedBlocks } from "../train/util.js";

export type { ParamSpec };

/**
 * What Linear and Embedding share: one parameter block in PyTorch layout (its float count is the
 * single parameter region), a gradient block of the same layout allocated on first use, state
 * dicts, dispose and the finalizer safety net.
 */
export abstract class ParamLayer implements Trainable {
  protected readonly rt: Runtime;
  protected readonly owned: OwnedBlocks;
  protected readonly specs: ParamSpec[];
  /** Floats of the parameter region (padding between tensors included, always zero). */
  protected readonly regionFloats: number;
  private disposed = false;

  protected constructor(
    protected readonly kind: string,
    specs: ParamSpec[],
    regionFloats: number,
  ) {
    this.rt = runtime();
    this.specs = specs;
    this.regionFloats = regionFloats;
    this.owned = new OwnedBlocks(this.rt.heap);
    blockFinalizer.register(this, this.owned, this);
    const params = this.owned.ensure("params", regionFloats * 4);
    this.rt.heap.f32(params, regionFloats).fill(0);
  }

  /** Parameter names and shapes in state-dict order. */
  parameterShapes(): Record<string, number[]> {
    return Object.fromEntries(this.specs.map((s) => [s.name, [...s.shape]]));
  }

  parameterRegions(): ParameterRegion[] {
    this.checkAlive();
    return [{ params: this.owned.get("params"), grads: this.gradBlock(), floats: this.regionFloats }];
  }

  zeroGrad(): void {
    this.checkAlive();
    const g = this.owned.get("grads");
    if (g !== 0) this.rt.heap.f32(g, this.regionFloats).fill(0);
  }

  abstract parametersChanged(): void;

  /** A copy of every parameter under its PyTorch state_dict name. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    return readStateDict(this.rt.heap, this.owned.get("params"), this.specs);
  }

  /**
   * Replaces every parameter. The dict must hold exactly this layer's keys with their shapes and
   * finite values; otherwise one RecurError E_KEY lists every problem and the layer is unchanged.
   */
  loadStateDict(sd: Record<string, Tensor>): void {
    this.checkAlive();
    writeStateDict(`${this.kind}.loadStateDict`, this.rt.heap, this.owned.get("params"), this.specs, sd);
    this.parametersChanged();
  }

  /** Copies of the accumulated gradients under the parameter names (zeros before any backward). */
  gradients(): Record<string, Tensor> {
    this.checkAlive();
    return readStateDict(this.rt.heap, this.gradBlock(), this.specs);
  }

  /** Returns this layer's Wasm memory. Using the layer afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    blockFinalizer.unregister(this);
    this.owned.releaseAll();
  }

  /** Whether `dispose` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  protected checkAlive(): void {
    if (this.disposed) fail("E_STATE", `${this.kind}: the layer was disposed`);
  }

  protected paramBlock(): number {
    return this.owned.get("params");
  }

  // Gradients are allocated (zeroed) on first use, so inference-only layers never pay for them.
  protected gradBlock(): number {
    let g = this.owned.get("grads");
    if (g === 0) {
      g = this.owned.ensure("grads", this.regionFloats * 4);
      this.rt.heap.f32(g, this.regionFloats).fill(0);
    }
    return g;
  }
}
