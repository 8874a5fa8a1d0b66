/**
 * ESN weight files: saveModel / loadModel round trips (reservoir, readout, state, noise generator)
 * continue bit for bit; bad files and state dicts are RecurErrors that leave the model as it was.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mackeyGlass, toTensor } from "../src/datasets/index.js";
import { ESN, type ESNOptions } from "../src/esn/index.js";
import { loadCheckpoint } from "../src/checkpoint/index.js";
import { loadModel, saveModel } from "../src/io/model-file.js";
import { readSafetensors, writeSafetensors, type StoredTensor } from "../src/io/safetensors.js";
import { RecurError } from "../src/errors.js";
import { init } from "../src/runtime.js";
import type { Tensor } from "../src/tensor.js";

beforeAll(async () => {
  await init();
});

const mg = mackeyGlass({ length: 1400 });
const seq = (a: number, b: number): Tensor => toTensor(mg.subarray(a, b));

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

function expectRecurError(fn: () => unknown, code: string, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, "a RecurError").toBeInstanceOf(RecurError);
  expect((err as RecurError).code).toBe(code);
  expect((err as Error).message).toMatch(pattern);
}

const cases: [string, ESNOptions][] = [
  ["sparse float32 (4-row blocks)", { units: 120, connectivity: 0.1 }],
  ["dense float32 (packed with W_in)", { units: 60, sparse: false, inputConnectivity: 1 }],
  ["sparse float64 (CSR)", { units: 70, precision: "float64" }],
  ["dense float64", { units: 50, precision: "float64", sparse: false }],
  ["deep: a sparse layer then a dense one", { layers: [{ units: 50 }, { units: 40, sparse: false, leakRate: 0.8 }] }],
  ["output feedback with state noise at every run", { units: 70, feedbackScaling: 0.5, outputDim: 1, noise: 1e-3, noiseWhen: "always" }],
  ["readout without the input", { units: 40, readoutInput: false, biasScaling: 0 }],
];

describe("ESN weight files", () => {
  for (const [name, options] of cases) {
    it(`${name}: the loaded model continues bit for bit, and saves to the same bytes`, () => {
      const esn = new ESN({ leakRate: 0.3, spectralRadius: 1.1, readoutInput: true, seed: 3, ...options });
      esn.fit(seq(0, 800), seq(1, 801), { washout: 50 });
      const bytes = saveModel(esn);
      const loaded = loadModel(bytes, "ESN").model;
      expect(loaded).toBeInstanceOf(ESN);
      expect(loaded.isFitted).toBe(true);
      expect(saveModel(loaded)).toEqual(bytes);
      expect(loaded.layers!.map((l) => l.storage)).toEqual(esn.layers!.map((l) => l.storage));
      // Driven, then free-running: state, previous output, readout and noise all carry over.
      expect(sameBits(loaded.predict(seq(800, 1000)).data, esn.predict(seq(800, 1000)).data)).toBe(true);
      expect(sameBits(loaded.generate(60).data, esn.generate(60).data)).toBe(true);
      esn.dispose();
      loaded.dispose();
    });
  }

  it("stores the readout in float64 and the state in the model's precision, under stable names", () => {
    const esn = new ESN({ units: 30, sparse: false, seed: 1, precision: "float64" });
    esn.fit(seq(0, 300), seq(1, 301));
    const { tensors, metadata } = readSafetensors(saveModel(esn), { keepTypes: true });
    expect(Object.keys(tensors).sort()).toEqual(["readout.Wout", "reservoir.0.W", "reservoir.0.Win", "reservoir.0.bias", "state.rng", "state.x", "state.y"]);
    expect(tensors["readout.Wout"].data).toBeInstanceOf(Float64Array);
    expect(tensors["readout.Wout"].shape).toEqual([1, 31]); // [1; x]: readoutInput defaults to false
    expect(Array.from(tensors["readout.Wout"].data)).toEqual(Array.from(esn.getReadout().data));
    expect(tensors["state.x"].data).toBeInstanceOf(Float64Array);
    expect(tensors["state.rng"].data).toBeInstanceOf(Uint32Array);
    const spec = JSON.parse(metadata["recur.model"]);
    expect(spec.type).toBe("ESN");
    expect(spec.config).toMatchObject({ version: 1, inputDim: 1, outputDim: 1, precision: "float64", seed: 1 });
    esn.dispose();
  });

  it("a reservoir that is built but has no readout yet, and one not built at all", () => {
    const built = new ESN({ units: 40, seed: 2, inputDim: 1 });
    const states = built.collectStates(seq(0, 100)).data;
    const a = loadModel(saveModel(built), "ESN").model;
    expect(a.isFitted).toBe(false);
    expect(sameBits(a.collectStates(seq(100, 200)).data, built.collectStates(seq(100, 200)).data)).toBe(true);
    expect(states.length).toBe(4000);
    // Not built: the file holds the config only; the loaded model draws the same reservoir later.
    const lazy = new ESN({ units: 40, seed: 2 });
    const b = loadModel(saveModel(lazy), "ESN").model;
    expect(b.layers).toBeUndefined();
    lazy.fit(seq(0, 300), seq(1, 301));
    b.fit(seq(0, 300), seq(1, 301));
    expect(sameBits(b.predict(seq(300, 400)).data, lazy.predict(seq(300, 400)).data)).toBe(true);
    for (const m of [built, a, lazy, b]) m.dispose();
  });

  it("an ESN file of another version, or another recur file format, is E_FORMAT naming the versions", () => {
    const esn = new ESN({ units: 20, seed: 1 });
    esn.fit(seq(0, 200), seq(1, 201));
    const { tensors, metadata } = readSafetensors(saveModel(esn), { keepTypes: true });
    const spec = JSON.parse(metadata["recur.model"]);
    const v2 = writeSafetensors(tensors, { ...metadata, "recur.model": JSON.stringify({ ...spec, config: { ...spec.config, version: 2 } }) });
    expectRecurError(() => loadModel(v2), "E_FORMAT", /ESN of file version 2.*reads ESN version 1/);
    const unversioned = writeSafetensors(tensors, { ...metadata, "recur.model": JSON.stringify({ ...spec, config: { ...spec.config, version: undefined } }) });
    expectRecurError(() => loadModel(unversioned), "E_FORMAT", /ESN of file version undefined/);
    const format = writeSafetensors(tensors, { ...metadata, "recur.version": "7" });
    expectRecurError(() => loadModel(format), "E_FORMAT", /format version "7".*reads version 1/);
    esn.dispose();
  });

  it("a bad state dict lists every problem and leaves the model unchanged", () => {
    const esn = new ESN({ units: 30, seed: 4, readoutInput: true });
    esn.fit(seq(0, 300), seq(1, 301));
    const sd = esn.stateDict();
    const before = saveModel(esn);
    const bad: Record<string, StoredTensor> = { ...sd, "reservoir.0.bias": { shape: [29], data: new Float32Array(29) }, extra: { shape: [1], data: new Float32Array(1) } };
    delete bad["state.x"];
    const nan = new Float32Array(sd["reservoir.0.Win"].data);
    nan[3] = NaN;
    bad["reservoir.0.Win"] = { shape: sd["reservoir.0.Win"].shape, data: nan };
    bad["reservoir.0.W.crow_indices"] = { shape: [31], data: new Int32Array(31).fill(5) };
    let message = "";
    try {
      esn.loadStateDict(bad);
    } catch (e) {
      expect(e).toBeInstanceOf(RecurError);
      expect((e as RecurError).code).toBe("E_KEY");
      message = (e as Error).message;
    }
    for (const part of ["missing key state.x", "reservoir.0.bias has shape [29]", "unexpected key extra", "reservoir.0.Win holds a non-finite value at index 3", "crow_indices must rise from 0"]) expect(message).toContain(part);
    expect(saveModel(esn)).toEqual(before);
    // A file whose tensors are bad fails to load with the same error and frees what it built.
    const { metadata } = readSafetensors(before);
    expectRecurError(() => loadModel(writeSafetensors({ ...sd, "state.x": { shape: [3], data: new Float32Array(3) } }, metadata)), "E_KEY", /state\.x has shape \[3\]/);
    esn.dispose();
  });

  it("loadStateDict rebuilds a live model from another one's weights", () => {
    const a = new ESN({ units: 50, seed: 5, readoutInput: true });
    const b = new ESN({ units: 50, seed: 6, readoutInput: true });
    a.fit(seq(0, 400), seq(1, 401));
    b.fit(seq(0, 400), seq(1, 401));
    b.loadStateDict(a.stateDict());
    expect(sameBits(b.predict(seq(400, 500)).data, a.predict(seq(400, 500)).data)).toBe(true);
    expectRecurError(() => new ESN({ units: 51, seed: 5 }).loadStateDict(a.stateDict()), "E_KEY", /reservoir\.0\.bias has shape \[50\].*expected \[51\]/);
    a.dispose();
    b.dispose();
  });

  it("loadCheckpoint reads a plain ESN file too", () => {
    const esn = new ESN({ units: 25, seed: 7, precision: "float64" });
    esn.fit(seq(0, 300), seq(1, 301));
    const { model } = loadCheckpoint(saveModel(esn));
    expect(sameBits((model as ESN).predict(seq(300, 350)).data, esn.predict(seq(300, 350)).data)).toBe(true);
    model.dispose();
    esn.dispose();
  });
});
