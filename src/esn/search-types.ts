/** The options, ranges and results of esnSearch (search.ts). */
import type { Tensor } from "../tensor.js";
import type { ESNOptions } from "./types.js";

/** The hyperparameters a search can vary. */
export type SearchParameter = "spectralRadius" | "leakRate" | "inputScaling" | "connectivity" | "ridge";

/** Every parameter a search can vary, in the order random draws take them. */
export const SEARCH_PARAMETERS: readonly SearchParameter[] = ["spectralRadius", "leakRate", "inputScaling", "connectivity", "ridge"];

/**
 * How one hyperparameter varies: a fixed number; `[min, max]` on the parameter's default scale
 * (log for all but connectivity); `{ min, max, scale }`; or `{ values }` to choose from. In a
 * grid search a range contributes `gridPoints` values, evenly spaced on its scale, ends included.
 */
export type SearchRange =
  | number
  | readonly [number, number]
  | {
      /** Lower end. */
      min: number;
      /** Upper end (>= min). */
      max: number;
      /** Draws uniform in log(value) ("log") or in value ("linear"). Default: the parameter's. */
      scale?: "log" | "linear";
    }
  | {
      /** The values to choose from (random search: uniformly; grid search: each). */
      values: readonly number[];
    };

/** The parameters to vary; the others keep the reservoir's value. */
export type SearchSpace = Partial<Record<SearchParameter, SearchRange>>;

/** Training data of a search: every step of it is the training span. */
export interface SearchData {
  /** [T, inDim] */
  inputs: Tensor;
  /** [T, outDim] */
  targets: Tensor;
  /** Steps at the start left out of the regression. Default 0. */
  washout?: number;
}

/** Options of `esnSearch`. */
export interface EsnSearchOptions {
  /** "random" (default) or "grid" (every combination). */
  method?: "random" | "grid";
  /** Random search: the number of trials. Default 50. */
  trials?: number;
  /** Grid search: values per ranged parameter. Default 5. */
  gridPoints?: number;
  /** Cross-validation folds (forward chaining over folds + 1 blocks). Default 3. */
  folds?: number;
  /** Reservoirs per trial, seeds seed, seed + 1, ...: the trial's loss is their mean. Default 1. */
  instances?: number;
  /** Seed of the parameter draws and of the reservoirs. Default 0. */
  seed?: number;
  /**
   * The options every reservoir shares (units, bias scaling, readoutInput, feedback, ...); a
   * searched parameter overrides its entry. Default: a named task's reservoir, else { units: 100 }.
   */
  reservoir?: ESNOptions;
  /** Trials built and run together. Default 2 x the runtime's threads. */
  batch?: number;
  /** After each trial; return false to stop the search there. */
  onTrial?: (trial: SearchTrial, done: number, total: number) => void | boolean;
  /** Stops the search between batches. */
  signal?: AbortSignal;
}

/** One trial of a search. */
export interface SearchTrial {
  /** Its place in the search, from 0. */
  index: number;
  /** The hyperparameters it tried (fixed ones included). */
  params: Record<SearchParameter, number>;
  /** Mean validation NRMSE over folds (and instances); Infinity when the trial failed. */
  loss: number;
  /** Validation NRMSE of each fold (mean over instances). */
  foldLosses: number[];
  /** "diverged": a state became non-finite; "singular": a ridge system was not positive definite; "invalid": the reservoir could not be built. */
  status: "ok" | "diverged" | "singular" | "invalid";
  /** Why the trial failed. */
  reason?: string;
}

/** One parameter's variation as resolved: fixed, a range, or a list. */
export interface ResolvedRange {
  /** "fixed": one value; "range": drawn from [min, max]; "values": chosen from `values`. */
  kind: "fixed" | "range" | "values";
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
  /** How values are spread (and how a plot should draw the axis). */
  scale: "log" | "linear";
  /** The list, for kind "values". */
  values?: number[];
}

/** What `esnSearch` returns. */
export interface SearchResult {
  /** Every trial run, in order. */
  trials: SearchTrial[];
  /** The trial with the lowest loss (the first of equals). */
  best: SearchTrial;
  /** Options for `new ESN(...)` with the best trial's parameters (seed: the search's). */
  bestOptions: ESNOptions;
  /** How each parameter varied. */
  space: Record<SearchParameter, ResolvedRange>;
  /** The search method used. */
  method: "random" | "grid";
  /** Cross-validation folds. */
  folds: number;
  /** Trials the search was to run (stopped early when `trials.length` is smaller). */
  total: number;
  /** Why the search stopped early (the signal, or onTrial returning false). */
  stopped?: "aborted" | "callback";
}
