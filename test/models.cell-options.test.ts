// Cell options (activations with alpha / beta, clip, LSTM input_forget): their forward is checked
// against onnxruntime-node in test/onnx.test.ts; here their backward. Two checks: an options
// path that computes PyTorch's cell by other names (scaledTanh(1, 1) is tanh) gives the fused
// cell's results and gradients, which the PyTorch fixtures check; and the other functions'
// gradients match central finite differences of the model's own forward.
import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM, RNN, RecurError, SequenceModel, type RecurrentModel, type Tensor } from "../src/index.js";
import { maxAbsDiff } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

const TANH = { name: "scaledTanh", alpha: 1, beta: 1 } as const;

type Make = (o: Record<string, unknown>) => RecurrentModel;
const lstm: Make = (o) => new LSTM({ inputSize: 3, hiddenSize: 5, seed: 4, ...o });
const gru: Make = (o) => new GRU({ inputSize: 3, hiddenSize: 5, seed: 4, ...o });
const rnn: Make = (o) => new RNN({ inputSize: 3, hiddenSize: 5, seed: 4, ...o });

function run(model: RecurrentModel, x: Tensor, dout: Tensor): { y: Float32Array; grads: Record<string, Float32Array>; dx: Float32Array } {
  const r = model.forwardTrain(x);
  model.zeroGrad();
  const d = model.backward({ output: dout });
  return { y: r.output.data, grads: Object.fromEntries(Object.entries(model.gradients()).map(([k, v]) => [k, v.data])), dx: d.input!.data };
}

describe("the options path computing PyTorch's cell gives the fused cell's results and gradients", () => {
  const cases: [string, Make, Record<string, unknown>, Record<string, unknown>][] = [
    ["LSTM", lstm, {}, { activations: ["sigmoid", TANH, TANH] }],
    ["LSTM, peepholes, bidirectional", lstm, { peepholes: true, bidirectional: true }, { peepholes: true, bidirectional: true, activations: ["sigmoid", TANH, "tanh", "sigmoid", "tanh", TANH] }],
    ["GRU (reset after)", gru, {}, { activations: ["sigmoid", TANH] }],
    ["GRU (reset before)", gru, { resetAfter: false }, { resetAfter: false, activations: ["sigmoid", TANH] }],
    ["RNN", rnn, {}, { activations: [TANH] }],
  ];
  for (const [name, make, plain, optioned] of cases) {
    it(name, () => {
      const a = make(plain), b = make(optioned);
      expect(a.config.cell).toBeUndefined();
      expect(b.config.cell).toBeDefined();
      const x = randn([4, 2, 3], 11);
      const dout = randn([4, 2, a.directions * 5], 12);
      const ra = run(a, x, dout), rb = run(b, x, dout);
      expect(maxAbsDiff(rb.y, ra.y)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(rb.dx, ra.dx)).toBeLessThanOrEqual(1e-5);
      for (const k of Object.keys(ra.grads)) expect(maxAbsDiff(rb.grads[k], ra.grads[k]), k).toBeLessThanOrEqual(1e-5);
      a.dispose();
      b.dispose();
    });
  }
});

