/**
 * Reservoir construction (every layer of a deep reservoir): draws or takes the weights, chooses
 * dense or sparse storage, measures W's spectral radius and rescales it, lays out the model block
 * and writes the descriptors; and reads the stored weights back (ESN.getWeights).
 */
import { fail } from "../errors.js";
import { createRng } from "../random.js";
import { spectralRadius, type KrylovWorkspace, type LinearOperator } from "../spectral/index.js";
import type { Tensor } from "../tensor.js";
import { ACT_CODE, Field, LAYER0, LAYER_BYTES, LField, L_LEAK64, vec, type Arena, type Built, type LayerMem } from "./layout.js";
import { align64 } from "../memory.js";
import { checkCsr, checkWeightTensor, isSparse, type LayerSpec } from "./options.js";
import type { LayerInfo, SparseMatrix } from "./types.js";
import { blockPattern, countNonzero, csrToDense, denseToCsr, fillBlocks, randomCsr, randomDenseBlock, unpackBlocks, unpackBT, type Csr } from "./weights.js";

// Arnoldi basis size for the spectral radius (src/spectral.ts's default).
const KRYLOV_DIM = 48;

/**
 * A layer's weights as a file stored them (ESN.loadStateDict): used exactly as given, never
 * rescaled; float64 (a float32 model's are float32 values). W is dense [n·n] or CSR.
 */
export interface StoredLayer {
  W: Float64Array | Csr;
  Win: Float64Array;
  bias: Float64Array;
  Wfb?: Float64Array;
}

export interface ReservoirConfig {
  specs: LayerSpec[];
  /** Rebuild from stored weights and noise generator state instead of drawing them from `seed`. */
  stored?: { layers: StoredLayer[]; noiseSeed: Uint32Array };
  seed: number;
  /** Readout on [1; u; x]. */
  rin: boolean;
  /** Bytes per state value: 4 (float32) or 8 (float64). */
  es: number;
  units: number;
}

interface RawLayer {
  n: number;
  kin: number;
  k: number;
  csr?: Csr;
  dense?: Float64Array;
  /** Float32 sparse layers: the blocks of [W W_in]. */
  blocks?: { start: Int32Array; col: Int32Array };
  win: Float64Array;
  bias: Float64Array;
  rescale: boolean;
  nnz: number;
  spec: LayerSpec;
  /** Set when W is the first draw of the seed's generator: what decides W entirely. */
  memoKey?: string;
}

type Radius = ReturnType<typeof measureRadius>;

/**
 * Spectral radii of random first-layer W before scaling, by what decides W (seed, units, nonzeros
 * per row, precision). esnSearch sets a map while it builds reservoirs: trials that share W (all
 * of them when connectivity is not searched) then measure it once. Reuse gives the very same
 * radius, so a reservoir is the same with or without it.
 */
export const radiusMemo: { map?: Map<string, Radius> } = {};

type Offsets = { pre: number; win: number; bias: number; w: number; col: number; val: number; cat: number };

