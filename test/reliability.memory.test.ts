// Drop without dispose, measured: thousands of trained models, their optimizers (fit, trainStep,
// hand-made steps), loads that fail halfway and constructors that throw, never disposed. After
// garbage collection the Wasm heap is back where it started and the JS heap has not grown.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SCALE } from "./helpers/fuzz.js";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

describe("dropping models without dispose (--expose-gc child process)", () => {
  it("trained models, optimizers, failed loads and failed constructors give every byte back, and the JS heap stays flat", async () => {
    const rounds = 400 * SCALE;
    const script = `
      const R = await import(${JSON.stringify(dist + "index.js")});
      const { CharLM } = await import(${JSON.stringify(dist + "char-lm/index.js")});
      await R.init();
      const used = () => R.backendInfo().heapUsedBytes;
      const settle = async () => {
        for (let i = 0; i < 30; i++) {
          globalThis.gc();
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      const ids = { shape: [5, 2], data: [0, 1, 2, 3, 0, 1, 2, 3, 0, 1] };
      const batch = { input: ids, target: { shape: [5, 2], data: ids.data.map((v) => (v + 1) % 4) } };
      const x = { shape: [4, 2, 3], data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)) };
      // A character-model checkpoint whose optimizer state is broken: the load builds the model,
      // then fails on the optimizer.
      const lm = CharLM.fromText("abcd", { hiddenSize: 5, embeddingDim: 3 });
      lm.optimizer = new R.Adam(lm.model, { lr: 1e-2 });
      const good = lm.save({ checkpoint: true });
      lm.dispose();
      const { tensors, metadata } = R.readSafetensors(good, { keepTypes: true });
      const broken = R.writeSafetensors(tensors, { ...metadata, "recur.optimizer": metadata["recur.optimizer"].replace('"lr":0.01', '"lr":-1') });
      async function churn(i) {
        const s = new R.SequenceModel({ vocabSize: 4, hiddenSize: 6, outputSize: 4, seed: i, trainableInitialState: i % 3 === 0 });
        if (i % 2) await R.fit(s, { optimizer: new R.Adam(s, { lr: 1e-2, amsgrad: true }), data: [batch], steps: 2, clipGradNorm: 1 });
        else s.trainStep(batch, new R.RMSprop(s, { lr: 1e-2, momentum: 0.9, centered: true }));
        const m = new R.GRU({ inputSize: 3, hiddenSize: 5, bidirectional: i % 4 === 0, seed: i });
        const r = m.forwardTrain(x);
        m.backward({ output: { shape: r.output.shape, data: r.output.data.map(() => 1) } });
        new R.SGD(m, { lr: 0.1, momentum: 0.5 }).step();
        try {
          CharLM.load(broken);
          throw new Error("the broken checkpoint loaded");
        } catch (e) {
          if (!(e instanceof R.RecurError)) throw e;
        }
        try {
          new R.SequenceModel({ vocabSize: 4, hiddenSize: 6, outputSize: 4, lossUnits: [9] });
        } catch (e) {
          if (!(e instanceof R.RecurError)) throw e;
        }
      }
      const base = used();
      let peak = base;
      const warm = Math.floor(${rounds} / 5);
      for (let i = 0; i < warm; i++) {
        await churn(i);
        peak = Math.max(peak, used());
      }
      await settle();
      const jsMid = process.memoryUsage().heapUsed;
      for (let i = warm; i < ${rounds}; i++) {
        await churn(i);
        peak = Math.max(peak, used());
      }
      let rounds = 0;
      for (; rounds < 200 && used() > base; rounds++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await settle();
      console.log(JSON.stringify({ base, peak, after: used(), rounds, jsMid, jsEnd: process.memoryUsage().heapUsed, wasm: R.backendInfo().memoryBytes }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { timeout: 600_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { base: number; peak: number; after: number; jsMid: number; jsEnd: number; wasm: number };
    console.log(`${rounds} rounds: Wasm heap ${r.base} -> peak ${r.peak} -> ${r.after} bytes after GC; JS heap ${(r.jsMid / 2 ** 20).toFixed(1)} -> ${(r.jsEnd / 2 ** 20).toFixed(1)} MB; Wasm memory ${(r.wasm / 2 ** 20).toFixed(1)} MB`);
    // The objects really held memory while they lived...
    expect(r.peak - r.base).toBeGreaterThan(100_000);
    // ...every byte of it came back...
    expect(r.after).toBe(r.base);
    // ...and nothing accumulates on the JS side either (4/5 of the rounds ran after jsMid).
    expect(r.jsEnd - r.jsMid).toBeLessThan(8 * 2 ** 20);
  });
});
