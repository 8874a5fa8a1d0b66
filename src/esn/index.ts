/** recur-nn/esn: echo state networks (leaky reservoirs, ridge, online and feedback readouts). */
export { ESN } from "./esn.js";
export type { ESNActivation, ESNOptions, FitOptions, GenerateOptions, LayerInfo, OnlineFitOptions, PredictOptions, ReservoirOptions, ReservoirWeights, SolveOptions, SparseMatrix } from "./types.js";