/** Builds the reservoir for I inputs and fb fed-back outputs; the returned model has O = 0 (no readout yet). */
export function buildReservoir(arena: Arena, cfg: ReservoirConfig, I: number, fb: number): Built {
  const fn = "ESN";
  const { kernels: k } = arena.rt;
  const { specs, es } = cfg;
  const rng = createRng(cfg.seed);
  const L = specs.length;
  const D = 1 + (cfg.rin ? I : 0) + cfg.units;

  // 1. Weights in JS memory (float64), in a fixed draw order per layer: W, W_in, bias, W_fb.
  // A float32 model rounds them first, so the spectral radius is that of the stored matrix.
  const round = (a: Float64Array): Float64Array => {
    if (es === 4) for (let i = 0; i < a.length; i++) a[i] = Math.fround(a[i]);
    return a;
  };
  const raws: RawLayer[] = [];
  const wname = (l: number, key: string): string => `weights${L > 1 ? `[${l}]` : ""}.${key}`;
  for (let l = 0; l < L; l++) {
    const s = specs[l];
    const n = s.units;
    const kin = l === 0 ? I : specs[l - 1].units;
    const kk = kin + (l === 0 ? fb : 0);
    const w = s.weights;
    const raw: RawLayer = { n, kin, k: kk, win: new Float64Array(n * kk), bias: new Float64Array(n), rescale: true, nnz: 0, spec: s };
    const stored = cfg.stored?.layers[l];
    if (stored !== undefined) {
      raw.rescale = false;
      if (stored.W instanceof Float64Array) raw.dense = stored.W.slice();
      else raw.csr = { rowPtr: stored.W.rowPtr.slice(), col: stored.W.col.slice(), val: stored.W.val.slice() };
    } else if (w.W !== undefined) {
      raw.rescale = s.radiusGiven;
      if (isSparse(w.W)) raw.csr = checkCsr(fn, wname(l, "W"), w.W, n);
      else raw.dense = Float64Array.from(checkWeightTensor(fn, wname(l, "W"), w.W as Tensor, [n, n]));
    } else {
      const per = s.connectivity === 0 ? 0 : Math.max(1, Math.round(s.connectivity * n));
      if (l === 0) raw.memoKey = `${cfg.seed}/${n}/${per}/${es}`;
      raw.csr = randomCsr(rng, n, per);
      raw.csr.val = round(raw.csr.val);
    }
    if (Array.isArray(s.inputScaling) && s.inputScaling.length !== kin) {
      fail("E_VALUE", `${fn}: layer ${l} inputScaling has ${s.inputScaling.length} entries for ${kin} input channel(s)`);
    }
    const scaleOf = (c: number): number => (Array.isArray(s.inputScaling) ? s.inputScaling[c] : s.inputScaling);
    const win = stored?.Win ?? (w.Win !== undefined ? Float64Array.from(checkWeightTensor(fn, wname(l, "Win"), w.Win, [n, kin])) : round(randomDenseBlock(rng, n, kin, scaleOf, s.inputConnectivity)));
    const bias = stored?.bias ?? (w.bias !== undefined ? Float64Array.from(checkWeightTensor(fn, wname(l, "bias"), w.bias, [n])) : s.biasScaling > 0 ? round(randomDenseBlock(rng, n, 1, () => s.biasScaling, 1)) : new Float64Array(n));
    raw.bias.set(bias);
    let wfb: Float64Array | undefined;
    if (l === 0 && fb > 0) {
      wfb = stored !== undefined ? stored.Wfb : w.Wfb !== undefined ? Float64Array.from(checkWeightTensor(fn, "weights.Wfb", w.Wfb, [n, fb])) : round(randomDenseBlock(rng, n, fb, () => s.feedbackScaling, s.feedbackConnectivity));
    }
    for (let i = 0; i < n; i++) {
      raw.win.set(win.subarray(i * kin, (i + 1) * kin), i * kk);
      if (wfb) raw.win.set(wfb.subarray(i * fb, (i + 1) * fb), i * kk + kin);
    }
    // Storage: sparse when fewer than half of W's 4-row blocks hold a nonzero (the block product
    // then does less than half the dense product's multiply-adds; measured in bench/esn.js).
    raw.nnz = raw.csr ? raw.csr.val.length : countNonzero(raw.dense!);
    if (s.sparse !== false) raw.csr ??= denseToCsr(raw.dense!, n);
    const blocks = s.sparse === false ? undefined : blockPattern(raw.csr!, n, raw.win, kk);
    let sparse = s.sparse;
    if (sparse === "auto") {
      let wBlocks = 0; // blocks of W: the columns below n
      for (let b = 0; b < blocks!.col.length; b++) if (blocks!.col[b] < n) wBlocks++;
      sparse = wBlocks < 0.5 * Math.ceil(n / 4) * n;
    }
    if (sparse) raw.dense = undefined;
    else {
      raw.dense ??= csrToDense(raw.csr!, n);
      raw.csr = undefined;
    }
    if (sparse && es === 4) raw.blocks = blocks;
    raws.push(raw);
  }
  const noiseSeed = cfg.stored?.noiseSeed ?? [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32() | 1];

  // 2. Layout of the model block. Float32: a dense layer packs [W W_in] (and the bias) as one
  // matrix in GEMM panels, for one product per step over the vector cat = [x(t-1); input]; a
  // sparse layer keeps its blocks and a [groups][4] bias. Float64: row-major W_in, bias, and W
  // dense or CSR. Pre-activations are padded to whole 8-float panels.
  let off = align64(LAYER0 + L * LAYER_BYTES);
  const rngOff = off;
  off += 64;
  const fOff = off;
  off += align64(D * es);
  const extOff = off;
  off += align64((I + fb) * es);
  const lay: Offsets[] = raws.map((r) => {
    const m = { pre: 0, win: 0, bias: 0, w: 0, col: 0, val: 0, cat: 0 };
    const fused = es === 4 && r.dense !== undefined;
    const groups = Math.ceil(r.n / 4);
    m.pre = off;
    off += align64(Math.ceil(r.n / 8) * 8 * es);
    if (es === 8) {
      m.win = off;
      off += align64(r.n * r.k * 8);
    }
    if (!fused) {
      m.bias = off;
      off += align64(es === 8 ? r.n * 8 : groups * 16);
    }
    if (fused) {
      m.cat = off;
      off += align64((r.n + r.k) * 4);
    }
    m.w = off;
    if (fused) off += align64(k.packedSize(r.n + r.k, r.n) * 4);
    else if (r.dense) off += align64(r.n * r.n * 8);
    else if (r.blocks) {
      const nb = r.blocks.col.length;
      off += align64((groups + 1) * 4);
      m.col = off;
      off += align64(nb * 4);
      m.val = off;
      off += align64(nb * 16);
    } else {
      const nnz = r.csr!.val.length;
      off += align64((r.n + 1) * 4);
      m.col = off;
      off += align64(nnz * 4);
      m.val = off;
      off += align64(nnz * 8);
    }
    return m;
  });
  const block = arena.blocks.alloc(off);
  try {
    return fillBlock(arena, cfg, block, off, raws, lay, I, fb, D, rngOff, fOff, extOff, noiseSeed);
  } catch (e) {
    arena.blocks.release(block); // e.g. an all-zero W asked for a spectral radius
    throw e;
  }
}

