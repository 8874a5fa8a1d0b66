/**
 * The model block shared with assembly/reservoir/layout.ts (keep the numbers in sync): a
 * descriptor of i32 fields, one 128-byte descriptor per layer, and the internal shapes the ESN's
 * modules pass around. Every pointer is an absolute byte address in Wasm memory.
 */
import { align64, type Heap, type WasmBlocks } from "../memory.js";
import type { FullRuntime } from "../full-core.js";
import type { ESNActivation, LayerInfo } from "./types.js";

export const enum Field {
  Layers = 0,
  In = 1,
  Out = 2,
  Feat = 3,
  Rin = 4,
  F = 5,
  Ext = 6,
  Fb = 7,
  YPrev = 8,
  Wout = 9,
  Y = 10,
  Z = 11,
  Rng = 12,
  Rows = 13,
  RowsCap = 14,
  G = 15,
  Gram = 16,
  P = 17,
  K = 18,
  Prec = 19,
  Forget = 20, // f64
  Filled = 22,
}
export const LAYER0 = 128;
export const LAYER_BYTES = 128;
export const enum LField {
  N = 0,
  K = 1,
  In = 2,
  X = 3,
  Pre = 4,
  Win = 5,
  Mode = 6,
  W = 7,
  Col = 8,
  Val = 9,
  Leak = 10,
  Act = 11,
  Noise = 12,
  Bias = 13,
  Cat = 16,
}
export const L_LEAK64 = 56; // byte offset of the f64 leak rate in a layer descriptor
export const enum Flag {
  Closed = 1,
  FbIsInput = 2,
  Teacher = 4,
  Gram = 8,
  Rls = 16,
  Noise = 32,
  Output = 64,
}
export const ACT_CODE: Record<ESNActivation, number> = { tanh: 0, sigmoid: 1, relu: 2, identity: 3 };

/** One layer as laid out in the model block. */
export interface LayerMem {
  n: number;
  k: number; // inputs of the layer (layer 0: inputDim + feedback)
  desc: number;
  x: number; // the layer's state
  inp: number; // its input vector (layer 0: [u; y(t-1)], else the previous layer's state)
  pre: number;
  win: number; // float64: row-major W_in; float32 sparse: unused (fused into the blocks)
  bias: number; // float64: [n]; float32 sparse: [groups][4]; float32 dense: in the packed panels
  cat: number; // float32 dense layers: the [x(t-1); input] vector of the fused product
  mode: "dense" | "sparse";
  w: number; // packed dense [W W_in], row-major float64 W, CSR rowPtr, or block group starts
  col: number; // CSR columns, or block entry addresses
  val: number; // CSR values, or block weights [blocks][4]
  blocks: number; // float32 sparse: number of blocks
  nnz: number;
}

export interface Built {
  I: number;
  O: number; // 0 while unknown
  fb: number;
  D: number;
  block: number;
  desc: number;
  F: number;
  ext: number;
  rng: number;
  layers: LayerMem[];
  info: LayerInfo[];
}

export interface Readout {
  block: number;
  yPrev: number;
  y: number;
  z: number;
  k: number;
  wout: number;
}


/** A readout's block: the previous output y(t-1) (state precision), y, z, k ([D] float64) and W_out [O][D] float64. */
export function allocReadout(arena: Arena, O: number, D: number, es: number): Readout {
  const yPrevB = align64(O * es);
  const yB = align64(O * 8);
  const zB = align64(D * 8);
  const block = arena.blocks.alloc(yPrevB + yB + 2 * zB + O * D * 8);
  return { block, yPrev: block, y: block + yPrevB, z: block + yPrevB + yB, k: block + yPrevB + yB + zB, wout: block + yPrevB + yB + 2 * zB };
}

/** An ESN's runtime and the Wasm blocks it owns (released by dispose, or when it is collected). */
export interface Arena {
  readonly rt: FullRuntime;
  readonly blocks: WasmBlocks;
}

/** A fresh view of n state elements (es = 4: float32, 8: float64). */
export function vec(heap: Heap, es: number, ptr: number, n: number): Float32Array | Float64Array {
  return es === 8 ? heap.f64(ptr, n) : heap.f32(ptr, n);
}

export function bytes(heap: Heap, ptr: number, n: number): Uint8Array {
  return new Uint8Array(heap.memory.buffer, ptr, n);
}

