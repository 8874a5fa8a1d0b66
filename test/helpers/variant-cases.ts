// Recurrent configurations PyTorch fixtures do not cover (peepholes, the reset-before GRU,
// bidirectional with lengths, projection with lengths, batch-first, sizes that are not multiples
// of 8), each with a recur model and the matching float64 reference config.
import { GRU, LSTM, RNN, type RecurrentModel } from "../../src/index.js";
import type { RefConfig } from "../reference/rnn64.js";

export interface Case {
  name: string;
  make: () => RecurrentModel;
  ref: RefConfig;
  T: number;
  B: number;
  lengths?: number[];
}

const common = { numLayers: 2, bias: true, batchFirst: false, bidirectional: true };
export const variantCases: Case[] = [
  {
    name: "LSTM peepholes, bidirectional, 2 layers, lengths",
    make: () => new LSTM({ inputSize: 5, hiddenSize: 11, ...common, peepholes: true, seed: 3 }),
    ref: { mode: "LSTM", inputSize: 5, hiddenSize: 11, projSize: 0, peepholes: true, ...common },
    T: 9, B: 3, lengths: [9, 4, 1],
  },
  {
    name: "LSTM peepholes + projection, batch-first, lengths",
    make: () => new LSTM({ inputSize: 7, hiddenSize: 13, projSize: 5, ...common, batchFirst: true, peepholes: true, seed: 4 }),
    ref: { mode: "LSTM", inputSize: 7, hiddenSize: 13, projSize: 5, peepholes: true, ...common, batchFirst: true },
    T: 6, B: 5, lengths: [2, 6, 3, 6, 1],
  },
  {
    name: "GRU reset-before, bidirectional, 2 layers, lengths",
    make: () => new GRU({ inputSize: 4, hiddenSize: 9, ...common, resetAfter: false, seed: 5 }),
    ref: { mode: "GRU", inputSize: 4, hiddenSize: 9, projSize: 0, resetAfter: false, ...common },
    T: 8, B: 4, lengths: [3, 8, 8, 5],
  },
  {
    name: "GRU reset-before, no bias, batch 1",
    make: () => new GRU({ inputSize: 3, hiddenSize: 17, resetAfter: false, bias: false, seed: 6 }),
    ref: { mode: "GRU", inputSize: 3, hiddenSize: 17, projSize: 0, resetAfter: false, numLayers: 1, bias: false, batchFirst: false, bidirectional: false },
    T: 12, B: 1,
  },
  {
    name: "GRU bidirectional with lengths",
    make: () => new GRU({ inputSize: 6, hiddenSize: 10, ...common, seed: 7 }),
    ref: { mode: "GRU", inputSize: 6, hiddenSize: 10, projSize: 0, ...common },
    T: 7, B: 3, lengths: [7, 2, 5],
  },
  {
    name: "RNN relu, bidirectional, lengths",
    make: () => new RNN({ inputSize: 5, hiddenSize: 12, nonlinearity: "relu", ...common, seed: 8 }),
    ref: { mode: "RNN_RELU", inputSize: 5, hiddenSize: 12, projSize: 0, ...common },
    T: 5, B: 2, lengths: [3, 5],
  },
  {
    name: "LSTM hidden 40, batch 9 (GEMM tile rows and leftovers)",
    make: () => new LSTM({ inputSize: 33, hiddenSize: 40, seed: 9 }),
    ref: { mode: "LSTM", inputSize: 33, hiddenSize: 40, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false },
    T: 10, B: 9,
  },
];
