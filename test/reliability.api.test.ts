// Random API calls with hostile arguments (seeded): every call returns or throws a RecurError,
// never a TypeError, a RangeError or a hang, and leaves no Wasm memory behind; the models it was
// called on still work afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as R from "../src/index.js";
import { CharLM } from "../src/char-lm/index.js";
import { ESN } from "../src/esn/index.js";
import { loadCheckpoint, optimizerFromState } from "../src/checkpoint/index.js";
import { HOSTILE, noLeak, outcome, rng, SCALE } from "./helpers/fuzz.js";
import { thrown } from "./helpers/errors.js";

type Draw = () => unknown;

let lstm: R.LSTM;
let gru: R.GRU;
let seq: R.SequenceModel;
let adam: R.Adam;
let esn: ESN;
let lm: CharLM;
const x: R.Tensor = { shape: [3, 2, 3], data: Float32Array.from({ length: 18 }, (_, i) => Math.cos(i)) };
const batch = { input: { shape: [3, 2], data: [0, 1, 2, 3, 0, 1] }, target: { shape: [3, 2], data: [1, 2, 3, 0, 1, 2] } };

beforeAll(async () => {
  await R.init();
  lstm = new R.LSTM({ inputSize: 3, hiddenSize: 4 });
  gru = new R.GRU({ inputSize: 3, hiddenSize: 4 });
  seq = new R.SequenceModel({ vocabSize: 4, hiddenSize: 5, outputSize: 4 });
  adam = new R.Adam(seq, { lr: 1e-2 });
  esn = new ESN({ units: 10, seed: 1 });
  const u = Float32Array.from({ length: 41 }, (_, t) => Math.sin(0.4 * t));
  esn.fit({ shape: [40, 1], data: u.subarray(0, 40) }, { shape: [40, 1], data: u.subarray(1) }, { washout: 4 });
  lm = CharLM.fromText("abcabc", { hiddenSize: 4, embeddingDim: 3 });
  // Every model holds its workspaces before the calls, so only what a call leaves shows.
  lstm.forward(x);
  lstm.initialState(2);
  gru.forward(x);
  seq.trainStep(batch, adam);
  seq.predict(batch);
  seq.sample({ prime: [0, 1], length: 2 });
  lm.sample({ length: 2 });
});

afterAll(() => {
  for (const m of [lstm, gru, seq, adam, esn, lm]) m.dispose();
});