function fillBlock(
  arena: Arena, cfg: ReservoirConfig, block: number, off: number, raws: RawLayer[], lay: Offsets[],
  I: number, fb: number, D: number, rngOff: number, fOff: number, extOff: number, noiseSeed: ArrayLike<number>,
): Built {
  const fn = "ESN";
  const { heap, kernels: k } = arena.rt;
  const { es, specs } = cfg;
  const L = raws.length;
  heap.f32(block, off / 4).fill(0);
  const unitsOff = 1 + (cfg.rin ? I : 0);
  const xPtrs: number[] = [];
  for (let l = 0, x = block + fOff + unitsOff * es; l < L; x += raws[l].n * es, l++) xPtrs.push(x);

  // 3. Spectral radius and scaling, on the values the kernels will use.
  const info: LayerInfo[] = [];
  const layers: LayerMem[] = [];
  const put = (ptr: number, a: Float64Array): void => vec(heap, es, ptr, a.length).set(a);
  for (let l = 0; l < L; l++) {
    const r = raws[l];
    const m = lay[l];
    const n = r.n;
    const x = xPtrs[l];
    const inp = l === 0 ? block + extOff : xPtrs[l - 1];
    const vals = r.dense ?? r.csr!.val;
    let radius = NaN;
    let eigen: LayerInfo["eigen"];
    const target = r.spec.spectralRadius;
    if (r.rescale && target === 0) {
      vals.fill(0);
      radius = 0;
    } else {
      const memo = r.memoKey === undefined ? undefined : radiusMemo.map;
      const res = memo?.get(r.memoKey!) ?? measureRadius(arena, r);
      if (memo && r.memoKey !== undefined) memo.set(r.memoKey, res);
      eigen = { residual: res.residual, converged: res.converged, products: res.products };
      radius = res.radius;
      if (r.rescale && !(radius > 1e-10 * res.norm)) {
        // All-zero W (and nilpotent W, up to the rounding its defective eigenvalues suffer).
        fail("E_VALUE", `${fn}: layer ${l}: cannot rescale W to spectral radius ${target}: W has spectral radius 0 (all zero or nilpotent); pass spectralRadius: 0 for no recurrence, or other weights`);
      }
      if (r.rescale) {
        const scale = target / radius;
        for (let i = 0; i < vals.length; i++) vals[i] = es === 4 ? Math.fround(vals[i] * scale) : vals[i] * scale;
        radius *= scale;
      }
    }
    const nb = r.blocks?.col.length ?? 0;
    if (r.blocks) {
      // Float32 sparse: the blocks of [W W_in], each column as the address of its vector entry.
      heap.i32(block + m.w, r.blocks.start.length).set(r.blocks.start);
      const addr = heap.i32(block + m.col, nb);
      for (let b = 0; b < nb; b++) {
        const c = r.blocks.col[b];
        addr[b] = c < n ? x + 4 * c : inp + 4 * (c - n);
      }
      fillBlocks(r.blocks, r.csr!, n, r.win, r.k, heap.f32(block + m.val, nb * 4));
      heap.f32(block + m.bias, n).set(r.bias);
    } else if (r.csr) {
      heap.i32(block + m.w, n + 1).set(r.csr.rowPtr);
      heap.i32(block + m.col, r.csr.col.length).set(r.csr.col);
      put(block + m.val, vals);
    } else if (es === 8) put(block + m.w, vals);
    else {
      // Fused [W W_in] rows, bias apart: packed as B = [W W_in]^T with the bias row.
      const kk = n + r.k;
      const cat = new Float64Array(n * kk);
      for (let i = 0; i < n; i++) {
        cat.set(vals.subarray(i * n, (i + 1) * n), i * kk);
        cat.set(r.win.subarray(i * r.k, (i + 1) * r.k), i * kk + n);
      }
      arena.blocks.scratch(align64(n * kk * 4) + n * 4, (tmp) => {
        put(tmp, cat);
        put(tmp + align64(n * kk * 4), r.bias);
        k.packBT(tmp, kk, kk, n, tmp + align64(n * kk * 4), block + m.w);
      });
    }
    if (es === 8) {
      put(block + m.win, r.win);
      put(block + m.bias, r.bias);
    }
    const desc = block + LAYER0 + l * LAYER_BYTES;
    const mode = r.dense ? "dense" : "sparse";
    layers.push({ n, k: r.k, desc, x, inp, pre: block + m.pre, win: es === 8 ? block + m.win : 0, bias: block + m.bias, cat: block + m.cat, mode, w: block + m.w, col: block + m.col, val: block + m.val, blocks: nb, nnz: r.nnz });
    info.push({ units: n, inputDim: r.kin, storage: mode, nnz: r.nnz, spectralRadius: radius, eigen });
  }

  // 4. Descriptors.
  const md = heap.i32(block, LAYER0 / 4);
  md[Field.Layers] = L;
  md[Field.In] = I;
  md[Field.Out] = 0;
  md[Field.Feat] = D;
  md[Field.Rin] = cfg.rin ? 1 : 0;
  md[Field.F] = block + fOff;
  md[Field.Ext] = block + extOff;
  md[Field.Fb] = fb;
  md[Field.Rng] = block + rngOff;
  md[Field.Prec] = es === 8 ? 1 : 0;
  heap.f64(block + Field.Forget * 4, 1)[0] = 1;
  new Uint32Array(heap.memory.buffer, block + rngOff, 4).set(noiseSeed);
  for (let l = 0; l < L; l++) {
    const Lm = layers[l];
    const d = heap.i32(Lm.desc, LAYER_BYTES / 4);
    const df = heap.f32(Lm.desc, LAYER_BYTES / 4);
    d[LField.N] = Lm.n;
    d[LField.K] = Lm.k;
    d[LField.In] = Lm.inp;
    d[LField.X] = Lm.x;
    d[LField.Pre] = Lm.pre;
    d[LField.Win] = Lm.win;
    d[LField.Mode] = Lm.mode === "dense" ? 0 : 1;
    d[LField.W] = Lm.w;
    d[LField.Col] = Lm.col;
    d[LField.Val] = Lm.val;
    df[LField.Leak] = specs[l].leakRate;
    d[LField.Bias] = Lm.bias;
    d[LField.Cat] = Lm.cat;
    heap.f64(Lm.desc + L_LEAK64, 1)[0] = specs[l].leakRate;
    d[LField.Act] = ACT_CODE[specs[l].activation];
    df[LField.Noise] = specs[l].noise;
  }
  return { I, O: 0, fb, D, block, desc: block, F: block + fOff, ext: block + extOff, rng: block + rngOff, layers, info };
}

