// The initialisations of RNN, LSTM and GRU: "identity" (IRNN) and echoStateInit (sparse W_hh at a
// chosen spectral radius), checked on the weights themselves and on the gradient flow they give.
import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM, RecurError, RNN, type RecurrentModel, type Tensor } from "../src/index.js";
import { denseOperator, spectralRadius } from "../src/spectral/index.js";
import { echoStateInit } from "../src/esn/index.js";

beforeAll(async () => {
  await init();
});

// Gate block g of weight_hh ([G*H, P] in PyTorch's layout) as a Float64Array of H*P.
function block(w: Tensor, G: number, g: number): Float64Array {
  const n = w.data.length / G;
  return Float64Array.from(w.data.subarray(g * n, (g + 1) * n));
}

// Gelfand's formula as an independent estimate: ρ(W) = lim ‖W^k‖^(1/k), taken as the growth of
// ‖W^k‖_F between k = 400 and 800 (float64, renormalised as it goes).
function gelfandRadius(w: Float64Array, n: number): number {
  let m = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  let logScale = 0;
  const logNorms: number[] = [];
  for (let k = 1; k <= 800; k++) {
    const next = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let l = 0; l < n; l++) {
      const a = w[i * n + l];
      if (a !== 0) for (let j = 0; j < n; j++) next[i * n + j] += a * m[l * n + j];
    }
    const fro = Math.hypot(...next);
    logScale += Math.log(fro);
    m = next.map((v) => v / fro);
    if (k === 400 || k === 800) logNorms.push(logScale);
  }
  return Math.exp((logNorms[1] - logNorms[0]) / 400);
}

describe('init "identity"', () => {
  it("RNN (relu), LSTM and GRU: every gate block of weight_hh is exactly I, biases zero, weight_ih small", () => {
    const models: [RecurrentModel, number][] = [
      [new RNN({ inputSize: 3, hiddenSize: 6, nonlinearity: "relu", init: "identity" }), 1],
      [new LSTM({ inputSize: 3, hiddenSize: 6, init: "identity" }), 4],
      [new GRU({ inputSize: 3, hiddenSize: 6, numLayers: 2, init: "identity" }), 3],
    ];
    for (const [model, G] of models) {
      const sd = model.stateDict();
      for (const [name, t] of Object.entries(sd)) {
        if (name.startsWith("weight_hh")) {
          for (let g = 0; g < G; g++) expect(Array.from(block(t, G, g)), `${name} block ${g}`).toEqual(Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0)));
        } else if (name.startsWith("bias")) {
          expect(t.data.every((v) => v === 0), name).toBe(true);
        } else {
          const std = Math.sqrt(t.data.reduce((s, v) => s + v * v, 0) / t.data.length);
          expect(std, name).toBeGreaterThan(0.0003);
          expect(std, name).toBeLessThan(0.003);
        }
      }
      model.dispose();
    }
  });

  it("gain and inputStd options; a projecting LSTM gets ones on the diagonal of its [H, P] blocks", () => {
    const rnn = new RNN({ inputSize: 2, hiddenSize: 4, nonlinearity: "relu", init: { scheme: "identity", gain: 0.5, inputStd: 0 } });
    const sd = rnn.stateDict();
    expect(Array.from(sd.weight_hh_l0.data)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0.5 : 0)));
    expect(sd.weight_ih_l0.data.every((v) => v === 0)).toBe(true);
    rnn.dispose();
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 5, projSize: 3, init: "identity" });
    const whh = lstm.stateDict().weight_hh_l0;
    for (let g = 0; g < 4; g++) expect(Array.from(block(whh, 4, g))).toEqual(Array.from({ length: 15 }, (_, i) => (i < 9 && i % 4 === 0 ? 1 : 0)));
    lstm.dispose();
  });

  it("an IRNN with zero input keeps its state: h_t = relu(h_{t-1}) = h_0 for a non-negative h_0", () => {
    const rnn = new RNN({ inputSize: 1, hiddenSize: 5, nonlinearity: "relu", init: "identity" });
    const h0 = { shape: [1, 1, 5], data: Float32Array.from([0.5, 0, 2, 1, 0.25]) };
    const r = rnn.forward({ shape: [50, 1, 1], data: new Float32Array(50) }, { h0 });
    expect(Array.from(r.hN.data)).toEqual(Array.from(h0.data));
    rnn.dispose();
  });
});