// Each entry calls the API with `h()` (a hostile value) in one or more places.
const calls: [string, (h: Draw) => unknown][] = [
  ["tensor", (h) => R.tensor(h() as number[], h() as number[])],
  ["zeros", (h) => R.zeros(h() as number[])],
  ["zeros of a hostile size", (h) => R.zeros([2, h() as number])],
  ["matmul", (h) => R.matmul(h() as R.Tensor, x)],
  ["matmul sizes", (h) => R.matmul({ shape: [h() as number, 1], data: new Float32Array(1) }, { shape: [1, 2], data: new Float32Array(2) })],
  ["matmul options", (h) => R.matmul({ shape: [1, 1], data: new Float32Array(1) }, { shape: [1, 1], data: new Float32Array(1) }, h() as R.MatmulOptions)],
  ["new LSTM", (h) => new R.LSTM(h() as R.LSTMOptions)],
  ["new LSTM sizes", (h) => new R.LSTM({ inputSize: 3, hiddenSize: h() as number, numLayers: h() as number })],
  ["new LSTM options", (h) => new R.LSTM({ inputSize: 3, hiddenSize: 4, projSize: h() as number, peepholes: h() as boolean, bidirectional: h() as boolean, seed: h() as number, init: h() as "uniform" })],
  ["new GRU", (h) => new R.GRU({ inputSize: h() as number, hiddenSize: 2, resetAfter: h() as boolean })],
  ["new RNN", (h) => new R.RNN({ inputSize: 2, hiddenSize: 2, nonlinearity: h() as "tanh" })],
  ["forward", (h) => lstm.forward(h() as R.Tensor)],
  ["forward options", (h) => lstm.forward(x, h() as R.ForwardOptions)],
  ["forward states", (h) => lstm.forward(x, { h0: h() as R.Tensor, c0: h() as R.Tensor, lengths: h() as number[] })],
  ["initialState", (h) => lstm.initialState(h() as number)],
  ["step", (h) => lstm.step(h() as R.Tensor, lstm.initialState(2))],
  ["step with another state", (h) => lstm.step({ shape: [2, 3], data: new Float32Array(6) }, (h() ? gru : lstm).initialState(2))],
  ["step state", (h) => lstm.step({ shape: [2, 3], data: new Float32Array(6) }, h() as R.StreamState)],
  ["loadStateDict", (h) => lstm.loadStateDict(h() as Record<string, R.Tensor>)],
  ["loadStateDict entry", (h) => lstm.loadStateDict({ ...lstm.stateDict(), weight_ih_l0: h() as R.Tensor })],
  ["backward", (h) => lstm.backward(h() as { output?: R.Tensor })],
  ["new SequenceModel", (h) => new R.SequenceModel(h() as R.SequenceModelOptions)],
  ["new SequenceModel sizes", (h) => new R.SequenceModel({ vocabSize: h() as number, hiddenSize: 3, outputSize: h() as number })],
  ["new SequenceModel options", (h) => new R.SequenceModel({ inputSize: 2, hiddenSize: 3, outputSize: 2, cell: h() as "LSTM", outputs: h() as "last", loss: h() as "mse", lossLastSteps: h() as number, conditionSize: h() as number })],
  ["trainStep batch", (h) => seq.trainStep(h() as R.SequenceBatch, adam)],
  ["trainStep target", (h) => seq.trainStep({ input: batch.input, target: { shape: [3, 2], data: [0, 1, h() as number, 3, 0, 1] } }, adam)],
  ["trainStep optimizer", (h) => seq.trainStep(batch, h() as R.Adam)],
  ["trainStep options", (h) => seq.trainStep(batch, adam, h() as R.TrainStepOptions)],
  ["predict", (h) => seq.predict(h() as R.SequenceBatch)],
  ["sample", (h) => seq.sample(h() as { prime: number[]; length: number })],
  ["sample prime and length", (h) => seq.sample({ prime: h() as number[], length: h() as number })],
  ["new Adam", (h) => new R.Adam(h() as R.SequenceModel, { lr: 1e-3 })],
  ["new Adam options", (h) => new R.Adam(seq, h() as R.AdamOptions)],
  ["new SGD lr", (h) => new R.SGD(seq, { lr: h() as number, momentum: h() as number })],
  ["optimizer loadStateDict", (h) => adam.loadStateDict(h() as R.OptimizerStateDict)],
  ["optimizer loadStateDict fields", (h) => adam.loadStateDict({ ...adam.stateDict(), step: h() as number, hyperParameters: h() as Record<string, number> })],
  ["optimizer lr", (h) => (adam.lr = h() as number)],
  ["clipGradNorm", (h) => R.clipGradNorm(h() as R.SequenceModel, h() as number)],
  ["clipGradValue", (h) => R.clipGradValue(seq, h() as number)],
  ["crossEntropy", (h) => R.crossEntropy(h() as R.Tensor, h() as Int32Array)],
  ["mse", (h) => R.mse({ shape: [1, 2], data: new Float32Array(2) }, h() as R.Tensor)],
  ["new Linear", (h) => new R.Linear({ inFeatures: h() as number, outFeatures: h() as number })],
  ["new Embedding", (h) => new R.Embedding({ numEmbeddings: h() as number, embeddingDim: 2 })],
  ["saveModel", (h) => R.saveModel(h() as R.SaveableModel)],
  ["saveModel metadata", (h) => R.saveModel(lstm, h() as Record<string, string>)],
  ["loadModel", (h) => R.loadModel(h() as Uint8Array)],
  ["readSafetensors", (h) => R.readSafetensors(h() as Uint8Array)],
  ["writeSafetensors", (h) => R.writeSafetensors(h() as Record<string, R.Tensor>, h() as Record<string, string>)],
  ["loadCheckpoint", (h) => loadCheckpoint(h() as Uint8Array)],
  ["optimizerFromState", (h) => optimizerFromState(seq, h() as R.OptimizerStateDict)],
  ["optimizerFromState fields", (h) => optimizerFromState(seq, { type: h() as "Adam", step: h() as number, hyperParameters: h() as Record<string, number>, state: h() as [] })],
  ["new ESN", (h) => new ESN(h() as { units: number })],
  ["new ESN units", (h) => new ESN({ units: h() as number, spectralRadius: h() as number })],
  ["ESN generate", (h) => esn.generate(h() as number)],
  ["ESN predict", (h) => esn.predict(h() as R.Tensor)],
  ["CharLM.fromText", (h) => CharLM.fromText(h() as string, h() as { hiddenSize: number })],
  ["CharLM sample", (h) => lm.sample(h() as { length: number })],
  ["CharLM sample fields", (h) => lm.sample({ length: h() as number, prime: h() as string, temperature: h() as number, topK: h() as number })],
  ["CharLM.load", (h) => CharLM.load(h() as Uint8Array)],
];

