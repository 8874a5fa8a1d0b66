/**
 * Bad input gives a clear RecurError and leaves the model as it was (state, readout, statistics).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mackeyGlass } from "../src/datasets/index.js";
import { ESN } from "../src/esn/index.js";
import { RecurError } from "../src/errors.js";
import { init } from "../src/runtime.js";
import type { Tensor } from "../src/tensor.js";
import { thrown } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

const mg = mackeyGlass({ length: 1500 });
const seq = (a: number, b: number): Tensor => ({ shape: [b - a, 1], data: Float32Array.from(mg.subarray(a, b)) });

/** A fitted model and a snapshot of everything a failed call must not change. */
function fitted(extra: object = {}): { esn: ESN; snap: () => { state: Float32Array; readout: Float64Array; next: Float32Array } } {
  const esn = new ESN({ units: 30, spectralRadius: 0.9, inputConnectivity: 1, seed: 1, ...extra });
  esn.fit(seq(0, 500), seq(1, 501), { washout: 50 });
  const snap = () => {
    const state = esn.state.data;
    const readout = esn.getReadout().data;
    // What the model does next (exercises state and previous output without changing them).
    const x = esn.state;
    const next = esn.predict(seq(500, 510)).data;
    esn.setState(x);
    return { state, readout, next };
  };
  return { esn, snap };
}