describe("echoStateInit (recur-nn/esn)", () => {
  it("each gate block has the requested spectral radius and `connections` non-zeros per row; biases zero", () => {
    const cases: [RecurrentModel, number, number, number][] = [
      [echoStateInit(new RNN({ inputSize: 2, hiddenSize: 40 }), { seed: 1 }), 1, 1.1, 15],
      [echoStateInit(new LSTM({ inputSize: 2, hiddenSize: 24 }), { spectralRadius: 0.9, connections: 5, seed: 2 }), 4, 0.9, 5],
      [echoStateInit(new GRU({ inputSize: 2, hiddenSize: 70 }), { spectralRadius: 1.5, connections: 10, seed: 3 }), 3, 1.5, 10],
    ];
    for (const [model, G, radius, connections] of cases) {
      const sd = model.stateDict();
      const H = model.config.hiddenSize;
      for (let g = 0; g < G; g++) {
        const w = block(sd.weight_hh_l0, G, g);
        for (let i = 0; i < H; i++) expect(w.subarray(i * H, (i + 1) * H).filter((v) => v !== 0).length).toBe(connections);
        expect(spectralRadius(denseOperator(H, w), { tol: 1e-12 }).radius).toBeCloseTo(radius, 5);
        if (g === 0) expect(Math.abs(gelfandRadius(w, H) / radius - 1)).toBeLessThan(0.01);
      }
      expect(sd.bias_hh_l0.data.every((v) => v === 0) && sd.bias_ih_l0.data.every((v) => v === 0)).toBe(true);
      model.dispose();
    }
  });

  it("is reproducible from the seed, and inputScale scales PyTorch's input weights", () => {
    const plain = new RNN({ inputSize: 3, hiddenSize: 20 }).stateDict();
    const a = echoStateInit(new RNN({ inputSize: 3, hiddenSize: 20 }), { seed: 7 }).stateDict();
    const b = echoStateInit(new RNN({ inputSize: 3, hiddenSize: 20 }), { inputScale: 0.5, seed: 7 }).stateDict();
    expect(Array.from(b.weight_hh_l0.data)).toEqual(Array.from(a.weight_hh_l0.data));
    expect(Array.from(a.weight_ih_l0.data)).toEqual(Array.from(plain.weight_ih_l0.data));
    expect(Array.from(b.weight_ih_l0.data)).toEqual(Array.from(plain.weight_ih_l0.data, (v) => Math.fround(v * 0.5)));
  });

  it("a tanh RNN in its linear regime: ‖∂L_T/∂h_k‖ shrinks or grows as ρ^(T-k)", () => {
    const T = 200;
    for (const rho of [0.8, 1.25]) {
      const rnn = echoStateInit(new RNN({ inputSize: 1, hiddenSize: 32 }), { spectralRadius: rho, seed: 4 });
      // Zero input and state: h stays 0, tanh' = 1, so each backward step multiplies by W_hhᵀ.
      const r = rnn.forwardTrain({ shape: [T, 1, 1], data: new Float32Array(T) });
      const dhN = { shape: r.hN.shape, data: new Float32Array(32).fill(1) };
      const norms = rnn.backward({ hN: dhN }, { hiddenGradNorms: true }).hiddenGradNorms!.data;
      const rate = Math.log(norms[0] / norms[T - 1]) / (T - 1);
      expect(Math.abs(rate - Math.log(rho)), `ρ = ${rho}`).toBeLessThan(0.03);
      rnn.dispose();
    }
  });
});

describe("init: bad options", () => {
  const bad: [string, () => unknown, RegExp][] = [
    ["an unknown scheme", () => new RNN({ inputSize: 1, hiddenSize: 4, init: "xavier" as "uniform" }), /init must be "uniform", "orthogonal" or "identity"/],
    ["an options object without its scheme", () => new RNN({ inputSize: 1, hiddenSize: 4, init: { spectralRadius: 1 } as never }), /init.scheme must be/],
    ["an unknown option", () => new RNN({ inputSize: 1, hiddenSize: 4, init: { scheme: "identity", radius: 1 } as never }), /unknown option "radius"/],
    ["more connections than units", () => echoStateInit(new GRU({ inputSize: 1, hiddenSize: 4 }), { connections: 5 }), /connections must be an integer in \[1, 4\]/],
    ["a zero spectral radius", () => echoStateInit(new LSTM({ inputSize: 1, hiddenSize: 4 }), { spectralRadius: 0 }), /spectralRadius must be a finite number > 0/],
    ["echo-state with a projection", () => echoStateInit(new LSTM({ inputSize: 1, hiddenSize: 4, projSize: 2 })), /needs square weight_hh blocks/],
    ["the echo-state scheme in the core", () => new RNN({ inputSize: 1, hiddenSize: 4, init: "echo-state" as "uniform" }), /init must be "uniform", "orthogonal" or "identity"/],
    ["a negative inputStd", () => new RNN({ inputSize: 1, hiddenSize: 4, init: { scheme: "identity", inputStd: -1 } }), /init.inputStd must be/],
  ];
  for (const [what, make, message] of bad) {
    it(what, () => {
      expect(make).toThrow(RecurError);
      expect(make).toThrow(message);
    });
  }
});