// Frees what a call returned, wherever it holds Wasm memory.
function release(v: unknown): void {
  if (typeof v !== "object" || v === null) return;
  if (typeof (v as { dispose?: unknown }).dispose === "function") (v as { dispose(): void }).dispose();
  const model = (v as { model?: { dispose?: () => void } }).model;
  if (model && typeof model.dispose === "function") model.dispose();
}

describe("random calls with hostile arguments", () => {
  it("every call returns or throws a RecurError, leaves no Wasm memory behind, and the models still work", () => {
    const codes = new Map<string, number>();
    const failures: string[] = [];
    for (const [c, [name, call]] of calls.entries()) {
      for (let i = 0; i < 12 * SCALE; i++) {
        const seed = c * 1000 + i;
        const r = rng(seed);
        // Mostly hostile values, sometimes a plausible one, so calls get past their first check.
        const h: Draw = () => (r.int(3) === 0 ? r.pick([1, 2, 3, true, "LSTM", [0, 1]]) : r.pick(HOSTILE));
        try {
          noLeak(`${name} (seed ${seed})`, () => {
            const code = outcome(`${name} (seed ${seed})`, () => call(h), release);
            codes.set(code, (codes.get(code) ?? 0) + 1);
          });
        } catch (e) {
          failures.push((e as Error).message.split("\n")[0]);
        }
      }
    }
    expect(failures).toEqual([]);
    for (const code of codes.keys()) expect(code === "ok" || /^E_[A-Z]+$/.test(code)).toBe(true);
    expect(codes.get("E_VALUE")).toBeGreaterThan(20);
    expect(codes.get("E_TYPE")).toBeGreaterThan(20);
    // The models the calls went to are intact.
    expect(lstm.forward(x).output.data.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(seq.trainStep(batch, adam).loss)).toBe(true);
    expect(esn.generate(3).data.every(Number.isFinite)).toBe(true);
    expect(lm.sample({ length: 4 })).toHaveLength(4);
  });

  it("init with hostile options rejects with a RecurError (or resolves) and the core keeps working", async () => {
    const failures: string[] = [];
    for (const [i, v] of HOSTILE.entries()) {
      for (const [k, options] of [v, { wasm: v }, { threads: v }, { maxMemoryMB: v }, { backend: v }].entries()) {
        try {
          await R.init(options as R.InitOptions);
        } catch (e) {
          if (!(e instanceof R.RecurError)) failures.push(`HOSTILE[${i}], form ${k}: ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(R.backendInfo().heapUsedBytes).toBeGreaterThan(0);
  });

  it("the probe's cases: sizes no memory holds fail at once with E_MEMORY, misuse with a typed error naming the option", () => {
    expect(thrown(() => new R.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 1e12 })).code).toBe("E_MEMORY");
    expect(thrown(() => new ESN({ units: 1e9 })).code).toBe("E_MEMORY");
    expect(thrown(() => esn.generate(1e12)).code).toBe("E_MEMORY");
    expect(thrown(() => R.zeros([1e10, 1e10])).code).toBe("E_MEMORY");
    expect(thrown(() => R.matmul({ shape: [100_000, 1], data: new Float32Array(100_000) }, { shape: [1, 100_000], data: new Float32Array(100_000) })).code).toBe("E_MEMORY");
    expect(thrown(() => lm.sample({ length: 1e12 })).code).toBe("E_VALUE");
    expect(thrown(() => seq.sample({ prime: null as never, length: 3 })).code).toBe("E_TYPE");
    expect(thrown(() => lm.sample({ prime: null as never, length: 3 })).code).toBe("E_TYPE");
    const other = new R.SequenceModel({ vocabSize: 4, hiddenSize: 5, outputSize: 4 });
    const foreign = new R.SGD(other, { lr: 0.1 });
    expect(thrown(() => seq.trainStep(batch, foreign)).message).toMatch(/updates none of this model's parameters/);
    foreign.dispose();
    other.dispose();
    expect(thrown(() => lstm.step({ shape: [1, 3], data: new Float32Array(3) }, gru.initialState(1))).message).toMatch(/cell state/);
    expect(thrown(() => seq.trainStep({ input: batch.input, target: { shape: [3, 2], data: [0, 1, 2.5, 3, 0, 1] } }, adam)).message).toMatch(/integer class ids, got 2.5/);
    expect(thrown(() => R.saveModel({} as R.SaveableModel)).code).toBe("E_TYPE");
    for (const bad of [null, "x", new Float32Array(4), Promise.resolve(new Uint8Array(8))]) expect(thrown(() => R.readSafetensors(bad as Uint8Array)).code).toBe("E_TYPE");
    // Found by `npm run fuzz`: a hostile seed used to fail after the embedding reserved its block.
    const before = R.backendInfo().heapUsedBytes;
    expect(thrown(() => new R.SequenceModel({ vocabSize: 5, hiddenSize: 8, outputSize: 5, seed: {} as never })).message).toMatch(/seed/);
    expect(thrown(() => new R.Linear({ inFeatures: 2, outFeatures: 2, seed: "x" as never })).code).toBe("E_VALUE");
    expect(R.backendInfo().heapUsedBytes).toBe(before);
    expect(thrown(() => R.tensor([2], null as never)).code).toBe("E_TYPE");
    const named = thrown(() => new R.SequenceModel({ vocabSize: 5, hiddenSize: 8, outputSize: 0 })).message;
    expect(named).toMatch(/SequenceModel: outputSize/);
    expect(named).not.toMatch(/Linear|outFeatures/);
  });

  it("a model over init's maxMemoryMB fails with E_MEMORY naming the limit; raising it lets the model in", async () => {
    const info = await R.init({ maxMemoryMB: 8 });
    expect(info.heapUsedBytes).toBeLessThan(8 * 2 ** 20);
    // 1.6M parameters: 6.3 MB, and as much again for their packed copies.
    const err = thrown(() => new R.LSTM({ inputSize: 256, hiddenSize: 512 }));
    expect(err.code).toBe("E_MEMORY");
    expect(err.message).toMatch(/limit of 8\.0 MB.*maxMemoryMB/);
    // B is copied into Wasm memory and packed: 9 MB. (Products of at most 8 rows read B in
    // 128 kB blocks instead, so this one has 16 rows.)
    expect(thrown(() => R.matmul({ shape: [16, 1500], data: new Float32Array(16 * 1500) }, { shape: [1500, 1500], data: new Float32Array(1500 * 1500) })).code).toBe("E_MEMORY");
    // The small-product path holds one block of B, not all of it: it fits.
    expect(R.matmul({ shape: [1, 1500], data: new Float32Array(1500) }, { shape: [1500, 1500], data: new Float32Array(1500 * 1500) }).shape).toEqual([1, 1500]);
    await R.init({ maxMemoryMB: 4096 });
    const m = new R.LSTM({ inputSize: 256, hiddenSize: 512 });
    m.dispose();
  });
});