// Spectral radius of a layer's W by implicitly restarted Arnoldi; the products run in Wasm in
// float64 on a temporary copy of W (the model block has W packed or in blocks).
function measureRadius(arena: Arena, r: RawLayer): { radius: number; residual: number; converged: boolean; products: number; norm: number } {
  const { heap, kernels: k } = arena.rt;
  const n = r.n;
  const vals = r.dense ?? r.csr!.val;
  const nnz = vals.length;
  const csrBytes = r.csr ? align64((n + 1) * 4) + align64(nnz * 4) : 0;
  let fro = 0;
  for (let i = 0; i < nnz; i++) fro += vals[i] * vals[i];
  const norm = Math.sqrt(fro);
  const tmp = arena.blocks.alloc(align64(nnz * 8) + csrBytes + 16 * n);
  let krylov = 0;
  try {
    const rowPtr = tmp + align64(nnz * 8);
    const col = rowPtr + align64((n + 1) * 4);
    const xPtr = tmp + align64(nnz * 8) + csrBytes;
    const yPtr = xPtr + 8 * n;
    heap.f64(tmp, nnz).set(vals);
    if (r.csr) {
      heap.i32(rowPtr, n + 1).set(r.csr.rowPtr);
      heap.i32(col, nnz).set(r.csr.col);
    }
    const op: LinearOperator = {
      n,
      norm,
      apply: (x, y) => {
        heap.f64(xPtr, n).set(x);
        if (r.csr) k.csrMatvec64(n, rowPtr, col, tmp, xPtr, yPtr);
        else k.denseMatvec64(n, tmp, xPtr, yPtr);
        y.set(heap.f64(yPtr, n));
      },
    };
    let workspace: KrylovWorkspace | undefined;
    if (n > 64) {
      // Arnoldi's vectors in one Wasm block (SIMD dots/axpys); its views stay valid because
      // nothing allocates in Wasm while spectralRadius runs.
      const m = Math.min(KRYLOV_DIM, n - 1);
      const capacity = (m + 1 + 3 + Math.floor(m / 3) + 2) * n + 64;
      krylov = arena.blocks.alloc(capacity * 8 + 64 * 8);
      const out = krylov + capacity * 8;
      let used = 0;
      workspace = {
        array: (length) => {
          if (used + length > capacity) fail("E_STATE", "spectral radius: Krylov workspace exhausted");
          const a = heap.f64(krylov + used * 8, length);
          a.fill(0);
          used += Math.ceil(length / 8) * 8;
          return a;
        },
        dots: (V, count, len, w, res) => {
          for (let i0 = 0; i0 < count; i0 += 64) {
            const c = Math.min(64, count - i0);
            k.dotsF64(V.byteOffset + i0 * len * 8, c, len, w.byteOffset, out);
            res.set(heap.f64(out, c), i0);
          }
        },
        axpy: (len, alpha, x, xo, y, yo) => k.axpyF64(len, alpha, x.byteOffset + xo * 8, y.byteOffset + yo * 8),
      };
    }
    return { ...spectralRadius(op, { krylovDim: KRYLOV_DIM, workspace }), norm };
  } finally {
    if (krylov !== 0) arena.blocks.release(krylov);
    arena.blocks.release(tmp);
  }
}

