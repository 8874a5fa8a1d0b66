// Who owns Wasm memory: every object that reserves a block gives it back on dispose(), when it is
// garbage-collected without dispose() (one FinalizationRegistry, src/memory.ts WasmBlocks), and
// at once when its constructor throws. Measured on the heap's used bytes, never assumed.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Adam, backendInfo, init, LSTM, SequenceModel, type Tensor } from "../src/index.js";
import { ESN } from "../src/esn/index.js";
import { thrown } from "./helpers/errors.js";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

beforeAll(async () => {
  await init();
});

const used = (): number => backendInfo().heapUsedBytes;

describe("a constructor that throws keeps no Wasm memory", () => {
  it("recurrent models, optimizers, sequence models and ESNs that fail give back what they reserved", () => {
    const before = used();
    expect(thrown(() => new LSTM({ inputSize: 3, hiddenSize: 4, init: "xavier" as never })).code).toBe("E_VALUE");
    // The LSTM and the embedding are built before the head's options fail.
    expect(thrown(() => new SequenceModel({ vocabSize: 7, hiddenSize: 16, outputSize: 0 })).code).toBe("E_VALUE");
    const model = new LSTM({ inputSize: 3, hiddenSize: 4 });
    model.parameterRegions(); // the model's gradient block, made on first use, is the model's
    const withModel = used();
    expect(thrown(() => new Adam(model, { lr: 1e-3, betas: [2, 0.5] })).code).toBe("E_VALUE");
    expect(used()).toBe(withModel);
    model.dispose();
    // An ESN that builds its reservoir in the constructor (inputDim given) and then fails: an
    // all-zero W has no spectral radius to scale to.
    const zero: Tensor = { shape: [5, 5], data: new Float32Array(25) };
    expect(thrown(() => new ESN({ units: 5, inputDim: 1, spectralRadius: 0.9, weights: { W: zero } })).message).toMatch(/spectral radius 0/);
    expect(used()).toBe(before);
  });
});

describe("garbage collection returns the Wasm memory of objects never disposed", () => {
  it("500 trained models with optimizers, learned initial states and ESNs, dropped without dispose, give the heap back", async () => {
    // A child process, so that `gc()` exists (--expose-gc) and nothing else holds the objects.
    const script = `
      const { init, backendInfo, LSTM, GRU, SequenceModel, Adam, SGD } = await import(${JSON.stringify(dist + "index.js")});
      const { ESN } = await import(${JSON.stringify(dist + "esn/index.js")});
      await init();
      const used = () => backendInfo().heapUsedBytes;
      const base = used();
      const x = { shape: [6, 3, 4], data: Float32Array.from({ length: 72 }, (_, i) => Math.sin(i)) };
      const ids = { shape: [6, 3], data: Array.from({ length: 18 }, (_, i) => i % 5) };
      const batch = { input: ids, target: { shape: [6, 3], data: ids.data.map((v) => (v + 1) % 5) } };
      const u = Float32Array.from({ length: 201 }, (_, t) => Math.sin(0.3 * t));
      function churn(i) {
        // A recurrent model trained by hand: parameters, inference and training workspaces,
        // the gradient block; an optimizer over it.
        const m = i % 2 ? new LSTM({ inputSize: 4, hiddenSize: 9, numLayers: 2, seed: i }) : new GRU({ inputSize: 4, hiddenSize: 9, bidirectional: true, seed: i });
        m.forward(x);
        const r = m.forwardTrain(x);
        m.backward({ output: { shape: r.output.shape, data: r.output.data.map(() => 1) } });
        new Adam(m, { lr: 1e-3, amsgrad: true }).step();
        // A sequence model with learned initial states (embedding, LSTM, head), and its optimizer.
        const s = new SequenceModel({ vocabSize: 5, hiddenSize: 8, outputSize: 5, trainableInitialState: true, seed: i });
        s.trainStep(batch, new SGD(s, { lr: 0.1, momentum: 0.9 }));
        if (i % 10 === 0) {
          const esn = new ESN({ units: 40, seed: i, feedbackScaling: 0.1 });
          esn.fit({ shape: [200, 1], data: u.subarray(0, 200) }, { shape: [200, 1], data: u.subarray(1) }, { washout: 10 });
          esn.fitOnline({ shape: [100, 1], data: u.subarray(0, 100) }, { shape: [100, 1], data: u.subarray(1, 101) });
        }
      }
      let peak = base;
      for (let i = 0; i < 500; i++) {
        churn(i);
        peak = Math.max(peak, used());
      }
      let rounds = 0;
      for (; rounds < 200 && used() > base; rounds++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      console.log(JSON.stringify({ base, peak, after: used(), rounds }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { timeout: 100_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { base: number; peak: number; after: number; rounds: number };
    // The objects really held memory while they lived (some of it was collected along the way)...
    expect(r.peak - r.base).toBeGreaterThan(1 << 20);
    // ...and every byte of it came back once they were collected.
    expect(r.after).toBe(r.base);
  });
});
