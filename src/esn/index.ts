/** recur-nn/esn: echo state networks (leaky reservoirs, ridge, online and feedback readouts). */
export { ESN } from "./esn.js";
export type { ESNActivation, ESNOptions, FitOptions, GenerateOptions, LayerInfo, OnlineFitOptions, PredictOptions, ReservoirOptions, ReservoirWeights, SolveOptions, SparseMatrix } from "./types.js";
export { esnSearch, SEARCH_PARAMETERS, type SearchParameter, type SearchRange, type SearchSpace, type SearchData, type EsnSearchOptions, type SearchTrial, type SearchResult, type ResolvedRange } from "./search.js";
export { esnTask, ESN_TASKS, type EsnTask, type EsnTaskName } from "./tasks.js";
export { echoStateInit, type EchoStateInitOptions } from "./echo-state-init.js";
