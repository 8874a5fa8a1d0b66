/** Public option and result types of the echo state network (src/esn/esn.ts). */
import type { Tensor } from "../tensor.js";

/** The reservoir's activation function. */
export type ESNActivation = "tanh" | "sigmoid" | "relu" | "identity";

/** Options of one reservoir layer. In `ESNOptions` they are the defaults of every layer. */
export interface ReservoirOptions {
  /** Number of units (neurons). Required. */
  units: number;
  /** Leak rate a of x(t) = (1 − a)·x(t−1) + a·f(...), in (0, 1]. Default 1 (no leak). */
  leakRate?: number;
  /**
   * Spectral radius (largest |eigenvalue|) W is rescaled to, measured by implicitly restarted
   * Arnoldi in float64 (src/spectral.ts). Default 0.9. Applied to a random W always, to an
   * explicit W only when this option is given explicitly (explicit weights are otherwise used
   * as given). 0 means no recurrence (W = 0).
   */
  spectralRadius?: number;
  /**
   * W_in entries are drawn uniformly from [−s, s]: one `s` for all input channels or one per
   * channel. Default 1.
   */
  inputScaling?: number | number[];
  /** Bias entries are drawn uniformly from [−biasScaling, biasScaling]. Default 1; 0 = no bias. */
  biasScaling?: number;
  /**
   * Fraction of nonzero entries of W, in [0, 1]: every row gets max(1, round(connectivity·units))
   * nonzeros at distinct random columns, drawn uniformly from [−1, 1] before rescaling. Default 0.1.
   */
  connectivity?: number;
  /** Probability that an entry of W_in is nonzero, in [0, 1]. Default 0.1 (ReservoirPy's). */
  inputConnectivity?: number;
  /** f in the state equation. Default "tanh". */
  activation?: ESNActivation;
  /**
   * Storage of W: true = sparse, false = dense SIMD product, "auto" (default) = sparse when
   * fewer than half of W's 4-row blocks (rows 4i..4i+3 of one column) hold a nonzero: about 15 %
   * connectivity. A sparse float32 layer multiplies [W W_in] by those blocks, one f32x4 each (a
   * driven step at 10 % connectivity took 0.7x the dense step's time with 100 units, 0.45x with
   * 500, 0.6x with 1000: bench/esn.js); a float64 one is stored as CSR.
   */
  sparse?: boolean | "auto";
  /**
   * Output feedback W_fb y(t−1) into the first layer: W_fb entries are drawn from
   * [−feedbackScaling, feedbackScaling]. Default 0 (no feedback). Fitting teacher-forces y(t−1).
   */
  feedbackScaling?: number;
  /** Probability that an entry of W_fb is nonzero. Default 1. */
  feedbackConnectivity?: number;
  /**
   * Standard deviation of Gaussian state noise added to f(...) (ReservoirPy's noise_rc), a
   * regulariser that stabilises closed-loop generation. Default 0. See `ESNOptions.noiseWhen`.
   */
  noise?: number;
}

/** A CSR matrix: row i holds values[rowPtr[i] .. rowPtr[i+1]) at columns colIdx[...]. */
export interface SparseMatrix {
  /** [rows, columns]. */
  shape: [number, number];
  /** rows + 1 offsets into colIdx and values. */
  rowPtr: Int32Array;
  /** Column of each stored value. */
  colIdx: Int32Array;
  /** The nonzero values, row by row. */
  values: Float32Array;
}

/**
 * Explicit weights of one layer, used as given (no rescaling unless `spectralRadius` is passed
 * explicitly). Any piece left out is drawn at random. Shapes: W_in [units, inDim] where inDim is
 * the input size (first layer) or the previous layer's units; bias [units]; W [units, units];
 * W_fb [units, outDim] (first layer only).
 */
export interface ReservoirWeights {
  /** Input weights, [units, inDim]. */
  Win?: Tensor;
  /** Bias of every unit, [units]. */
  bias?: Tensor;
  /** Recurrent weights, [units, units], dense or CSR. */
  W?: Tensor | SparseMatrix;
  /** Output feedback weights, [units, outDim] (first layer only). */
  Wfb?: Tensor;
}