/** The stored weights of every layer (ESN.getWeights). */
export function readWeights(arena: Arena, built: Built, es: number): { Win: Tensor; bias: Tensor; W: Tensor | SparseMatrix; Wfb?: Tensor }[] {
  const { heap, kernels: k } = arena.rt;
  const b = built;
  return b.layers.map((L, l) => {
    const kin = l === 0 ? b.I : b.layers[l - 1].n;
    let win: ArrayLike<number>;
    let bias: Float32Array;
    let W: Tensor | SparseMatrix;
    if (es === 8) {
      win = heap.f64(L.win, L.n * L.k);
      bias = Float32Array.from(heap.f64(L.bias, L.n));
      if (L.mode === "dense") W = { shape: [L.n, L.n], data: Float32Array.from(heap.f64(L.w, L.n * L.n)) };
      else W = { shape: [L.n, L.n], rowPtr: heap.i32(L.w, L.n + 1).slice(), colIdx: heap.i32(L.col, L.nnz).slice(), values: Float32Array.from(heap.f64(L.val, L.nnz)) };
    } else if (L.mode === "dense") {
      // [W W_in] packed together: split the columns.
      const kk = L.n + L.k;
      const u = unpackBT(heap.f32(L.w, k.packedSize(kk, L.n)), kk, L.n);
      bias = u.bias;
      const w = new Float32Array(L.n * L.n);
      const w2 = new Float32Array(L.n * L.k);
      for (let i = 0; i < L.n; i++) {
        w.set(u.m.subarray(i * kk, i * kk + L.n), i * L.n);
        w2.set(u.m.subarray(i * kk + L.n, (i + 1) * kk), i * L.k);
      }
      win = w2;
      W = { shape: [L.n, L.n], data: w };
    } else {
      const groups = Math.ceil(L.n / 4);
      const u = unpackBlocks(heap.i32(L.w, groups + 1), heap.i32(L.col, L.blocks), heap.f32(L.val, 4 * L.blocks), L.n, L.k, L.x, L.inp);
      win = u.win;
      bias = heap.f32(L.bias, L.n).slice();
      W = { shape: [L.n, L.n], ...u.W };
    }
    const Win = new Float32Array(L.n * kin);
    const Wfb = new Float32Array(L.n * b.fb);
    for (let i = 0; i < L.n; i++) {
      for (let c = 0; c < kin; c++) Win[i * kin + c] = win[i * L.k + c];
      for (let c = 0; c < b.fb; c++) Wfb[i * b.fb + c] = win[i * L.k + kin + c];
    }
    const out: { Win: Tensor; bias: Tensor; W: Tensor | SparseMatrix; Wfb?: Tensor } = { Win: { shape: [L.n, kin], data: Win }, bias: { shape: [L.n], data: bias }, W };
    if (l === 0 && b.fb > 0) out.Wfb = { shape: [L.n, b.fb], data: Wfb };
    return out;
  });
}