describe("ESN bad input", () => {
  it("spectral radius requested for an all-zero W", () => {
    const zero = { shape: [20, 20], data: new Float32Array(400) };
    const e = thrown(() => new ESN({ units: 20, inputDim: 1, spectralRadius: 0.9, weights: { W: zero } }));
    expect(e.code).toBe("E_VALUE");
    expect(e.message).toMatch(/spectral radius 0/);
    // Given as is (no radius requested), or a radius of 0: fine, no recurrence.
    new ESN({ units: 20, inputDim: 1, weights: { W: zero } }).dispose();
    new ESN({ units: 20, inputDim: 1, connectivity: 0, spectralRadius: 0 }).dispose();
    expect(thrown(() => new ESN({ units: 20, inputDim: 1, connectivity: 0 })).code).toBe("E_VALUE");
  });

  it("washout >= sequence length", () => {
    const { esn, snap } = fitted();
    const before = snap();
    const e = thrown(() => esn.fit(seq(0, 100), seq(1, 101), { washout: 100 }));
    expect(e.code).toBe("E_VALUE");
    expect(e.message).toMatch(/washout \(100\) must be smaller than the sequence length \(100\)/);
    expect(snap()).toEqual(before);
    esn.dispose();
  });

  it("NaN in inputs or targets names the step; nothing changes", () => {
    const { esn, snap } = fitted();
    const before = snap();
    const bad = seq(0, 300);
    bad.data[137] = NaN;
    const e = thrown(() => esn.fit(bad, seq(1, 301)));
    expect(e.code).toBe("E_VALUE");
    expect(e.message).toMatch(/inputs holds NaN at step 137/);
    const badT = seq(1, 301);
    badT.data[12] = Infinity;
    expect(thrown(() => esn.partialFit(seq(0, 300), badT)).message).toMatch(/targets holds Infinity at step 12/);
    const two = { shape: [10, 2], data: new Float32Array(20) };
    two.data[7] = NaN;
    const m2 = new ESN({ units: 10, seed: 1, spectralRadius: 0.5 });
    expect(thrown(() => m2.collectStates(two)).message).toMatch(/step 3, channel 1/);
    expect(thrown(() => esn.predict(bad)).message).toMatch(/step 137/);
    expect(thrown(() => esn.generate(5, { warmup: bad })).message).toMatch(/warmup holds NaN at step 137/);
    expect(snap()).toEqual(before);
    m2.dispose();
    esn.dispose();
  });

  it("a singular ridge system (ridge 0, a constant input duplicating the bias) is an E_NUMERIC error; the old readout stays", () => {
    const { esn, snap } = fitted({ readoutInput: true, ridge: 0 });
    const before = snap();
    const ones = { shape: [200, 1], data: new Float32Array(200).fill(1) };
    // States driven by a constant converge to a fixed point: every feature is constant too.
    const e = thrown(() => esn.fit(ones, seq(1, 201), { washout: 20 }));
    expect(e.code).toBe("E_NUMERIC");
    expect(e.message).toMatch(/singular or not positive definite/);
    expect(e.message).toMatch(/use ridge > 0/);
    expect(snap()).toEqual(before);
    // The same data with a ridge is fine.
    esn.fit(ones, seq(1, 201), { washout: 20, ridge: 1e-6 });
    esn.dispose();
  });

  it("a singular dual system (ridge 0, the same rows twice) is an E_NUMERIC error naming the training row", () => {
    const esn = new ESN({ units: 100, spectralRadius: 0.9, seed: 1, ridge: 0, ridgeSolver: "dual" });
    const e = thrown(() => esn.fit([seq(0, 40), seq(0, 40)], [seq(1, 41), seq(1, 41)], { washout: 10, reset: true }));
    expect(e.code).toBe("E_NUMERIC");
    expect(e.message).toMatch(/dual ridge system .* at training row \d+: training rows are linearly dependent; use ridge > 0/);
    expect(esn.isFitted).toBe(false);
    esn.fit([seq(0, 40), seq(0, 40)], [seq(1, 41), seq(1, 41)], { washout: 10, reset: true, ridge: 1e-6 });
    expect(esn.isFitted).toBe(true);
    esn.dispose();
  });

  it("a diverging state (unbounded activation) is an E_NUMERIC error naming the step; state restored", () => {
    const esn = new ESN({ units: 20, activation: "identity", spectralRadius: 3, inputConnectivity: 1, seed: 2, inputDim: 1 });
    const x0 = esn.state.data;
    const long = { shape: [2000, 1], data: new Float32Array(2000).fill(1) };
    const e = thrown(() => esn.collectStates(long));
    expect(e.code).toBe("E_NUMERIC");
    expect(e.message).toMatch(/became non-finite at step \d+/);
    expect(esn.state.data).toEqual(x0);
    esn.dispose();
  });

  it("usage errors: not fitted, shapes, options", () => {
    const esn = new ESN({ units: 10, seed: 1, spectralRadius: 0.5 });
    expect(thrown(() => esn.predict(seq(0, 10))).code).toBe("E_STATE");
    expect(thrown(() => esn.generate(10)).code).toBe("E_STATE");
    esn.fit(seq(0, 100), seq(1, 101));
    expect(thrown(() => esn.predict({ shape: [10, 2], data: new Float32Array(20) })).code).toBe("E_SHAPE");
    expect(thrown(() => esn.fit(seq(0, 100), seq(1, 90))).code).toBe("E_SHAPE");
    expect(thrown(() => esn.fit(seq(0, 100), seq(1, 101), { washout: -1 })).code).toBe("E_VALUE");
    expect(thrown(() => esn.fit(seq(0, 100), seq(1, 101), { washot: 5 } as never)).message).toMatch(/unknown option "washot"/);
    expect(thrown(() => new ESN({ units: 10, leakRate: 0 })).code).toBe("E_VALUE");
    expect(thrown(() => new ESN({ units: 10, connectivity: 2 })).code).toBe("E_VALUE");
    expect(thrown(() => new ESN({ units: 0 })).code).toBe("E_VALUE");
    expect(thrown(() => new ESN({ units: 10, activation: "softplus" as never })).code).toBe("E_VALUE");
    expect(thrown(() => new ESN({ units: 10, ridgeSolver: "qr" as never })).message).toMatch(/ridgeSolver must be "auto", "primal" or "dual", got "qr"/);
    expect(thrown(() => esn.solveReadout({ ridge: -1 })).code).toBe("E_VALUE");
    expect(thrown(() => esn.generate(-1)).code).toBe("E_VALUE");
    const two = new ESN({ units: 10, seed: 1, spectralRadius: 0.5 });
    two.fit({ shape: [50, 2], data: new Float32Array(100).fill(0.1) }, seq(1, 51));
    expect(thrown(() => two.generate(3)).code).toBe("E_SHAPE");
    expect(thrown(() => new ESN({ units: 10, feedbackScaling: 1, inputDim: 1 }).collectStates(seq(0, 10))).code).toBe("E_STATE");
    esn.dispose();
    two.dispose();
  });
});
