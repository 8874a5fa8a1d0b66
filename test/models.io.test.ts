import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { backendInfo, GRU, init, loadModel, LSTM, readSafetensors, RecurError, RNN, saveModel, withoutPrefix, writeSafetensors, type RecurrentModel } from "../src/index.js";
import { fixturesDir, loadTorchCase } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

describe("weight files", () => {
  it("saveModel/loadModel round-trips every model kind bit-exactly", () => {
    const models: RecurrentModel[] = [
      new LSTM({ inputSize: 3, hiddenSize: 6, numLayers: 2, projSize: 4, peepholes: true, bidirectional: true, seed: 1 }),
      new GRU({ inputSize: 3, hiddenSize: 5, resetAfter: false, batchFirst: true, seed: 2 }),
      new RNN({ inputSize: 2, hiddenSize: 7, nonlinearity: "relu", bias: false, seed: 3 }),
    ];
    for (const m of models) {
      const bytes = saveModel(m, { note: "test" });
      expect(readSafetensors(bytes).metadata.note).toBe("test");
      const loaded = loadModel(bytes);
      expect(loaded.type).toBe(m.constructor.name);
      expect(loaded.model).toBeInstanceOf(m.constructor);
      const back = loaded.model as RecurrentModel;
      expect(back.config).toEqual(m.config);
      const x = randn(m.config.batchFirst ? [2, 5, m.config.inputSize] : [5, 2, m.config.inputSize], 9);
      expect(back.forward(x).output.data).toEqual(m.forward(x).output.data);
      back.dispose();
      m.dispose();
    }
  });

  it("the result's type narrows the model; an expected type is checked before anything is built", () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 4 });
    const bytes = saveModel(lstm);
    const loaded = loadModel(bytes);
    // Compile-time: inside the check, loaded.model is an LSTM (projSize exists only on LSTM's config).
    if (loaded.type !== "LSTM") throw new Error(`expected an LSTM, got ${loaded.type}`);
    expect(loaded.model.config.projSize).toBe(0);
    loaded.model.dispose();
    const { model } = loadModel(bytes, "LSTM");
    expect(model.config.hiddenSize).toBe(3);
    model.dispose();
    const used = backendInfo().heapUsedBytes;
    expect(() => loadModel(bytes, "GRU")).toThrow(/loadModel: the file.s model type is LSTM, not GRU/);
    expect(backendInfo().heapUsedBytes).toBe(used);
    lstm.dispose();
  });

  it("a plain PyTorch state dict (no config) loads with loadStateDict, even nested under a prefix", () => {
    const c = loadTorchCase("lstm_i5_h3_t7_b4");
    const nested = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [`encoder.lstm.${k}`, v]));
    const bytes = writeSafetensors(nested);
    expect(() => loadModel(bytes)).toThrow(/no recur model config/);
    const model = new LSTM({ inputSize: 5, hiddenSize: 3 });
    model.loadStateDict(withoutPrefix(readSafetensors(bytes).tensors, "encoder.lstm."));
    const r = model.forward(c.input, { h0: c.h0, c0: c.c0 });
    expect(Math.max(...r.output.data.map((v, i) => Math.abs(v - c.output.data[i])))).toBeLessThan(1e-5);
    model.dispose();
  });

  it("a corrupt or truncated file is a RecurError and allocates nothing", () => {
    const m = new GRU({ inputSize: 2, hiddenSize: 3 });
    const bytes = saveModel(m);
    m.dispose();
    const used = backendInfo().heapUsedBytes;
    for (const bad of [bytes.subarray(0, 5), bytes.subarray(0, bytes.length - 4)]) {
      expect(() => loadModel(bad)).toThrow(RecurError);
    }
    // A config whose weights do not fit: the half-built model must be freed.
    const wrong = writeSafetensors({ weight_ih_l0: { shape: [1], data: new Float32Array(1) } }, { "recur.model": JSON.stringify({ type: "GRU", config: { inputSize: 2, hiddenSize: 3 } }) });
    expect(() => loadModel(wrong)).toThrow(/missing keys/);
    expect(backendInfo().heapUsedBytes).toBe(used);
  });
});

