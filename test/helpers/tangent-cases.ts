// Tiny models of every cell kind forward mode supports, each with a float64 reference forward
// (test/reference/rnn64.ts, mrnn64.ts) taking parameters by state-dict name: the tangent and
// Gauss-Newton tests differentiate the reference numerically.
import { GRU, LSTM, MRNN, RNN, type RecurrentModel, type Tensor } from "../../src/index.js";
import { runtime } from "../../src/runtime.js";
import { forward64, paramShapes, type RefConfig } from "../reference/rnn64.js";
import { mrnnForward64, type Mrnn64Config } from "../reference/mrnn64.js";

export type Ref = (p: Record<string, Float64Array>, x: Float64Array, h0: Float64Array, c0?: Float64Array) => { output: Float64Array; hN: Float64Array };

export interface TangentCase {
  name: string;
  make: () => RecurrentModel;
  ref: Ref;
  T: number;
  B: number;
  lengths?: number[];
}

export function torchRef(cfg: RefConfig, T: number, B: number, lengths?: number[]): Ref {
  const shapes = paramShapes(cfg);
  return (p, x, h0, c0) => {
    const sd = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, { shape: shapes[k], data: v }]));
    const r = forward64(cfg, sd, { shape: [T, B, cfg.inputSize], data: x }, h0, c0 ?? null, lengths ?? null);
    return { output: r.output, hN: r.hN };
  };
}

export function mrnnRef(cfg: Mrnn64Config, T: number, B: number, lengths?: number[]): Ref {
  return (p, x, h0) => mrnnForward64(cfg, p, x, T, B, h0, lengths);
}

const base = { numLayers: 2, bias: true, batchFirst: false, projSize: 0 };
export const tangentCases: TangentCase[] = [
  {
    name: "RNN tanh, bidirectional, 2 layers, lengths",
    make: () => new RNN({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, seed: 1 }),
    ref: torchRef({ mode: "RNN_TANH", inputSize: 3, hiddenSize: 5, ...base, bidirectional: true }, 4, 2, [4, 2]),
    T: 4, B: 2, lengths: [4, 2],
  },
  {
    name: "RNN relu",
    make: () => new RNN({ inputSize: 4, hiddenSize: 6, nonlinearity: "relu", seed: 2 }),
    ref: torchRef({ mode: "RNN_RELU", inputSize: 4, hiddenSize: 6, ...base, numLayers: 1, bidirectional: false }, 3, 2),
    T: 3, B: 2,
  },
  {
    name: "LSTM, 2 layers, lengths",
    make: () => new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, seed: 3 }),
    ref: torchRef({ mode: "LSTM", inputSize: 3, hiddenSize: 5, ...base, bidirectional: false }, 5, 3, [5, 3, 1]),
    T: 5, B: 3, lengths: [5, 3, 1],
  },
  {
    name: "GRU, bidirectional",
    make: () => new GRU({ inputSize: 2, hiddenSize: 9, bidirectional: true, seed: 4 }),
    ref: torchRef({ mode: "GRU", inputSize: 2, hiddenSize: 9, ...base, numLayers: 1, bidirectional: true }, 4, 2),
    T: 4, B: 2,
  },
  {
    name: "LSTM with peepholes, bidirectional, lengths",
    make: () => new LSTM({ inputSize: 3, hiddenSize: 5, bidirectional: true, peepholes: true, seed: 6 }),
    ref: torchRef({ mode: "LSTM", inputSize: 3, hiddenSize: 5, ...base, numLayers: 1, bidirectional: true, peepholes: true }, 4, 3, [4, 2, 3]),
    T: 4, B: 3, lengths: [4, 2, 3],
  },
  {
    name: "LSTM with a projection, 2 layers, lengths",
    make: () => new LSTM({ inputSize: 3, hiddenSize: 6, projSize: 4, numLayers: 2, seed: 7 }),
    ref: torchRef({ mode: "LSTM", inputSize: 3, hiddenSize: 6, ...base, projSize: 4, bidirectional: false }, 4, 2, [4, 3]),
    T: 4, B: 2, lengths: [4, 3],
  },
  {
    name: "LSTM with peepholes and a projection, bidirectional",
    make: () => new LSTM({ inputSize: 2, hiddenSize: 9, projSize: 3, bidirectional: true, peepholes: true, seed: 8 }),
    ref: torchRef({ mode: "LSTM", inputSize: 2, hiddenSize: 9, ...base, numLayers: 1, projSize: 3, bidirectional: true, peepholes: true }, 3, 2),
    T: 3, B: 2,
  },
  {
    name: "GRU reset before, 2 layers, bidirectional, lengths",
    make: () => new GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, resetAfter: false, seed: 9 }),
    ref: torchRef({ mode: "GRU", inputSize: 3, hiddenSize: 5, ...base, bidirectional: true, resetAfter: false }, 4, 3, [4, 1, 3]),
    T: 4, B: 3, lengths: [4, 1, 3],
  },
  {
    name: "MRNN, 2 layers, lengths",
    make: () => new MRNN({ inputSize: 3, hiddenSize: 6, factorSize: 10, numLayers: 2, seed: 5 }),
    ref: mrnnRef({ inputSize: 3, hiddenSize: 6, factorSize: 10, numLayers: 2, bidirectional: false, bias: true }, 4, 2, [4, 3]),
    T: 4, B: 2, lengths: [4, 3],
  },
];

/** The model's parameters as float64 arrays by name, and a flat direction in their layout from per-name values. */
export function params64(model: RecurrentModel): Record<string, Float64Array> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Float64Array.from(v.data)]));
}

/** Writes per-name values into the model's parameter layout (through a scratch model of the same kind). */
export function flatten(make: () => RecurrentModel, values: Record<string, Float64Array>): Float32Array {
  const scratch = make();
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(scratch.stateDict())) sd[k] = { shape: v.shape, data: Float32Array.from(values[k]) };
  scratch.loadStateDict(sd);
  const region = scratch.parameterRegions()[0];
  const flat = runtime().heap.f32(region.params, region.floats).slice();
  scratch.dispose();
  return flat;
}
