// The demo's Web Worker: trains and samples the character model and runs the ESN forecast off
// the page's thread, so the page stays responsive. Messages in: train, stop, sample, save, esn.
// Messages out: ready, started, progress, sample, done, saved, esn, error.
//
// recur is imported by the URL the page resolved for "recur-nn" (import maps do not apply in
// workers); in a bundled app this is simply `import { CharLM, ... } from "recur-nn"`.
const { CharLM, ESN, init, mackeyGlass, nrmse, toTensor } = await import(new URL(location.href).searchParams.get("recur"));

const ready = init();
let lm;
let controller;

ready.then(
  (info) => postMessage({ type: "ready", backend: info.backend }),
  (err) => postMessage({ type: "error", message: `cannot load the Wasm core: ${err.message}` }),
);

onmessage = async ({ data: msg }) => {
  try {
    await ready;
    if (msg.type === "train") await train(msg);
    else if (msg.type === "stop") controller?.abort();
    else if (msg.type === "sample") postMessage({ type: "sample", text: sample(msg), temperature: msg.temperature });
    else if (msg.type === "save") save();
    else if (msg.type === "esn") esn(msg);
  } catch (err) {
    postMessage({ type: "error", message: err.message });
  }
};

async function train({ text, hiddenSize, seconds, steps, seqLength, batchSize, temperature }) {
  controller?.abort();
  lm?.dispose();
  lm = CharLM.fromText(text, { hiddenSize, embeddingDim: 32, seed: 1 });
  controller = new AbortController();
  postMessage({ type: "started", vocab: lm.vocab.size, parameters: lm.parameterCount });
  let nextSample = performance.now() + 2000;
  const result = await lm.train({
    text,
    timeBudgetMs: seconds * 1000,
    ...(steps !== undefined ? { steps } : {}),
    seqLength: Math.min(seqLength, [...text].length - 1),
    batchSize,
    lr: 5e-3,
    signal: controller.signal,
    onProgress: (p) => {
      postMessage({ type: "progress", ...p });
      // A sample every two seconds shows what the model has learned so far.
      if (performance.now() > nextSample) {
        postMessage({ type: "sample", text: sample({ temperature, length: 160 }), temperature, step: p.step });
        nextSample = performance.now() + 2000;
      }
    },
  });
  postMessage({ type: "sample", text: sample({ temperature, length: 400 }), temperature, step: result.steps, final: true });
  postMessage({ type: "done", steps: result.steps, stopped: result.stopped, losses: result.losses });
}

function sample({ temperature = 0.8, length = 300, seed = Math.floor(Math.random() * 1e9) }) {
  if (!lm) throw new Error("train a model first");
  return lm.sample({ length, temperature, seed });
}

// The model with its vocabulary, as a .safetensors file (CharLM.load reads it back).
function save() {
  if (!lm) throw new Error("train a model first");
  const bytes = lm.save();
  postMessage({ type: "saved", bytes }, [bytes.buffer]);
}

function esn({ units = 400, horizon = 400 }) {
  const t0 = performance.now();
  const series = mackeyGlass({ length: 2000 + horizon + 1 });
  const model = new ESN({ units, leakRate: 0.3, spectralRadius: 1.25, inputScaling: 0.5, biasScaling: 0.5, ridge: 1e-8, readoutInput: true, seed: 1 });
  try {
    model.fit(toTensor(series.subarray(0, 2000)), toTensor(series.subarray(1, 2001)), { washout: 100 });
    const forecast = Float64Array.from(model.generate(horizon).data);
    const truth = series.slice(2001, 2001 + horizon);
    postMessage({ type: "esn", truth, forecast, nrmse: nrmse(forecast.subarray(0, 100), truth.subarray(0, 100)), units, ms: performance.now() - t0 });
  } finally {
    model.dispose();
  }
}