describe("state dicts and bad input", () => {
  it("loadStateDict lists every problem in one error and leaves the model unchanged", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 5 });
    const before = m.stateDict();
    const sd = m.stateDict();
    delete (sd as Record<string, unknown>).bias_hh_l0;
    sd.extra = { shape: [1], data: new Float32Array(1) };
    sd.weight_hh_l0 = { shape: [4, 4], data: new Float32Array(16) };
    sd.weight_ih_l0.data[3] = NaN;
    let err: RecurError | undefined;
    try {
      m.loadStateDict(sd);
    } catch (e) {
      err = e as RecurError;
    }
    expect(err).toBeInstanceOf(RecurError);
    expect(err!.code).toBe("E_KEY");
    for (const part of ["missing keys: bias_hh_l0", "unexpected keys: extra", "weight_hh_l0: expected shape [16, 4]", "weight_ih_l0: non-finite value NaN at index 3"]) {
      expect(err!.message).toContain(part);
    }
    const after = m.stateDict();
    for (const k of Object.keys(before)) expect(after[k].data).toEqual(before[k].data);
    m.dispose();
  });

  it("shapes, lengths and states are checked with errors naming the argument", () => {
    const m = new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
    const x = randn([5, 2, 3], 1);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof RecurError ? `${e.code}: ${e.message}` : `not a RecurError: ${String(e)}`;
      }
      return undefined;
    };
    expect(code(() => m.forward(randn([5, 2, 4], 1)))).toMatch(/^E_SHAPE: forward: x has 4 features per step, the model expects inputSize = 3/);
    expect(code(() => m.forward({ shape: [5, 2, 3], data: new Float64Array(30) as never }))).toMatch(/^E_TYPE: forward: x.data must be a Float32Array, got Float64Array/);
    expect(code(() => m.forward(x, { lengths: [5, 6] }))).toMatch(/^E_VALUE: forward: lengths\[1\] must be an integer in 1..5, got 6/);
    expect(code(() => m.forward(x, { lengths: [5] }))).toMatch(/^E_SHAPE: forward: lengths has 1 entries, the batch has 2/);
    expect(code(() => m.forward(x, { h0: randn([1, 2, 4], 2) }))).toMatch(/^E_SHAPE: forward: h0 must have shape \[2, 2, 4\], got \[1, 2, 4\]/);
    expect(code(() => m.forward(x, { c0: randn([2, 2, 4], 2) }))).toMatch(/^E_VALUE: forward: c0 is only for LSTM/);
    const h0 = randn([2, 2, 4], 3);
    h0.data[5] = Infinity;
    expect(code(() => m.forward(x, { h0 }))).toMatch(/^E_VALUE: forward: h0 has a non-finite value Infinity at index 5/);
    expect(code(() => new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 4 }))).toMatch(/^E_VALUE: LSTM: projSize must be an integer in 0..hiddenSize-1/);
    expect(code(() => new RNN({ inputSize: 0, hiddenSize: 4 }))).toMatch(/^E_VALUE: RNN: inputSize must be an integer >= 1, got 0/);
    expect(code(() => new RNN({ inputSize: 2, hiddenSize: 4, nonlinearity: "gelu" as never }))).toMatch(/^E_VALUE: RNN: nonlinearity must be "tanh" or "relu"/);
    m.dispose();
    expect(code(() => m.forward(x))).toMatch(/^E_STATE: GRU: the model was disposed/);
  });

  it("unbatched input works like a batch of one", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 2 });
    const x = randn([6, 3], 4);
    const un = m.forward(x);
    const batched = m.forward({ shape: [6, 1, 3], data: x.data });
    expect(un.output.shape).toEqual([6, 4]);
    expect(un.hN.shape).toEqual([1, 4]);
    expect(un.output.data).toEqual(batched.output.data);
    m.dispose();
  });

  it("seeded initialisation is reproducible, within PyTorch's bound, and orthogonal on request", () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 8, seed: 42 }).stateDict();
    const b = new LSTM({ inputSize: 3, hiddenSize: 8, seed: 42 }).stateDict();
    const c = new LSTM({ inputSize: 3, hiddenSize: 8, seed: 43 }).stateDict();
    expect(a.weight_hh_l0.data).toEqual(b.weight_hh_l0.data);
    expect(a.weight_hh_l0.data).not.toEqual(c.weight_hh_l0.data);
    const bound = 1 / Math.sqrt(8);
    for (const t of Object.values(a)) expect(t.data.every((v) => Math.abs(v) <= bound)).toBe(true);
    const o = new GRU({ inputSize: 3, hiddenSize: 8, init: "orthogonal", seed: 1 }).stateDict().weight_hh_l0.data;
    for (let g = 0; g < 3; g++) {
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) {
          let dot = 0;
          for (let k = 0; k < 8; k++) dot += o[(g * 8 + i) * 8 + k] * o[(g * 8 + j) * 8 + k];
          expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-5);
        }
      }
    }
  });

  it("dispose returns the memory; build/dispose cycles leave the heap flat", async () => {
    const warm = new LSTM({ inputSize: 8, hiddenSize: 16 });
    warm.forward(randn([4, 2, 8], 1));
    warm.dispose();
    const before = backendInfo();
    for (let i = 0; i < 200; i++) {
      const m = new LSTM({ inputSize: 8, hiddenSize: 16, bidirectional: true });
      m.forward(randn([4, 2, 8], 1));
      const r = m.forwardTrain(randn([4, 2, 8], 1));
      m.backward({ output: r.output });
      m.dispose();
    }
    const after = backendInfo();
    expect(after.heapUsedBytes).toBe(before.heapUsedBytes);
    expect(after.memoryBytes).toBe(before.memoryBytes);
  });
});

