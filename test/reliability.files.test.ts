// Hostile files through every loader: seeded mutants of files recur writes (models of every
// kind, checkpoints, character models, ESNs) and of the ONNX and Keras fixtures. Each load ends
// in a RecurError or a model that works, and leaves no Wasm memory behind either way.
import { readFileSync, readdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Adam, GRU, init, loadModel, LSTM, readSafetensors, RNN, saveModel, SequenceModel, type Tensor } from "../src/index.js";
import { loadCheckpoint, optimizerFromState, saveCheckpoint } from "../src/checkpoint/index.js";
import { CharLM } from "../src/char-lm/index.js";
import { ESN } from "../src/esn/index.js";
import { loadKeras } from "../src/keras/index.js";
import { loadOnnx } from "../src/onnx/index.js";
import { joinSafetensors, mutateBytes, mutateSafetensors, noLeak, outcome, rng, SCALE, splitSafetensors } from "./helpers/fuzz.js";
import { thrown } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

const x3: Tensor = { shape: [2, 1, 3], data: Float32Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]) };

// Files recur writes, each with what "working" means for what it loads.
function recurFiles(): { name: string; bytes: Uint8Array }[] {
  const files: { name: string; bytes: Uint8Array }[] = [];
  const keep = <T extends { dispose(): void }>(m: T, f: (m: T) => Uint8Array, name: string): void => {
    files.push({ name, bytes: f(m) });
    m.dispose();
  };
  keep(new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, projSize: 2, peepholes: true }), saveModel, "LSTM");
  keep(new GRU({ inputSize: 3, hiddenSize: 4, bidirectional: true }), saveModel, "GRU");
  keep(new RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: "relu" }), saveModel, "RNN");
  const s = new SequenceModel({ vocabSize: 5, hiddenSize: 6, outputSize: 5, trainableInitialState: true });
  const adam = new Adam(s, { lr: 1e-2 });
  s.trainStep({ input: { shape: [3, 2], data: [0, 1, 2, 3, 4, 0] }, target: { shape: [3, 2], data: [1, 2, 3, 4, 0, 1] } }, adam);
  files.push({ name: "SequenceModel checkpoint", bytes: saveCheckpoint(s, adam) });
  adam.dispose();
  s.dispose();
  const lm = CharLM.fromText("abcab cab", { hiddenSize: 6, embeddingDim: 4 });
  lm.optimizer = new Adam(lm.model, { lr: 1e-2 });
  files.push({ name: "CharLM checkpoint", bytes: lm.save({ checkpoint: true }) });
  lm.dispose();
  const esn = new ESN({ units: 12, seed: 3 });
  const u = Float32Array.from({ length: 61 }, (_, t) => Math.sin(0.3 * t));
  esn.fit({ shape: [60, 1], data: u.subarray(0, 60) }, { shape: [60, 1], data: u.subarray(1) }, { washout: 5 });
  keep(esn, saveModel, "ESN");
  return files;
}

// Uses whatever a load returned, then frees it.
function exercise(v: unknown): void {
  const loaded = v instanceof CharLM ? v : ((v as { model?: unknown }).model ?? v);
  if (loaded instanceof LSTM || loaded instanceof GRU || loaded instanceof RNN) {
    if (loaded.config.inputSize === 3) expect(loaded.forward(x3).output.data.every(Number.isFinite)).toBe(true);
  } else if (loaded instanceof SequenceModel && loaded.options.vocabSize !== undefined) {
    loaded.predict({ input: { shape: [2, 1], data: [0, 1] } });
  } else if (loaded instanceof CharLM) {
    expect(typeof loaded.sample({ length: 3 })).toBe("string");
  }
  (loaded as { dispose(): void }).dispose();
}

