import { fail } from "../errors.js";
import type { Heap } from "../memory.js";
import { runtime, type Runtime } from "../runtime.js";
import { numel, type Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "../train/module.js";
import { blockFinalizer, OwnedBlocks } from "../train/util.js";

/** A parameter tensor inside a layer's parameter block. */
export interface ParamSpec {
  name: string;
  shape: number[];
  /** Bytes from the start of the block (the gradient block has the same layout). */
  offset: number;
}

/** Copies of every parameter under its PyTorch state_dict name. */
export function readStateDict(heap: Heap, block: number, specs: ParamSpec[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of specs) out[s.name] = { shape: [...s.shape], data: heap.f32(block + s.offset, numel(s.shape)).slice() };
  return out;
}

/**
 * Replaces every parameter after checking the whole dict: missing, unexpected and misshaped keys
 * and non-finite values are listed together in one RecurError E_KEY, and nothing is written
 * unless everything is valid.
 */
export function writeStateDict(where: string, heap: Heap, block: number, specs: ParamSpec[], sd: unknown): void {
  if (typeof sd !== "object" || sd === null || Array.isArray(sd)) fail("E_TYPE", `${where}: expected an object of tensors, got ${sd === null ? "null" : Array.isArray(sd) ? "an array" : typeof sd}`);
  const dict = sd as Record<string, unknown>;
  const problems: string[] = [];
  const missing = specs.filter((s) => !(s.name in dict)).map((s) => s.name);
  const unexpected = Object.keys(dict).filter((k) => !specs.some((s) => s.name === k));
  if (missing.length) problems.push(`missing keys: ${missing.join(", ")}`);
  if (unexpected.length) problems.push(`unexpected keys: ${unexpected.join(", ")}`);
  for (const s of specs) {
    const t = dict[s.name] as Tensor | undefined;
    if (t === undefined) continue;
    if (typeof t !== "object" || t === null || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      problems.push(`${s.name}: not a tensor { shape, data: Float32Array }`);
      continue;
    }
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]) || t.data.length !== numel(s.shape)) {
      problems.push(`${s.name}: expected shape [${s.shape.join(", ")}], got [${t.shape.join(", ")}] with ${t.data.length} values`);
      continue;
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) problems.push(`${s.name}: non-finite value ${t.data[bad]} at index ${bad}`);
  }
  if (problems.length) fail("E_KEY", `${where}: ${problems.join("; ")}`);
  for (const s of specs) heap.f32(block + s.offset, numel(s.shape)).set((dict[s.name] as Tensor).data);
}

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
