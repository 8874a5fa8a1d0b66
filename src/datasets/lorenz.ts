/** The Lorenz-63 system, integrated by RK4. */
import { fail } from "../errors.js";
import { integer, number, optionsObject, show } from "../validate.js";

/** Options of `lorenz`. */
export interface LorenzOptions {
  /** Number of samples (rows) returned. */
  length: number;
  /** RK4 step. Default 0.01. */
  dt?: number;
  /** Default 10. */
  sigma?: number;
  /** Default 28. */
  rho?: number;
  /** Default 8/3. */
  beta?: number;
  /** Initial state [x, y, z]. Default [1, 1, 1]. */
  x0?: ArrayLike<number>;
  /** Keep every `subsample`-th RK4 step. Default 1. */
  subsample?: number;
  /** Samples (after subsampling) dropped at the start. Default 0. */
  discard?: number;
}

/**
 * The Lorenz-63 system dx/dt = σ(y − x), dy/dt = x(ρ − z) − y, dz/dt = xy − βz, integrated with
 * classic RK4. Returns a row-major Float64Array of shape [length, 3] (row j = [x, y, z] at time
 * (discard + j)·subsample·dt). Use `toTensor(series, 3)` for a float32 tensor and
 * `column(series, 3, j)` for one coordinate. Throws "E_NUMERIC" if the trajectory blows up
 * (e.g. a too large dt).
 */
export function lorenz(options: LorenzOptions): Float64Array {
  const fn = "lorenz";
  const o = optionsObject(fn, options, ["length", "dt", "sigma", "rho", "beta", "x0", "subsample", "discard"]);
  const length = integer(fn, "length", o.length, { min: 1 });
  const dt = number(fn, "dt", o.dt, { min: 0, open: true }, 0.01);
  const sigma = number(fn, "sigma", o.sigma, {}, 10);
  const rho = number(fn, "rho", o.rho, {}, 28);
  const beta = number(fn, "beta", o.beta, {}, 8 / 3);
  const subsample = integer(fn, "subsample", o.subsample, { min: 1 }, 1);
  const discard = integer(fn, "discard", o.discard, { min: 0 }, 0);
  const init = o.x0 === undefined ? [1, 1, 1] : (o.x0 as ArrayLike<number>);
  if (
    init === null ||
    typeof init !== "object" ||
    init.length !== 3 ||
    ![0, 1, 2].every((i) => typeof init[i] === "number" && Number.isFinite(init[i]))
  ) {
    fail("E_VALUE", `${fn}: x0 must be 3 finite numbers [x, y, z], got ${show(init)}`);
  }
  let x = init[0];
  let y = init[1];
  let z = init[2];
  const samples = discard + length;
  const out = new Float64Array(length * 3);
  const half = dt / 2;
  const sixth = dt / 6;
  for (let i = 0; i < samples; i++) {
    if (i >= discard) {
      const r = (i - discard) * 3;
      out[r] = x;
      out[r + 1] = y;
      out[r + 2] = z;
    }
    if (i === samples - 1) break;
    for (let s = 0; s < subsample; s++) {
      const ax = sigma * (y - x);
      const ay = x * (rho - z) - y;
      const az = x * y - beta * z;
      let px = x + half * ax;
      let py = y + half * ay;
      let pz = z + half * az;
      const bx = sigma * (py - px);
      const by = px * (rho - pz) - py;
      const bz = px * py - beta * pz;
      px = x + half * bx;
      py = y + half * by;
      pz = z + half * bz;
      const cx = sigma * (py - px);
      const cy = px * (rho - pz) - py;
      const cz = px * py - beta * pz;
      px = x + dt * cx;
      py = y + dt * cy;
      pz = z + dt * cz;
      const dx = sigma * (py - px);
      const dy = px * (rho - pz) - py;
      const dz = px * py - beta * pz;
      x += sixth * (ax + 2 * bx + 2 * cx + dx);
      y += sixth * (ay + 2 * by + 2 * cy + dy);
      z += sixth * (az + 2 * bz + 2 * cz + dz);
    }
    if (!Number.isFinite(x + y + z)) {
      fail("E_NUMERIC", `${fn}: the trajectory became non-finite after sample ${i} (dt=${dt} too large for these parameters?)`);
    }
  }
  return out;
}