/** Options of `ESN`: the reservoir's (defaults of every layer) and the network's. */
export interface ESNOptions extends Partial<ReservoirOptions> {
  /**
   * Stacked (deep) reservoirs: one entry per layer, each overriding the top-level reservoir
   * options. Layer l > 0 is driven by layer l − 1's state; the readout reads every layer.
   * Default: one layer with the top-level options.
   */
  layers?: Partial<ReservoirOptions>[];
  /** Ridge (Tikhonov) coefficient of the readout; every entry of W_out, the bias included, is regularised. Default 1e-8. */
  ridge?: number;
  /** Readout on [1; u; x] (true) or [1; x] (false, default, as ReservoirPy's ESN). */
  readoutInput?: boolean;
  /** Seed of every random draw (weights, state noise). Default 0. Same seed, same network. */
  seed?: number;
  /** Input channels; default: taken from the first data seen (or from `weights`). */
  inputDim?: number;
  /** Output channels; default: taken from the first targets (required up front with feedback, unless `weights.Wfb` gives it). */
  outputDim?: number;
  /** Explicit weights for the first layer, or one entry per layer. */
  weights?: ReservoirWeights | ReservoirWeights[];
  /** When state noise applies: "fit" (default: teacher-forced training runs only) or "always". */
  noiseWhen?: "fit" | "always";
  /**
   * Arithmetic of the reservoir: "float32" (default; SIMD, half the memory) or "float64" (states,
   * weights and feedback in float64, scalar: several times slower). The readout, its Gram matrix
   * and the solve are float64 in both. Choose float64 when a closed-loop run must follow a
   * float64 reference closely: chaotic free runs with a weakly regularised readout amplify float32
   * rounding (see test/esn.exact.test.ts). Inputs, targets and results stay float32 tensors.
   */
  precision?: "float32" | "float64";
  /**
   * How the ridge readout is solved. "primal": (ZᵀZ + ridge·I) W_outᵀ = ZᵀY with the F x F
   * Gram matrix ZᵀZ (F = featureDim) streamed while the reservoir runs: memory O(F²) however long
   * the data. "dual": W_outᵀ = Zᵀ(ZZᵀ + ridge·I)⁻¹Y, the same solution (push-through identity;
   * every feature, the bias included, carries the same ridge) from the R x R matrix ZZᵀ of the R
   * training rows, which are kept (in the model's precision) until the next fit: memory
   * O(R·F + R²), for wide reservoirs trained on few steps (10,000 units at 1,000 steps: ~45 MB
   * where the primal Gram alone would take 800 MB). "auto" (default): "dual" when a `fit`
   * (or the `partialFit` that starts the statistics) brings fewer training rows (after washout)
   * than features, else "primal"; later `partialFit` calls keep the form. With ridge 0 the dual form gives the minimum-norm
   * solution where the primal one reports a singular system.
   */
  ridgeSolver?: "auto" | "primal" | "dual";
}

/** Options of `ESN.fit` and `ESN.partialFit`. */
export interface FitOptions {
  /** Initial steps of each sequence run but left out of the regression (transient). Default 0. */
  washout?: number;
  /** Reset the state to zero before each sequence (default false: continue from the current state). */
  reset?: boolean;
  /** Overrides the model's ridge for this solve. */
  ridge?: number;
}

/** Options of `ESN.solveReadout`. */
export interface SolveOptions {
  /** Overrides the model's ridge for this solve. */
  ridge?: number;
}

/** Options of `ESN.fitOnline` (recursive least squares). */
export interface OnlineFitOptions {
  /** Initial steps run without learning. Default 0. */
  washout?: number;
  /** Reset the state to zero first (default false). */
  reset?: boolean;
  /** P(0) = I / alpha: small alpha = fast initial learning (ReservoirPy's RLS/FORCE `alpha`). Default 1e-6. */
  alpha?: number;
  /** Forgetting factor λ in (0, 1]: past errors weigh λ^age. Default 1 (plain RLS). */
  forgetting?: number;
  /**
   * What the output feedback sees while learning: "teacher" (default; teacher forcing) or
   * "output" (the readout's own output: FORCE learning, Sussillo & Abbott 2009).
   */
  feedbackFrom?: "teacher" | "output";
  /** Start from W_out = 0 and P = I/alpha even if a readout exists. Default false. */
  restart?: boolean;
}

/** Options of `ESN.predict`. */
export interface PredictOptions {
  /** Teacher outputs for the feedback (teacher forcing) instead of the model's own outputs, [T, outDim]. */
  teacher?: Tensor;
  /** Reset the state to zero first (default false: continue from the current state). */
  reset?: boolean;
}

/** Options of `ESN.generate`. */
export interface GenerateOptions {
  /**
   * Series to drive the model with before running closed-loop: [Tw, inDim] (or [Tw, outDim]
   * for a model without inputs). Its last step's prediction is the first generated value.
   */
  warmup?: Tensor;
  /** Reset the state to zero first (default false). */
  reset?: boolean;
}

/** What was built for one layer. */
export interface LayerInfo {
  /** Units of the layer. */
  units: number;
  /** Inputs the layer reads (the network's inputs, or the previous layer's units). */
  inputDim: number;
  /** "sparse": float32 models keep W in 4-row blocks, float64 models in CSR (see ReservoirOptions.sparse). */
  storage: "dense" | "sparse";
  /** Nonzeros of W. */
  nnz: number;
  /** Spectral radius of the stored (float32) W, measured before scaling times the scale. */
  spectralRadius: number;
  /** Details of the eigenvalue computation (undefined if W was used as given). */
  eigen?: {
    /** Residual norm of the dominant eigenpair. */
    residual: number;
    /** Whether the iteration reached its tolerance. */
    converged: boolean;
    /** Matrix-vector products it took. */
    products: number;
  };
}
