// Non-finite updates: a step whose gradients or results are NaN or infinite throws E_NUMERIC and
// leaves parameters, optimizer state and step count exactly as they were, clipping on or off,
// for every optimizer; fit's message says so, and it is checked here, byte for byte.
import { beforeAll, describe, expect, it } from "vitest";
import { Adagrad, Adam, AdamW, fit, init, LSTM, RMSprop, SequenceModel, SGD, type Optimizer, type Tensor } from "../src/index.js";
import { RecurError } from "../src/errors.js";
import { rng, SCALE } from "./helpers/fuzz.js";

beforeAll(async () => {
  await init();
});

function batch(T: number, B: number, poison?: number): { input: Tensor; target: Tensor } {
  const input = Float32Array.from({ length: T * B * 2 }, (_, i) => Math.sin(i));
  if (poison !== undefined) input[poison % input.length] = Infinity;
  return { input: { shape: [T, B, 2], data: input }, target: { shape: [T, B, 1], data: Float32Array.from({ length: T * B }, (_, i) => Math.cos(i)) } };
}

function snapshot(model: SequenceModel, opt: Optimizer): { params: Uint8Array; state: Uint8Array; step: number } {
  const bytes = (sd: Record<string, { data: Float32Array }>): Uint8Array => {
    const all = Object.keys(sd)
      .sort()
      .flatMap((k) => [...new Uint8Array(sd[k].data.buffer, sd[k].data.byteOffset, sd[k].data.byteLength)]);
    return Uint8Array.from(all);
  };
  const sd = opt.stateDict();
  return { params: bytes(model.stateDict()), state: Uint8Array.from(sd.state.flatMap((e) => [...bytes(e)])), step: sd.step };
}

const makers: [string, (m: SequenceModel) => Optimizer][] = [
  ["SGD momentum", (m) => new SGD(m, { lr: 0.1, momentum: 0.9 })],
  ["Adam", (m) => new Adam(m, { lr: 1e-2, amsgrad: true })],
  ["AdamW", (m) => new AdamW(m, { lr: 1e-2 })],
  ["RMSprop", (m) => new RMSprop(m, { lr: 1e-2, momentum: 0.5, centered: true })],
  ["Adagrad", (m) => new Adagrad(m, { lr: 1e-2 })],
];

describe("an Infinity in the input: finite loss, infinite gradients", () => {
  for (const [name, make] of makers) {
    for (const clip of [undefined, 1]) {
      it(`${name}, clipGradNorm ${clip ?? "off"}: fit throws E_NUMERIC at that update and everything is exactly as before it`, async () => {
        const model = new SequenceModel({ inputSize: 2, hiddenSize: 5, outputSize: 1, loss: "mse", seed: 2 });
        const opt = make(model);
        await fit(model, { optimizer: opt, data: [batch(4, 2)], steps: 2 });
        const before = snapshot(model, opt);
        const poisoned = batch(4, 2, 5);
        // The loss is finite: only the gradients carry the Infinity.
        expect(Number.isFinite(model.lossAndGrad(poisoned).loss)).toBe(true);
        const err = (await fit(model, { optimizer: opt, data: [poisoned], steps: 1, ...(clip ? { clipGradNorm: clip } : {}) }).catch((e: unknown) => e)) as RecurError;
        expect(err).toBeInstanceOf(RecurError);
        expect(err.code).toBe("E_NUMERIC");
        expect(err.message).toMatch(/update 1/);
        expect(err.message).toMatch(/(keep their values|were not changed|restored)/);
        const after = snapshot(model, opt);
        expect(after.step).toBe(before.step);
        expect(after.params).toEqual(before.params);
        expect(after.state).toEqual(before.state);
        // And training goes on from there.
        await fit(model, { optimizer: opt, data: [batch(4, 2)], steps: 1 });
        expect(opt.stepCount).toBe(before.step + 1);
        opt.dispose();
        model.dispose();
      });
    }
  }
});

describe("an update that overflows", () => {
  it("SGD with lr 1e38 and no clipping: the step that would make parameters infinite is rolled back exactly", () => {
    const model = new SequenceModel({ inputSize: 2, hiddenSize: 5, outputSize: 1, loss: "mse", seed: 4 });
    const opt = new SGD(model, { lr: 1e38, momentum: 0.9 });
    const big = batch(4, 2);
    big.target.data.forEach((v, i) => (big.target.data[i] = v * 1e4)); // gradients of about 1e4: lr * g overflows float32
    const before = snapshot(model, opt);
    let err: unknown;
    try {
      model.trainStep(big, opt);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecurError);
    expect((err as RecurError).code).toBe("E_NUMERIC");
    expect((err as RecurError).message).toMatch(/restored/);
    const after = snapshot(model, opt);
    expect(after).toEqual(before);
    opt.dispose();
    model.dispose();
  });

  it("Adam over a gradient whose square overflows float32 keeps its moments finite (property, seeded)", () => {
    // g = 1e30 is finite but g^2 is not: the second moment would become Infinity.
    const r = rng(11);
    for (let round = 0; round < 5 * SCALE; round++) {
      const m = new LSTM({ inputSize: 2, hiddenSize: 3, seed: round });
      const opt = new Adam(m, { lr: 1e-3 });
      const region = m.parameterRegions()[0];
      const grads = new Float32Array(region.floats).map(() => (r.next() - 0.5) * 1e-3);
      grads[r.int(grads.length)] = 1e30;
      const heap = new Float32Array((m as unknown as { rt: { heap: { memory: { buffer: ArrayBuffer } } } }).rt.heap.memory.buffer, region.grads, region.floats);
      heap.set(grads);
      const params = m.stateDict();
      expect(() => opt.step()).toThrow(/E_NUMERIC|NaN or infinite/);
      expect(opt.stepCount).toBe(0);
      expect(m.stateDict()).toEqual(params);
      for (const e of opt.stateDict().state) for (const t of Object.values(e)) expect(t.data.every((v) => v === 0)).toBe(true);
      opt.dispose();
      m.dispose();
    }
  });
});
