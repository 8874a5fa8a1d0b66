export { ESN } from "./esn.js";
export type { ESNActivation, ESNOptions, FitOptions, GenerateOptions, LayerInfo, OnlineFitOptions, PredictOptions, ReservoirOptions, ReservoirWeights, SolveOptions, SparseMatrix } from "./types.js";
