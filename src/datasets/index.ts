/**
 * Benchmark time series for reservoir computing / echo state networks: Mackey-Glass, NARMA10,
 * Lorenz-63 and the frequency-to-sine generator task, plus `toTensor`, `rmse` and `nrmse`.
 *
 * Pure TypeScript with no Node APIs, so it runs unchanged in browsers. Series are computed and
 * returned in float64 (`Float64Array`); `toTensor` converts them to the float32 `Tensor` the
 * networks consume.
 *
 * Cross-platform determinism: Mackey-Glass (integer `n`), NARMA10 and Lorenz use only IEEE-754
 * basic operations (+ − × ÷ and a correctly rounded integer power computed in double-double), so
 * they are bit-identical on every engine. `Math.pow` is not used for integer exponents because
 * ECMAScript lets engines approximate it, and Mackey-Glass is chaotic: a one-ulp difference
 * grows to O(1) within a few thousand time units. Random inputs come from `createRng`
 * (./random.js), which is bit-identical everywhere. Exceptions: Mackey-Glass with a non-integer
 * `n` (uses `Math.pow`) and `frequencyToSine`'s target (uses `Math.sin`) may differ in the last
 * bit between engines.
 *
 * Sampling convention shared by `mackeyGlass` and `lorenz`: the integrator advances in steps of
 * `dt`; every `subsample`-th state is a sample (sample i is the state at time i·subsample·dt,
 * sample 0 being the initial condition); the first `discard` samples are dropped and the next
 * `length` returned. So element j of the result is the state at time (discard + j)·subsample·dt.
 *
 * Every option is validated; a bad value throws RecurError "E_VALUE" naming the function, the
 * option and the value. Unknown option names are rejected the same way (catches typos).
 */
export { mackeyGlass, type MackeyGlassMethod, type MackeyGlassOptions } from "./mackey-glass.js";
export { narma10, narma10FromInput, type Narma10Options, type Narma10Series, type Narma10FromInputOptions } from "./narma.js";
export { lorenz, type LorenzOptions } from "./lorenz.js";
export { frequencyToSine, type FrequencyToSineOptions, type FrequencyToSineSeries } from "./sine.js";
export { toTensor, column, rmse, nrmse, type SeriesLike } from "./series.js";
export { powInt } from "./power.js";