/**
 * The stored weights of every layer of a float64 model, exactly (readWeights rounds them to
 * float32): W_in [n·inDim], bias [n], W (dense [n·n], or CSR in its stored order), W_fb [n·fb].
 */
export function readWeights64(arena: Arena, built: Built): { Win: Float64Array; bias: Float64Array; W: Float64Array | Csr; Wfb?: Float64Array }[] {
  const { heap } = arena.rt;
  const b = built;
  return b.layers.map((L, l) => {
    const kin = l === 0 ? b.I : b.layers[l - 1].n;
    const win = heap.f64(L.win, L.n * L.k);
    const Win = new Float64Array(L.n * kin);
    const Wfb = new Float64Array(L.n * b.fb);
    for (let i = 0; i < L.n; i++) {
      Win.set(win.subarray(i * L.k, i * L.k + kin), i * kin);
      if (l === 0 && b.fb > 0) Wfb.set(win.subarray(i * L.k + kin, (i + 1) * L.k), i * b.fb);
    }
    const W = L.mode === "dense" ? heap.f64(L.w, L.n * L.n).slice() : { rowPtr: heap.i32(L.w, L.n + 1).slice(), col: heap.i32(L.col, L.nnz).slice(), val: heap.f64(L.val, L.nnz).slice() };
    return { Win, bias: heap.f64(L.bias, L.n).slice(), W, ...(l === 0 && b.fb > 0 ? { Wfb } : {}) };
  });
}