describe("gradients of the other functions match central finite differences", () => {
  const cases: [string, Make, Record<string, unknown>][] = [
    ["LSTM hardSigmoid (Keras 3) / softsign / elu", lstm, { activations: [{ name: "hardSigmoid", alpha: 1 / 6, beta: 0.5 }, "softsign", { name: "elu", alpha: 0.8 }] }],
    ["LSTM input_forget with peepholes, softplus candidate", lstm, { inputForget: true, peepholes: true, activations: ["sigmoid", "softplus", "tanh"] }],
    ["GRU reset after, hardSigmoid / leakyRelu", gru, { activations: ["hardSigmoid", { name: "leakyRelu", alpha: 0.3 }] }],
    ["GRU reset before, affine gates / scaledTanh", gru, { resetAfter: false, activations: [{ name: "affine", alpha: 0.2, beta: 0.5 }, { name: "scaledTanh", alpha: 1.3, beta: 0.7 }] }],
    ["RNN softsign, bidirectional with its own reverse function", rnn, { bidirectional: true, activations: ["softsign", "elu"] }],
  ];
  for (const [name, make, options] of cases) {
    it(name, () => {
      const model = make(options);
      const x = randn([4, 2, 3], 21);
      const dout = randn([4, 2, model.directions * 5], 22);
      const { grads, dx } = run(model, x, dout);
      const loss = (): number => {
        const y = model.forward(x).output.data;
        let s = 0;
        for (let i = 0; i < y.length; i++) s += y[i] * dout.data[i];
        return s;
      };
      const eps = 3e-3;
      const sd = model.stateDict();
      let worst = 0;
      for (const [key, t] of Object.entries(sd)) {
        for (let i = 0; i < t.data.length; i += 3) {
          const v = t.data[i];
          t.data[i] = v + eps;
          model.loadStateDict(sd);
          const up = loss();
          t.data[i] = v - eps;
          model.loadStateDict(sd);
          const down = loss();
          t.data[i] = v;
          worst = Math.max(worst, Math.abs((up - down) / (2 * eps) - grads[key][i]));
        }
      }
      model.loadStateDict(sd);
      for (let i = 0; i < x.data.length; i += 2) {
        const v = x.data[i];
        x.data[i] = v + eps;
        const up = loss();
        x.data[i] = v - eps;
        const down = loss();
        x.data[i] = v;
        worst = Math.max(worst, Math.abs((up - down) / (2 * eps) - dx[i]));
      }
      // Central differences err by O(eps^2 f''') (O(eps) across softsign's and elu's kinks in f'')
      // and by float32 rounding / eps: 2e-3 absolute here (measured: up to 1e-4).
      expect(worst).toBeLessThan(2e-3);
      model.dispose();
    });
  }
});

describe("checking and persistence", () => {
  it("refuses to train a clipped cell, names the reason, and still runs it", () => {
    const model = lstm({ clip: 0.5 });
    expect(model.forward(randn([3, 1, 3], 1)).output.data.every((v) => Math.abs(v) <= 1)).toBe(true);
    let err: unknown;
    try {
      model.forwardTrain(randn([3, 1, 3], 1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecurError);
    expect((err as RecurError).code).toBe("E_UNSUPPORTED");
    expect((err as RecurError).message).toContain("clip=0.5");
    model.dispose();
  });

  it("rejects unknown functions, wrong counts and misplaced options with E_VALUE", () => {
    for (const bad of [{ activations: ["sigmoid", "gelu", "tanh"] }, { activations: ["sigmoid", "tanh"] }, { clip: -1 }, { activations: [{ name: "elu", alpha: Number.NaN }, "tanh", "tanh"] }]) {
      expect(() => lstm(bad)).toThrow(RecurError);
    }
    expect(() => gru({ inputForget: true })).toThrow(/LSTM option/);
    expect(() => rnn({ nonlinearity: "relu", activations: ["relu"] })).toThrow(/not both/);
  });

  it("RNN activations ['relu'] is PyTorch's relu RNN on the fused cell", () => {
    const model = rnn({ activations: ["relu"] });
    expect(model.config.nonlinearity).toBe("relu");
    expect(model.config.cell).toBeUndefined();
    model.dispose();
  });

  it("a SequenceModel keeps its cell options through modelSpec", () => {
    const options = { cell: "LSTM" as const, inputSize: 3, hiddenSize: 4, outputSize: 2, activations: ["hardSigmoid" as const, "tanh" as const, "tanh" as const], inputForget: true };
    const a = new SequenceModel(options);
    const spec = a.modelSpec();
    const b = new SequenceModel(spec.config as unknown as typeof options);
    b.loadStateDict(a.stateDict());
    const x = randn([3, 2, 3], 5);
    expect(maxAbsDiff(b.rnn.forward(x).output.data, a.rnn.forward(x).output.data)).toBe(0);
    expect(a.rnn.modelSpec().config).toMatchObject({ activations: [{ name: "hardSigmoid", alpha: 0.2, beta: 0.5 }, { name: "tanh" }, { name: "tanh" }], inputForget: true });
    a.dispose();
    b.dispose();
  });
});
