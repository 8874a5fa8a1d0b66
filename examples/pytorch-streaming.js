// Streaming inference of a model trained in PyTorch. The weights arrive as a .safetensors file
// of a PyTorch module's state dict, here
//
//   class Tagger(torch.nn.Module):
//       def __init__(self):
//           super().__init__()
//           self.gru = torch.nn.GRU(40, 64, num_layers=2)   # 40 features per audio frame
//           self.fc = torch.nn.Linear(64, 3)                 # 3 classes per frame
//   safetensors.torch.save_file(Tagger().state_dict(), "tagger.safetensors")
//
// (this example writes such a file itself, with seeded weights, so that it runs anywhere).
// recur reads it, strips the module prefixes, and runs the network one frame at a time as the
// frames arrive: step() keeps the state between calls and allocates no Wasm memory per step.
// The streamed outputs equal those of one pass over the whole sequence.
//
//   node examples/pytorch-streaming.js [--quick] [--json]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GRU, Linear, createRng, init, readSafetensors, withoutPrefix, writeSafetensors } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
await init();
const I = 40, H = 64, C = 3, LAYERS = 2;

// ---- the PyTorch side: a state dict under PyTorch's names and shapes ----
const rng = createRng(11);
const uniform = (shape, bound) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.uniform(-bound, bound)) });
const stateDict = {};
for (let l = 0; l < LAYERS; l++) {
  const k = 1 / Math.sqrt(H); // torch.nn.GRU's initialisation range
  stateDict[`gru.weight_ih_l${l}`] = uniform([3 * H, l === 0 ? I : H], k);
  stateDict[`gru.weight_hh_l${l}`] = uniform([3 * H, H], k);
  stateDict[`gru.bias_ih_l${l}`] = uniform([3 * H], k);
  stateDict[`gru.bias_hh_l${l}`] = uniform([3 * H], k);
}
stateDict["fc.weight"] = uniform([C, H], 1 / Math.sqrt(H));
stateDict["fc.bias"] = uniform([C], 1 / Math.sqrt(H));
const file = join(mkdtempSync(join(tmpdir(), "recur-")), "tagger.safetensors");
writeFileSync(file, writeSafetensors(stateDict, { format: "pt" }));

// ---- the recur side ----
const { tensors } = readSafetensors(readFileSync(file));
say(`read ${file}: ${Object.keys(tensors).join(", ")}`);
const gru = new GRU({ inputSize: I, hiddenSize: H, numLayers: LAYERS });
gru.loadStateDict(withoutPrefix(tensors, "gru.")); // rejects missing, extra or misshaped keys
const fc = new Linear({ inFeatures: H, outFeatures: C });
fc.loadStateDict(withoutPrefix(tensors, "fc."));

// A recording of T frames, streamed one frame at a time.
const T = quick ? 200 : 2000;
const frames = Float32Array.from({ length: T * I }, (_, i) => Math.sin(i * 0.37) + 0.3 * rng.normal());
const state = gru.initialState(1);
const streamed = new Float32Array(T * C);
const hidden = new Float32Array(H); // reused output buffer: nothing allocated per frame
const t0 = performance.now();
for (let t = 0; t < T; t++) {
  const { output } = gru.step({ shape: [1, I], data: frames.subarray(t * I, (t + 1) * I) }, state, hidden);
  streamed.set(fc.forward({ shape: [1, H], data: output.data }).data, t * C);
}
const usPerFrame = ((performance.now() - t0) * 1000) / T;

// The same recording in one call over the whole sequence.
const whole = gru.forward({ shape: [T, 1, I], data: frames });
const batch = fc.forward({ shape: [T, H], data: whole.output.data }).data;
let maxDiff = 0;
for (let i = 0; i < batch.length; i++) maxDiff = Math.max(maxDiff, Math.abs(batch[i] - streamed[i]));
const classes = Array.from({ length: T }, (_, t) => {
  const row = streamed.subarray(t * C, (t + 1) * C);
  return row.indexOf(Math.max(...row));
});
say(`streamed ${T} frames at ${usPerFrame.toFixed(1)} µs per frame (GRU 2x${H} + linear head)`);
say(`first frames' classes: ${classes.slice(0, 40).join("")}`);
say(`largest difference between streamed and whole-sequence outputs: ${maxDiff.toExponential(2)}`);
gru.dispose();
fc.dispose();
rmSync(dirname(file), { recursive: true });
if (json) console.log(JSON.stringify({ frames: T, usPerFrame, maxDiff, keys: Object.keys(tensors).length }));
