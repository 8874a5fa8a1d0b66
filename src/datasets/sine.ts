/** The frequency-to-sine generator task. */
import { fail } from "../errors.js";
import { createRng } from "../random.js";
import { integer, number, optionsObject } from "../validate.js";
import { seedOption } from "./common.js";

/** Options of `frequencyToSine`. */
export interface FrequencyToSineOptions {
  /** Number of samples. */
  length: number;
  /** Seed of the frequency schedule (`createRng`). */
  seed: number;
  /** Lowest frequency, in cycles per sample. Default 0.05 (period 20 samples). */
  minFreq?: number;
  /** Highest frequency, in cycles per sample, <= 0.5 (Nyquist). Default 0.2 (period 5 samples). */
  maxFreq?: number;
  /** Shortest time (samples) a frequency is held. Default 100. */
  holdMin?: number;
  /** Longest time (samples) a frequency is held. Default 300. */
  holdMax?: number;
}

/** What `frequencyToSine` returns. */
export interface FrequencyToSineSeries {
  /** Piecewise-constant input frequency f[t] (cycles per sample). */
  input: Float64Array;
  /** Target sin(2π·φ[t]). */
  target: Float64Array;
  /** Accumulated phase φ[t] in cycles, wrapped to [0, 1). */
  phase: Float64Array;
}

/**
 * The frequency-generator task (Jaeger's "tunable sine generator"): the input is a
 * piecewise-constant frequency and the target a sine whose instantaneous frequency follows it.
 *
 * The schedule is drawn from `createRng(seed)`: each segment draws a frequency uniformly in
 * [minFreq, maxFreq) (`rng.uniform`) and then a hold duration uniformly among the integers
 * holdMin … holdMax (`rng.int`); the last segment is cut at `length`. The phase is accumulated,
 * φ[0] = 0 and φ[t] = φ[t−1] + f[t] (mod 1), so the target sin(2πφ[t]) is continuous across
 * frequency changes (|target[t] − target[t−1]| <= 2π·f[t]) and the current input already sets
 * the current step's phase advance. Frequencies are in cycles per sample; the period is 1/f.
 */
export function frequencyToSine(options: FrequencyToSineOptions): FrequencyToSineSeries {
  const fn = "frequencyToSine";
  const o = optionsObject(fn, options, ["length", "seed", "minFreq", "maxFreq", "holdMin", "holdMax"]);
  const length = integer(fn, "length", o.length, { min: 1 });
  const seed = seedOption(fn, o);
  const minFreq = number(fn, "minFreq", o.minFreq, { min: 0, open: true, max: 0.5 }, 0.05);
  const maxFreq = number(fn, "maxFreq", o.maxFreq, { min: 0, open: true, max: 0.5 }, 0.2);
  if (maxFreq < minFreq) fail("E_VALUE", `${fn}: maxFreq must be >= minFreq, got minFreq=${minFreq}, maxFreq=${maxFreq}`);
  const holdMin = integer(fn, "holdMin", o.holdMin, { min: 1 }, 100);
  const holdMax = integer(fn, "holdMax", o.holdMax, { min: 1 }, 300);
  if (holdMax < holdMin) fail("E_VALUE", `${fn}: holdMax must be >= holdMin, got holdMin=${holdMin}, holdMax=${holdMax}`);
  if (holdMax - holdMin + 1 > 4294967296) fail("E_VALUE", `${fn}: holdMax - holdMin must be < 2^32, got ${holdMax - holdMin}`);

  const rng = createRng(seed);
  const input = new Float64Array(length);
  const target = new Float64Array(length);
  const phase = new Float64Array(length);
  let t = 0;
  while (t < length) {
    const f = rng.uniform(minFreq, maxFreq);
    const hold = holdMin + rng.int(holdMax - holdMin + 1);
    const end = Math.min(length, t + hold);
    for (; t < end; t++) input[t] = f;
  }
  let phi = 0;
  for (let i = 0; i < length; i++) {
    if (i > 0) {
      phi += input[i];
      if (phi >= 1) phi -= 1;
    }
    phase[i] = phi;
    target[i] = Math.sin(2 * Math.PI * phi);
  }
  return { input, target, phase };
}
