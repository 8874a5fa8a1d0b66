// The model descriptor shared with src/esn/layout.ts: a block of i32 fields (M_*) followed by one
// 128-byte descriptor per layer (L_*). Every pointer is an absolute byte address in the model's
// Wasm block, which never moves. Keep the numbers in sync with src/esn/layout.ts.

export const M_LAYERS = 0, M_IN = 1, M_OUT = 2, M_FEAT = 3, M_RIN = 4, M_F = 5, M_EXT = 6, M_FB = 7;
export const M_YPREV = 8, M_WOUT = 9, M_Y = 10, M_Z = 11, M_RNG = 12;
/** Training rows: the buffer, its capacity in rows, and the Gram matrix's stride (0: keep rows, see esnRun). */
export const M_ROWS = 13, M_ROWS_CAP = 14, M_G = 15, M_GRAM = 16;
export const M_P = 17, M_K = 18, M_PREC = 19;
export const M_FORGET = 20; // f64 at byte 80 (RLS forgetting factor)
/** Rows already in the row buffer (kept across calls). */
export const M_FILLED = 22;
export const LAYER0 = 128;
export const LAYER_BYTES = 128;

export const L_N = 0, L_K = 1, L_IN = 2, L_X = 3, L_PRE = 4, L_WIN = 5, L_MODE = 6, L_W = 7, L_COL = 8;
export const L_VAL = 9, L_LEAK = 10, L_ACT = 11, L_NOISE = 12, L_BIAS = 13;
export const L_LEAK64 = 56; // byte offset of the leak rate as f64 (float64 models)
export const L_CAT = 16; // float32 dense layers: [x(t-1); input] scratch, the GEMV's vector

export const MODE_DENSE = 0;
export const MODE_SPARSE = 1;

export const ACT_TANH = 0, ACT_SIGMOID = 1, ACT_RELU = 2, ACT_IDENTITY = 3;

/** Input of each step is the previous output (closed loop, generation). */
export const FLAG_CLOSED = 1;
/** Before each step the feedback/previous output is set to the step's input (generation warm-up). */
export const FLAG_FB_IS_INPUT = 2;
/** After each step the previous output becomes teacher[t] (teacher forcing). */
export const FLAG_TEACHER = 4;
/** Add the row [1; u; x; teacher[t]] of every step t >= washout to the ridge statistics. */
export const FLAG_GRAM = 8;
/** Update the readout by RLS towards teacher[t] at every step t >= washout. */
export const FLAG_RLS = 16;
/** Add state noise (std per layer). */
export const FLAG_NOISE = 32;
/** Compute the readout y(t) at every step. */
export const FLAG_OUTPUT = 64;

// @ts-ignore: decorator
@inline
export function field(m: usize, i: i32): i32 {
  return load<i32>(m + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
export function ptr(m: usize, i: i32): usize {
  return <usize>load<u32>(m + (<usize>i << 2));
}

// Copies n 4-byte words. The per-step copies are mostly a few words (inputs, outputs), where a
// loop beats memory.copy (a call out of the compiled code in V8).
// @ts-ignore: decorator
@inline
export function copy32(dst: usize, src: usize, n: i32): void {
  if (n > 16) memory.copy(dst, src, <usize>n << 2);
  else for (let i = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), load<u32>(src + (<usize>i << 2)));
}
