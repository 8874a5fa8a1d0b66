// Forward paths PyTorch fixtures do not cover, against the float64 reference (test/reference):
// peepholes, the reset-before GRU, bidirectional with lengths (the reverse direction must start
// at each sequence's own end), batch-first with lengths, sizes that are not multiples of 8, and
// the streaming step against the whole-sequence forward.
import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM, StreamState, type Tensor } from "../src/index.js";
import { forward64 } from "./reference/rnn64.js";
import { variantCases } from "./helpers/variant-cases.js";
import { maxAbsDiff, toleranceFor } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

describe("forward against the float64 reference", () => {
  for (const c of variantCases) {
    it(c.name, () => {
      const model = c.make();
      try {
        const sd = model.stateDict();
        const D = c.ref.bidirectional ? 2 : 1;
        const LD = c.ref.numLayers * D;
        const P = c.ref.projSize > 0 ? c.ref.projSize : c.ref.hiddenSize;
        const x = randn(c.ref.batchFirst ? [c.B, c.T, c.ref.inputSize] : [c.T, c.B, c.ref.inputSize], 100);
        const h0 = randn([LD, c.B, P], 101, 0.5);
        const c0 = c.ref.mode === "LSTM" ? randn([LD, c.B, c.ref.hiddenSize], 102, 0.5) : undefined;
        const got = model.forward(x, { h0, c0, lengths: c.lengths });
        const want = forward64(c.ref, sd, x, h0, c0, c.lengths);
        expect(got.output.shape).toEqual(want.outputShape);
        expect(maxAbsDiff(got.output.data, want.output)).toBeLessThanOrEqual(toleranceFor(want.output));
        expect(maxAbsDiff(got.hN.data, want.hN)).toBeLessThanOrEqual(toleranceFor(want.hN));
        if (want.cN) expect(maxAbsDiff(got.cN!.data, want.cN)).toBeLessThanOrEqual(toleranceFor(want.cN));
      } finally {
        model.dispose();
      }
    });
  }

  it("peepholes change the result, and all-zero peepholes equal the plain LSTM", () => {
    const plain = new LSTM({ inputSize: 4, hiddenSize: 6, seed: 1 });
    const peep = new LSTM({ inputSize: 4, hiddenSize: 6, seed: 1, peepholes: true });
    const x = randn([5, 2, 4], 11);
    const sd = { ...plain.stateDict(), weight_peephole_l0: { shape: [18], data: new Float32Array(18) } };
    peep.loadStateDict(sd);
    expect(maxAbsDiff(peep.forward(x).output.data, plain.forward(x).output.data)).toBe(0);
    sd.weight_peephole_l0 = randn([18], 12);
    peep.loadStateDict(sd);
    expect(maxAbsDiff(peep.forward(x).output.data, plain.forward(x).output.data)).toBeGreaterThan(1e-3);
    plain.dispose();
    peep.dispose();
  });
});

describe("streaming step", () => {
  it("steps reproduce forward, and many streams advance in one call", () => {
    const model = new LSTM({ inputSize: 3, hiddenSize: 10, numLayers: 2, projSize: 4, seed: 2 });
    const T = 6, B = 3;
    const x = randn([T, B, 3], 21);
    const full = model.forward(x);
    const state = model.initialState(B);
    for (let t = 0; t < T; t++) {
      const xt: Tensor = { shape: [1, B, 3], data: x.data.subarray(t * B * 3, (t + 1) * B * 3) };
      const { output } = model.step(xt, state);
      expect(maxAbsDiff(output.data, full.output.data.subarray(t * B * 4, (t + 1) * B * 4))).toBeLessThanOrEqual(1e-6);
    }
    expect(maxAbsDiff(state.h.data, full.hN.data)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(state.c!.data, full.cN!.data)).toBeLessThanOrEqual(1e-6);

    // Split into single streams, advance one alone, re-batch: same as advancing the batch.
    const parts = state.split();
    const batched = StreamState.concat(parts.map((p) => p.clone()));
    const xt = randn([1, B, 3], 22);
    const together = model.step(xt, batched).output;
    const alone = model.step({ shape: [1, 1, 3], data: xt.data.subarray(3, 6) }, parts[1]).output;
    expect(maxAbsDiff(alone.data, together.data.subarray(4, 8))).toBeLessThanOrEqual(1e-6);
    batched.reset(1);
    expect(batched.h.data.subarray(4, 8).every((v) => v === 0)).toBe(true);
    model.dispose();
  });

  it("a step allocates no Wasm memory once the state exists", async () => {
    const { backendInfo } = await import("../src/index.js");
    const model = new GRU({ inputSize: 8, hiddenSize: 32, seed: 1 });
    const state = model.initialState(4);
    const before = backendInfo();
    const xt = randn([4, 8], 5);
    const out = new Float32Array(4 * 32);
    for (let i = 0; i < 100; i++) model.step(xt, state, out);
    const after = backendInfo();
    expect(after.heapUsedBytes).toBe(before.heapUsedBytes);
    expect(after.memoryBytes).toBe(before.memoryBytes);
    model.dispose();
  });
});

describe("forwardTrain({ output: false })", () => {
  it("returns no output, the same final states, and backward gives the same gradients", () => {
    const make = (): LSTM => new LSTM({ inputSize: 5, hiddenSize: 12, numLayers: 2, batchFirst: true, seed: 3 });
    const x = randn([3, 7, 5], 200);
    const full = make();
    const lean = make();
    try {
      const a = full.forwardTrain(x);
      const b = lean.forwardTrain(x, { output: false });
      expect("output" in b).toBe(false);
      expect(b.hN.data).toEqual(a.hN.data);
      expect(b.cN!.data).toEqual(a.cN!.data);
      const dh = randn(a.hN.shape, 201);
      const ga = full.backward({ hN: dh });
      const gb = lean.backward({ hN: dh });
      expect(gb.input!.data).toEqual(ga.input!.data);
      const want = full.gradients();
      const got = lean.gradients();
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      expect(Object.keys(want).length).toBeGreaterThan(0);
      for (const k of Object.keys(want)) expect(got[k].data, k).toEqual(want[k].data);
    } finally {
      full.dispose();
      lean.dispose();
    }
  });
});
