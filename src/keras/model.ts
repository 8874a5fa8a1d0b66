// A Keras / TensorFlow.js Sequential model rebuilt from its config and weights: recurrent layers
// become recur LSTM / GRU / RNN models (batch first) with the weights converted exactly (Keras
// kernels are [in, G*units] with gates i, f, c, o for LSTM and z, r, h for GRU; PyTorch's are
// [G*units, in] with i, f, g, o and r, z, n), Embedding and Dense run in TypeScript. Masks
// (Embedding mask_zero, Masking) become per-sequence lengths, as Keras applies them to
// post-padded sequences.
import { fail } from "../errors.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { RNN } from "../models/rnn.js";
import type { Tensor } from "../tensor.js";
import { chainOf, unwrap, KIND, recurrentParts, recurrentModel } from "./layers.js";
import type { LayerConfig, WeightSource } from "./types.js";

export type { KerasWeight, LayerConfig, WeightSource } from "./types.js";

/** One layer of a loaded Keras model and what recur runs it with (`KerasModel.layers`). */
export interface KerasLayerInfo {
  /** The layer's name in the config. */
  name: string;
  /** Its Keras class, e.g. "Bidirectional". */
  className: string;
  /** What recur runs it with. */
  runs: string;
}

type Activation = (x: Float32Array, rows: number, cols: number) => void;

const ACTIVATIONS: Record<string, Activation> = {
  linear: () => {},
  relu: (x) => {
    for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0;
  },
  sigmoid: (x) => {
    for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
  },
  tanh: (x) => {
    for (let i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]);
  },
  softmax: (x, rows, cols) => {
    for (let r = 0; r < rows; r++) {
      let max = -Infinity;
      for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += x[r * cols + c] = Math.exp(x[r * cols + c] - max);
      for (let c = 0; c < cols; c++) x[r * cols + c] /= sum;
    }
  },
};

function activation(where: string, name: unknown): Activation {
  const key = typeof name === "string" ? name : name && typeof name === "object" ? String((name as { config?: { name?: string }; class_name?: string }).config?.name ?? (name as { class_name?: string }).class_name) : "linear";
  const fn = ACTIVATIONS[key.toLowerCase()];
  if (fn === undefined) fail("E_UNSUPPORTED", `${where}: activation "${key}" (supported: ${Object.keys(ACTIVATIONS).join(", ")})`);
  return fn;
}

/** A value flowing between layers: [B, T, F] (seq) or [B, F]; `lengths` when masked. */
interface Flow {
  data: Float32Array;
  B: number;
  T: number; // 0 for [B, F]
  F: number;
  lengths?: Int32Array;
}

interface Stage {
  info: KerasLayerInfo;
  run(x: Flow): Flow;
  dispose?(): void;
}

const MERGES = ["concat", "sum", "mul", "ave"];

/**
 * A Keras or TensorFlow.js Sequential model on recur's kernels (made by `loadKeras`): `predict`
 * gives the Keras model's output.
 */
export class KerasModel {
  /** Every layer that computes something, in order, with what recur runs it with. */
  readonly layers: KerasLayerInfo[] = [];
  private readonly stages: Stage[] = [];
  private readonly tokenInput: boolean;
  private disposed = false;

  // Keras 3 changed the hard sigmoid (layers.ts).
  private readonly keras3: boolean;