describe("mutated files recur writes", () => {
  it("every mutant of every kind, through every loader, is a RecurError or a working model, and leaks nothing", () => {
    const codes = new Map<string, number>();
    const count = (c: string): void => void codes.set(c, (codes.get(c) ?? 0) + 1);
    const files = recurFiles();
    const rounds = 60 * SCALE;
    for (const [f, file] of files.entries()) {
      for (let i = 0; i < rounds; i++) {
        const seed = f * 100_000 + i;
        const bytes = mutateSafetensors(file.bytes, rng(seed));
        const label = `${file.name}, mutant seed ${seed}`;
        noLeak(label, () => {
          count(outcome(`${label} readSafetensors`, () => readSafetensors(bytes)));
          count(outcome(`${label} loadModel`, () => loadModel(bytes), exercise));
          count(
            outcome(`${label} loadCheckpoint`, () => {
              const ck = loadCheckpoint(bytes);
              if (!ck.optimizerState) return ck;
              try {
                optimizerFromState(ck.model as SequenceModel, ck.optimizerState).dispose();
              } catch (err) {
                ck.model.dispose();
                throw err;
              }
              return ck;
            }, exercise),
          );
          count(outcome(`${label} CharLM.load`, () => CharLM.load(bytes), exercise));
        });
      }
    }
    // The mutants reach past the first checks: files fail in several ways, and some still load.
    expect(codes.get("E_FORMAT")).toBeGreaterThan(10);
    expect(codes.get("ok")).toBeGreaterThan(10);
    expect([...codes.keys()].every((c) => c === "ok" || c.startsWith("E_"))).toBe(true);
  });

  it("the cases the outside probe found: hostile metadata fails at once, with nothing left behind", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const adam = new Adam(m, { lr: 1e-3 });
    const ck = saveCheckpoint(m, adam);
    adam.dispose();
    m.dispose();
    const { header, data } = splitSafetensors(ck);
    const h = JSON.parse(header) as { __metadata__: Record<string, string> };
    const withMeta = (key: string, value: string): Uint8Array => joinSafetensors(JSON.stringify({ ...h, __metadata__: { ...h.__metadata__, [key]: value } }), data);
    const cases: [string, string, RegExp][] = [
      ["recur.optimizer", "null", /must be a JSON object, got null/],
      ["recur.optimizer", "[]", /must be a JSON object, got an array/],
      ["recur.optimizer", '{"type":"toString","step":0,"hyperParameters":{"lr":1},"regions":1}', /unknown optimizer type "toString"/],
      ["recur.optimizer", '{"type":"constructor","step":0,"hyperParameters":{"lr":1},"regions":1}', /unknown optimizer type "constructor"/],
      ["recur.optimizer", '{"type":"Adam","step":0,"regions":1}', /has no "hyperParameters"/],
      ["recur.optimizer", `{"type":"Adam","step":0,"hyperParameters":{"lr":1},"regions":${2 ** 32}}`, /regions must be an integer from 0 to 4/],
      ["recur.optimizer", '{"type":"Adam","step":0,"hyperParameters":{"lr":1},"regions":1e9}', /regions must be an integer/],
      ["recur.model", "null", /must be a JSON object, got null/],
      ["recur.model", '{"type":"constructor","config":{}}', /unknown model type "constructor"/],
      ["recur.model", '{"type":"LSTM","config":{"inputSize":3,"hiddenSize":4,"numLayers":65536}}', /config needs more Wasm memory .* than its \d+ bytes of weights/],
      ["recur.model", "[".repeat(100_000) + "]".repeat(100_000), /nests deeper than 256 levels/],
    ];
    for (const [key, value, message] of cases) {
      const bytes = withMeta(key, value);
      noLeak(`${key} = ${value.slice(0, 40)}`, () => {
        const t = performance.now();
        const err = thrown(() => loadCheckpoint(bytes));
        expect(err.code).toBe("E_FORMAT");
        expect(err.message).toMatch(message);
        // "At once": a cheap bound on the work, far below the seconds a trusted size would take.
        expect(performance.now() - t).toBeLessThan(2000);
      });
    }
    const deepShape = joinSafetensors(`{"w":{"dtype":"F32","shape":${"[".repeat(100_000)}${"]".repeat(100_000)},"data_offsets":[0,0]}}`, new Uint8Array(0));
    expect(thrown(() => readSafetensors(deepShape)).message).toMatch(/nests deeper/);
  });
});

describe("mutated ONNX and Keras files", () => {
  const dir = new URL("./fixtures/", import.meta.url);
  const fixtures = (sub: string, ext: RegExp): { name: string; bytes: Uint8Array }[] =>
    readdirSync(new URL(`${sub}/`, dir))
      .filter((f) => ext.test(f))
      .map((f) => ({ name: `${sub}/${f}`, bytes: new Uint8Array(readFileSync(new URL(`${sub}/${f}`, dir))) }));

  it("loadOnnx and loadKeras end every mutant in a RecurError or a model, and leak nothing", () => {
    const loaders: [string, RegExp, (b: Uint8Array) => { dispose?(): void }][] = [
      ["onnx", /\.onnx$/, (b) => loadOnnx(b)],
      ["keras", /\.(keras|h5)$/, (b) => loadKeras(b)],
    ];
    let failures = 0;
    for (const [sub, ext, load] of loaders) {
      const files = fixtures(sub, ext);
      expect(files.length).toBeGreaterThan(2);
      for (const [f, file] of files.entries()) {
        for (let i = 0; i < 6 * SCALE; i++) {
          const seed = 7_000_000 + f * 10_000 + i;
          const bytes = mutateBytes(file.bytes, rng(seed));
          const label = `${file.name}, mutant seed ${seed}`;
          noLeak(label, () => {
            if (outcome(label, () => load(bytes), (m) => m.dispose?.()) !== "ok") failures++;
          });
        }
      }
    }
    expect(failures).toBeGreaterThan(5);
  });
});