describe("recur parity CLI", () => {
  const cli = join(import.meta.dirname, "..", "dist", "cli", "main.js");

  it("checks fixture files, prints N passed, M failed, and fails on a bad case", () => {
    const out = execFileSync(process.execPath, [cli, "parity", join(fixturesDir, "torch", "gru_i5_h3_t7_b4.json"), join(fixturesDir, "torch", "rnn_tanh_packed_i5_h16_t7_b4.json")], { encoding: "utf8" });
    expect(out).toMatch(/^PASS gru_i5_h3_t7_b4 {2}9 tensors, worst [\w ]+ \d\.\de-\d+ \(tolerance \d\.\de-\d\)$/m);
    expect(out.trim().split("\n").at(-1)).toBe("2 passed, 0 failed");

    const dir = mkdtempSync(join(tmpdir(), "recur-parity-"));
    const c = JSON.parse(JSON.stringify(loadTorchCase("rnn_tanh_i5_h3_t7_b4"), (_k, v) => (v instanceof Float32Array ? Array.from(v) : v)));
    c.output.data[0] += 0.01; // a wrong reference must fail
    mkdirSync(join(dir, "nested", "deeper"), { recursive: true });
    writeFileSync(join(dir, "nested", "deeper", "broken.json"), JSON.stringify(c));
    writeFileSync(join(dir, "garbage.json"), "{ not json");
    writeFileSync(join(dir, "notes.txt"), "not a case");
    writeFileSync(join(dir, "series.json"), JSON.stringify({ name: "series", values: [1, 2] }));
    const bad = spawnSync(process.execPath, [cli, "parity", "--forward-only", dir], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    // The folder is searched to any depth; the failing tensor gets a line of its own.
    expect(bad.stdout).toMatch(/^FAIL rnn_tanh_i5_h3_t7_b4 {2}1 of 2 tensors over tolerance\n {4}output {2}1\.0e-2 > 1\.0e-5$/m);
    expect(bad.stdout).toMatch(/^FAIL .*garbage\.json: cannot read/m);
    expect(bad.stdout).toMatch(/^SKIP .*series\.json: not a reference case/m);
    expect(bad.stdout.trim().split("\n").at(-1)).toBe("0 passed, 2 failed");
    // A folder of other JSON only holds no case: that fails too.
    const none = spawnSync(process.execPath, [cli, "parity", join(dir, "series.json")], { encoding: "utf8" });
    expect(none.status).toBe(1);
    expect(none.stderr.trim()).toMatch(/^recur parity: no reference cases in .*series\.json \(1 other JSON file\)$/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps lines short: every tensor on its own line only with --verbose", () => {
    const file = join(fixturesDir, "torch", "lstm_proj_l2_batchfirst_i5_h16_p8_t7_b4.json");
    const short = execFileSync(process.execPath, [cli, "parity", file], { encoding: "utf8" });
    // The summary would make the line 107 characters: it wraps after the name.
    expect(short.trim().split("\n")).toEqual([
      "PASS lstm_proj_l2_batchfirst_i5_h16_p8_t7_b4",
      expect.stringMatching(/^ {4}17 tensors, worst grad \w+ \d\.\de-\d \(tolerance \d\.\de-\d\)$/),
      "1 passed, 0 failed",
    ]);
    const verbose = execFileSync(process.execPath, [cli, "parity", "--verbose", file], { encoding: "utf8" }).trim().split("\n");
    expect(verbose.length).toBeGreaterThan(15);
    expect(verbose).toContainEqual(expect.stringMatching(/^ {4}grad weight_hr_l1 +\d\.\de-\d+ <= \d\.\de-\d$/));
    for (const line of [...short.split("\n"), ...verbose]) expect(line.length).toBeLessThanOrEqual(100);
  });
});