  /** @internal Use `loadKeras`. */
  constructor(
    topology: unknown,
    weights: WeightSource,
    /** What the model was read from, e.g. "tfjs layers model (TensorFlow.js tfjs-layers v4.22.0)". */
    readonly format: string,
  ) {
    const top = unwrap(topology);
    let rawLayers: unknown[];
    if (top.className === "Sequential") {
      rawLayers = (Array.isArray(top.config) ? top.config : top.config.layers) as unknown[];
      if (!Array.isArray(rawLayers)) fail("E_FORMAT", "loadKeras: malformed model config: Sequential has no layers list");
    } else if (top.className === "Model" || top.className === "Functional") rawLayers = chainOf(top.config);
    else fail("E_UNSUPPORTED", `loadKeras: a ${top.className || "model without class_name"} model (recur loads Sequential models and functional models that are one chain of layers)`);
    const layers = rawLayers.map(unwrap);
    this.keras3 = Number(/^Keras (\d+)/.exec(format)?.[1] ?? 0) >= 3;
    // Input size from the first layer's batch_input_shape / batch_shape / build_config.
    let features = 0;
    let tokens = false;
    const first = layers[0];
    const shapeOf = (l: LayerConfig, raw: unknown): number[] | undefined =>
      (l.config.batch_input_shape ?? l.config.batch_shape ?? (raw as { build_config?: { input_shape?: number[] } }).build_config?.input_shape) as number[] | undefined;
    const inShape = first ? shapeOf(first, rawLayers[0]) : undefined;
    const problems: string[] = [];
    try {
      for (const [i, layer] of layers.entries()) {
        const name = String(layer.config.name ?? `layer_${i}`);
        const where = `${layer.className} layer "${name}"`;
        try {
          const stage = this.stage(where, name, layer, features, weights, i === 0 ? inShape : undefined);
          if (stage === undefined) continue;
          if (i === 0 || (i === 1 && layers[0].className === "InputLayer")) tokens = stage.info.className === "Embedding";
          this.stages.push(stage);
          this.layers.push(stage.info);
          features = (stage as Stage & { outFeatures: number }).outFeatures;
        } catch (e) {
          if (e instanceof Error && "code" in e && (e as { code: string }).code === "E_UNSUPPORTED") {
            problems.push(e.message);
            features = -1; // sizes after an unsupported layer are unknown: later layers report only their options
            continue;
          }
          throw e;
        }
      }
      if (problems.length > 0) fail("E_UNSUPPORTED", `loadKeras: ${problems.length} layer(s) use what recur cannot run:\n  ${problems.join("\n  ")}`);
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.tokenInput = tokens;
  }

  // Returns undefined for layers that do nothing at inference.
  private stage(where: string, name: string, layer: LayerConfig, features: number, weights: WeightSource, inShape: number[] | undefined): (Stage & { outFeatures: number }) | undefined {
    const c = layer.config;
    const info = (runs: string): KerasLayerInfo => ({ name, className: layer.className, runs });
    if (inShape !== undefined && features === 0 && layer.className !== "Embedding") features = Number(inShape[inShape.length - 1]);
    switch (layer.className) {
      case "InputLayer":
        if (Array.isArray(c.batch_input_shape ?? c.batch_shape)) {
          const s = (c.batch_input_shape ?? c.batch_shape) as number[];
          const f = Number(s[s.length - 1]);
          return { info: info("input"), outFeatures: s.length === 2 ? 0 : f, run: (x) => x };
        }
        return undefined;
      case "Dropout":
      case "SpatialDropout1D":
      case "GaussianNoise":
      case "GaussianDropout":
        return { info: info("identity at inference"), outFeatures: features, run: (x) => x };
      case "Masking": {
        const value = Number(c.mask_value ?? 0);
        return {
          info: info("mask -> sequence lengths"),
          outFeatures: features,
          run: (x) => {
            const lengths = new Int32Array(x.B);
            const data = x.data.slice();
            for (let b = 0; b < x.B; b++) {
              let len = 0, ended = false;
              for (let t = 0; t < x.T; t++) {
                const row = (b * x.T + t) * x.F;
                let keep = false;
                for (let f = 0; f < x.F; f++) if (x.data[row + f] !== value) keep = true;
                if (keep) {
                  if (ended) fail("E_UNSUPPORTED", `${where}: sequence ${b} has a masked step before an unmasked one (recur's masks are lengths: pad at the end)`);
                  len++;
                } else {
                  ended = true;
                  data.fill(0, row, row + x.F);
                }
              }
              lengths[b] = len;
            }
            return { ...x, data, lengths };
          },
        };
      }
      case "Embedding": {
        const V = Number(c.input_dim), D = Number(c.output_dim);
        const [w] = weights(name);
        if (w === undefined || w.shape[0] !== V || w.shape[1] !== D) fail("E_KEY", `${where}: expected embeddings [${V}, ${D}]${w ? `, got [${w.shape.join(", ")}]` : ", the file has none"}`);
        const maskZero = c.mask_zero === true;
        return {
          info: info(maskZero ? "embedding (mask_zero -> sequence lengths)" : "embedding"),
          outFeatures: D,
          run: (x) => {
            const out = new Float32Array(x.B * x.T * D);
            const lengths = maskZero ? new Int32Array(x.B) : undefined;
            for (let b = 0; b < x.B; b++) {
              let ended = false;
              for (let t = 0; t < x.T; t++) {
                const id = x.data[b * x.T + t];
                if (!Number.isInteger(id) || id < 0 || id >= V) fail("E_VALUE", `${where}: token id ${id} at [${b}, ${t}] is outside 0..${V - 1}`);
                out.set(w.data.subarray(id * D, id * D + D), (b * x.T + t) * D);
                if (lengths) {
                  if (id === 0) ended = true;
                  else if (ended) fail("E_UNSUPPORTED", `${where}: sequence ${b} has a token after padding (recur's masks are lengths: pad at the end)`);
                  else lengths[b]++;
                }
              }
            }
            return { data: out, B: x.B, T: x.T, F: D, lengths };
          },
        };
      }
      case "Dense":
      case "TimeDistributed": {
        let dense = layer;
        if (layer.className === "TimeDistributed") {
          dense = unwrap(c.layer);
          if (dense.className !== "Dense") fail("E_UNSUPPORTED", `${where}: TimeDistributed(${dense.className}) (recur runs TimeDistributed(Dense))`);
        }
        const units = Number(dense.config.units);
        const act = activation(where, dense.config.activation);
        const ws = weights(name);
        const [k, b] = ws;
        if (k === undefined || k.shape.length !== 2 || k.shape[1] !== units || (features > 0 && k.shape[0] !== features)) {
          fail("E_KEY", `${where}: expected kernel [${features}, ${units}]${k ? `, got "${k.name}" [${k.shape.join(", ")}]` : ", the file has none"}`);
        }
        const useBias = dense.config.use_bias !== false;
        if (useBias && (b === undefined || b.data.length !== units)) fail("E_KEY", `${where}: expected bias [${units}]`);
        const inF = k.shape[0];
        return {
          info: info(`dense ${inF} -> ${units}, ${String(dense.config.activation ?? "linear")}`),
          outFeatures: units,
          run: (x) => {
            if (x.F !== inF) fail("E_SHAPE", `${where}: input has ${x.F} features, the kernel expects ${inF}`);
            const rows = x.data.length / inF;
            const out = new Float32Array(rows * units);
            for (let r = 0; r < rows; r++) {
              const o = r * units;
              if (useBias) out.set(b.data, o);
              for (let i = 0; i < inF; i++) {
                const v = x.data[r * inF + i];
                if (v === 0) continue;
                const kr = i * units;
                for (let u = 0; u < units; u++) out[o + u] += v * k.data[kr + u];
              }
            }
            act(out, rows, units);
            return { ...x, data: out, F: units };
          },
        };
      }
      case "Activation": {
        const act = activation(where, c.activation);
        return { info: info(`activation ${String(c.activation)}`), outFeatures: features, run: (x) => (act((x = { ...x, data: x.data.slice() }).data, x.data.length / x.F, x.F), x) };
      }
      case "SimpleRNN":
      case "LSTM":
      case "GRU":
      case "Bidirectional": {
        let inner = layer;
        let merge = "concat";
        const bidirectional = layer.className === "Bidirectional";
        if (bidirectional) {
          inner = unwrap(c.layer);
          merge = String(c.merge_mode ?? "concat");
          const problems: string[] = [];
          if (!(inner.className in KIND)) problems.push(`wraps ${inner.className}`);
          if (!MERGES.includes(merge)) problems.push(`merge_mode=${String(c.merge_mode)} (supported: ${MERGES.join(", ")})`);
          if (c.backward_layer !== undefined && c.backward_layer !== null) {
            const back = unwrap(c.backward_layer);
            if (back.className !== inner.className || back.config.units !== inner.config.units) problems.push("a backward layer unlike the forward one");
          }
          if (problems.length > 0) fail("E_UNSUPPORTED", `${where}: ${problems.join("; ")}`);
        }
        const p = recurrentParts(where, inner, this.keras3);
        if (features <= 0) fail("E_UNSUPPORTED", `${where}: input size unknown`);
        const ws = weights(name);
        const perDirection = bidirectional ? ws.length / 2 : ws.length;
        const dirs = bidirectional ? [ws.slice(0, perDirection), ws.slice(perDirection)] : [ws];
        const model = recurrentModel(where, p, features, dirs);
        const U = p.units;
        const outF = bidirectional && merge === "concat" ? 2 * U : U;
        const fns = p.activations.map((f) => (typeof f === "string" ? f : `${f.name}${f.name === "hardSigmoid" ? ` ${+f.alpha!.toFixed(4)}x+${f.beta}` : ""}`)).join(", ");
        const kindName = `${p.kind === "GRU" ? `GRU (${(model.config as { resetAfter: boolean }).resetAfter ? "reset after" : "reset before"})` : p.kind} [${fns}]`;
        return {
          info: info(`recur ${kindName}${bidirectional ? `, bidirectional, merge ${merge}` : ""}: fused Wasm kernel`),
          outFeatures: outF,
          dispose: () => model.dispose(),
          run: (x) => {
            if (x.T === 0) fail("E_SHAPE", `${where}: needs a sequence input [batch, steps, features]`);
            const lengths = x.lengths;
            if (lengths) for (let b = 0; b < x.B; b++) if (lengths[b] < 1) fail("E_VALUE", `${where}: sequence ${b} is masked entirely (recur needs at least one step)`);
            const r = model.forward({ shape: [x.B, x.T, x.F], data: x.data }, { lengths });
            const D = bidirectional ? 2 : 1;
            if (!p.returnSequences) {
              // Last output: hN [D, B, U] -> [B, D*U], merged.
              const out = new Float32Array(x.B * outF);
              for (let b = 0; b < x.B; b++) {
                const f = r.hN.data.subarray(b * U, (b + 1) * U);
                const bw = D === 2 ? r.hN.data.subarray((x.B + b) * U, (x.B + b + 1) * U) : f;
                mergeInto(out, b * outF, f, bw, merge, D, U);
              }
              return { data: out, B: x.B, T: 0, F: outF };
            }
            const y = r.output.data; // [B, T, D*U]
            const out = new Float32Array(x.B * x.T * outF);
            for (let b = 0; b < x.B; b++) {
              const len = lengths ? lengths[b] : x.T;
              for (let t = 0; t < x.T; t++) {
                // Keras repeats the last valid output of the forward direction at masked steps;
                // the backward direction's are zeros.
                const src = (b * x.T + Math.min(t, len - 1)) * D * U;
                const f = y.subarray(src, src + U);
                const bwAt = (b * x.T + t) * D * U + U;
                const bw = D === 2 ? (t < len ? y.subarray(bwAt, bwAt + U) : new Float32Array(U)) : f;
                mergeInto(out, (b * x.T + t) * outF, f, bw, merge, D, U);
              }
            }
            return { data: out, B: x.B, T: x.T, F: outF, lengths: p.returnSequences ? lengths : undefined };
          },
        };
      }
      default:
        fail("E_UNSUPPORTED", `${where}: recur does not run ${layer.className} layers`);
    }
  }

  /**
   * The Keras model's output for a batch-first input: features [B, T, F] (or [T, F] for one
   * sequence), or token ids [B, T] when the first layer is an Embedding. Returns [B, T, out] for
   * a sequence output, [B, out] otherwise.
   */
  predict(x: Tensor | { shape: number[]; data: ArrayLike<number> }): Tensor {
    if (this.disposed) fail("E_STATE", "KerasModel.predict: the model was disposed");
    if (typeof x !== "object" || x === null || !Array.isArray(x.shape)) fail("E_TYPE", "KerasModel.predict: x must be a tensor { shape, data }");
    let flow: Flow;
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (x.data.length !== n) fail("E_SHAPE", `KerasModel.predict: x has ${x.data.length} values, shape [${x.shape.join(", ")}] needs ${n}`);
    if (this.tokenInput) {
      if (x.shape.length !== 2) fail("E_SHAPE", `KerasModel.predict: token ids must be [batch, steps], got [${x.shape.join(", ")}]`);
      flow = { data: Float32Array.from(x.data), B: x.shape[0], T: x.shape[1], F: 1 };
    } else {
      if (!(x.data instanceof Float32Array)) fail("E_TYPE", "KerasModel.predict: x.data must be a Float32Array");
      if (x.shape.length === 3) flow = { data: x.data, B: x.shape[0], T: x.shape[1], F: x.shape[2] };
      else if (x.shape.length === 2) flow = { data: x.data, B: 1, T: x.shape[0], F: x.shape[1] };
      else fail("E_SHAPE", `KerasModel.predict: x must be [batch, steps, features], got [${x.shape.join(", ")}]`);
    }
    for (const s of this.stages) flow = s.run(flow);
    return { shape: flow.T > 0 ? [flow.B, flow.T, flow.F] : [flow.B, flow.F], data: flow.data };
  }

  /** Returns the Wasm memory of the recurrent layers. Using the model afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.stages) s.dispose?.();
  }
}

function mergeInto(out: Float32Array, at: number, f: Float32Array, bw: Float32Array, merge: string, D: number, U: number): void {
  if (D === 1) {
    out.set(f, at);
    return;
  }
  switch (merge) {
    case "concat":
      out.set(f, at);
      out.set(bw, at + U);
      return;
    case "sum":
      for (let u = 0; u < U; u++) out[at + u] = f[u] + bw[u];
      return;
    case "mul":
      for (let u = 0; u < U; u++) out[at + u] = f[u] * bw[u];
      return;
    default:
      for (let u = 0; u < U; u++) out[at + u] = (f[u] + bw[u]) / 2;
  }
}
