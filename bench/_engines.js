// The benchmark cases as every engine runs them, with nothing Node-specific, so that the Node
// suite (_suite.js, _peers.js) and the browser page (browser.js, _browser-page.js) build the same
// seeded inputs, the same recur models and the same peer models from one place: recur's model
// (whose state dict is the weights every peer loads), ONNX Runtime's session (Node or web, given
// its module), the tfjs layer (given tf), and the cross-check of outputs.
import { GRU, LSTM, RNN, SGD, SequenceModel } from "../dist/index.js";
import { recurrentOnnx } from "./_onnx.js";

export const TOLERANCE = 1e-4;
export const GATES = { LSTM: 4, GRU: 3, RNN: 1 };

const MODELS = { LSTM, GRU, RNN };

export function random(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

export const median = (v) => {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** [T, B, F] time-major <-> [B, T, F] batch-major. */
export function swap01(data, A, Bn, F) {
  const out = new Float32Array(data.length);
  for (let a = 0; a < A; a++) for (let b = 0; b < Bn; b++) out.set(data.subarray((a * Bn + b) * F, (a * Bn + b + 1) * F), (b * A + a) * F);
  return out;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(data, rows, cols) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

/** Keras / tfjs gate order from PyTorch's: LSTM i f c o (the same), GRU z r h (PyTorch r z n). */
export function kerasGates(cell, data, H, cols) {
  if (cell !== "GRU") return data;
  const out = new Float32Array(data.length);
  [1, 0, 2].forEach((src, dst) => out.set(data.subarray(src * H * cols, (src + 1) * H * cols), dst * H * cols));
  return out;
}

// ---------------------------------------------------------------- engines per case kind

export function caseData(c) {
  const next = random(c.seed * 7919 + 17);
  const steps = c.kind === "step" ? 1 : c.T;
  const x = Float32Array.from({ length: steps * c.B * c.I }, next);
  const target = c.kind === "train" ? Int32Array.from({ length: c.B }, () => Math.floor(((next() + 1) / 2) * c.classes) % c.classes) : undefined;
  return { x, target, steps };
}

export function recurModel(c, resetAfter = true) {
  if (c.kind === "train") {
    return new SequenceModel({ cell: c.cell, inputSize: c.I, hiddenSize: c.H, outputSize: c.classes, outputs: "last", seed: c.seed });
  }
  const Cls = MODELS[c.cell];
  return new Cls({ inputSize: c.I, hiddenSize: c.H, numLayers: c.L ?? 1, seed: c.seed, ...(c.cell === "GRU" ? { resetAfter } : {}) });
}

/** recur, and for GRU also its reset-before form (tfjs's GRU) as "recur-rb". */
export function prepareRecur(c, d, { resetAfter = true, sd, out = false } = {}) {
  const model = recurModel(c, resetAfter);
  if (sd) model.loadStateDict(sd);
  const lstm = c.cell === "LSTM";
  if (c.kind === "sequence") {
    const x = { shape: [c.T, c.B, c.I], data: d.x };
    // out: forward(x, { out }) into arrays made once, instead of new result arrays per call.
    const state = () => new Float32Array(c.B * c.H);
    const options = out ? { out: { output: new Float32Array(c.T * c.B * c.H), hN: state(), ...(lstm ? { cN: state() } : {}) } } : {};
    return {
      model,
      run: () => model.forward(x, options),
      check: () => {
        const r = model.forward(x);
        return { y: r.output.data, h: r.hN.data, ...(lstm ? { c: r.cN.data } : {}) };
      },
      dispose: () => model.dispose(),
    };
  }
  if (c.kind === "step") {
    const xt = { shape: [1, c.B, c.I], data: d.x };
    const state = model.initialState(c.B);
    const out = new Float32Array(c.B * c.H);
    return {
      model,
      run: () => model.step(xt, state, out),
      check: () => {
        const s = model.initialState(c.B);
        for (let i = 0; i < 10; i++) model.step(xt, s, out);
        return { h: s.h.data, ...(lstm ? { c: s.c.data } : {}) };
      },
      dispose: () => model.dispose(),
    };
  }
  const optimizer = new SGD(model, { lr: c.lr });
  const batch = { input: { shape: [c.T, c.B, c.I], data: d.x }, target: { shape: [c.B], data: d.target } };
  return {
    model,
    run: () => model.trainStep(batch, optimizer),
    check: () => {
      model.zeroGrad();
      const r = model.lossAndGrad(batch);
      const out = { loss: Float32Array.of(r.loss) };
      for (const [k, v] of Object.entries(model.gradients())) out[k] = v.data.slice();
      model.zeroGrad();
      return out;
    },
    dispose: () => model.dispose(),
  };
}

export async function prepareOrt(ort, provider, c, d, sd) {
  if (c.kind === "train") return null; // no training API in these packages
  const lstm = c.cell === "LSTM";
  const bytes = recurrentOnnx({ cell: c.cell, sd, inputSize: c.I, hiddenSize: c.H, T: d.steps, batch: c.B, mode: c.kind, layers: c.L ?? 1 });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const X = new ort.Tensor("float32", d.x, [d.steps, c.B, c.I]);
  if (c.kind === "sequence") {
    const feeds = { X };
    return {
      run: async () => {
        await session.run(feeds);
      },
      check: async () => {
        const r = await session.run(feeds);
        return { y: r.Y.data, h: r.Y_h.data, ...(lstm ? { c: r.Y_c.data } : {}) };
      },
      dispose: () => session.release(),
    };
  }
  // A stack of L layers (c.L > 1) has per-layer state inputs and outputs (bench/_onnx.js).
  const L = c.L ?? 1;
  const zeros = () => Array.from({ length: L }, () => new ort.Tensor("float32", new Float32Array(c.B * c.H), [1, c.B, c.H]));
  let h = zeros();
  let cs = zeros();
  const name = (base, l) => (L > 1 ? `${base}${l}` : base);
  const feeds = { X };
  const step = async () => {
    for (let l = 0; l < L; l++) {
      feeds[name("initial_h", l)] = h[l];
      if (lstm) feeds[name("initial_c", l)] = cs[l];
    }
    const r = await session.run(feeds);
    for (let l = 0; l < L; l++) {
      h[l] = r[name("Y_h", l)];
      if (lstm) cs[l] = r[name("Y_c", l)];
    }
  };
  const joined = (ts) => {
    const out = new Float32Array(L * c.B * c.H);
    ts.forEach((t, l) => out.set(t.data, l * c.B * c.H));
    return out;
  };
  return {
    run: step,
    check: async () => {
      h = zeros();
      cs = zeros();
      for (let i = 0; i < 10; i++) await step();
      const out = { h: joined(h), ...(lstm ? { c: joined(cs) } : {}) };
      h = zeros();
      cs = zeros();
      return out;
    },
    dispose: () => session.release(),
  };
}

function tfLayer(tf, c, extra) {
  const common = { units: c.H, kernelInitializer: "zeros", recurrentInitializer: "zeros", biasInitializer: "zeros", ...extra };
  if (c.cell === "LSTM") return tf.layers.lstm({ ...common, recurrentActivation: "sigmoid", unitForgetBias: false });
  if (c.cell === "GRU") return tf.layers.gru({ ...common, recurrentActivation: "sigmoid" });
  return tf.layers.simpleRNN({ ...common, activation: "tanh" });
}

/** tfjs weights [kernel [I, G*H], recurrentKernel [H, G*H], bias [G*H] = b_ih + b_hh] from PyTorch's. */
function tfRecurrentWeights(tf, cell, sd, prefix, I, H) {
  const G = GATES[cell];
  const bias = new Float32Array(G * H);
  for (let i = 0; i < G * H; i++) bias[i] = sd[`${prefix}bias_ih_l0`].data[i] + sd[`${prefix}bias_hh_l0`].data[i];
  return [
    tf.tensor2d(transpose(kerasGates(cell, sd[`${prefix}weight_ih_l0`].data, H, I), G * H, I), [I, G * H]),
    tf.tensor2d(transpose(kerasGates(cell, sd[`${prefix}weight_hh_l0`].data, H, H), G * H, H), [H, G * H]),
    tf.tensor1d(kerasGates(cell, bias, H, 1)),
  ];
}

export function prepareTfjs(tf, c, d, sd) {
  if ((c.L ?? 1) > 1) return null; // single layers only
  // tfjs layers are batch-major; its GRU is the reset-before form (checked against recur-rb).
  const lstm = c.cell === "LSTM";
  if (c.kind === "sequence") {
    const layer = tfLayer(tf, c, { returnSequences: true, returnState: true });
    const x = tf.tensor3d(swap01(d.x, c.T, c.B, c.I), [c.B, c.T, c.I]);
    tf.tidy(() => layer.apply(x));
    const w = tfRecurrentWeights(tf, c.cell, sd, "", c.I, c.H);
    layer.setWeights(w);
    tf.dispose(w);
    const forward = () =>
      tf.tidy(() => {
        const outs = layer.apply(x);
        return outs.map((o) => o.dataSync());
      });
    return {
      baseline: c.cell === "GRU" ? "recur-rb" : "recur",
      run: forward,
      check: () => {
        const [y, h, cs] = forward();
        return { y: swap01(y, c.B, c.T, c.H), h, ...(lstm ? { c: cs } : {}) };
      },
      dispose: () => {
        x.dispose();
        layer.dispose();
      },
    };
  }
  if (c.kind === "step") {
    const layer = tfLayer(tf, c, { returnState: true });
    const x = tf.tensor3d(d.x, [c.B, 1, c.I]);
    const zeros = () => (lstm ? [tf.zeros([c.B, c.H]), tf.zeros([c.B, c.H])] : [tf.zeros([c.B, c.H])]);
    let state = zeros();
    tf.tidy(() => layer.apply(x, { initialState: state }));
    const w = tfRecurrentWeights(tf, c.cell, sd, "", c.I, c.H);
    layer.setWeights(w);
    tf.dispose(w);
    const step = () => {
      const [out, ...next] = tf.tidy(() => layer.apply(x, { initialState: state }));
      out.dataSync(); // the step's output in JS, as recur's step writes it
      if (!next.includes(out)) out.dispose(); // the output may be the new h itself
      tf.dispose(state);
      state = next;
    };
    return {
      baseline: c.cell === "GRU" ? "recur-rb" : "recur",
      run: step,
      check: () => {
        tf.dispose(state);
        state = zeros();
        for (let i = 0; i < 10; i++) step();
        const out = { h: state[0].dataSync().slice(), ...(lstm ? { c: state[1].dataSync().slice() } : {}) };
        tf.dispose(state);
        state = zeros();
        return out;
      },
      dispose: () => {
        tf.dispose(state);
        x.dispose();
        layer.dispose();
      },
    };
  }
  // Training: the recurrent layer (last state) and a Dense head, softmax cross-entropy, SGD.
  if (c.cell === "GRU") return null;
  const rnnKey = c.cell.toLowerCase();
  const rnn = tfLayer(tf, c, {});
  const head = tf.layers.dense({ units: c.classes, kernelInitializer: "zeros" });
  const x = tf.tensor3d(swap01(d.x, c.T, c.B, c.I), [c.B, c.T, c.I]);
  const onehot = tf.oneHot(tf.tensor1d(d.target, "int32"), c.classes).toFloat();
  const logits = () => head.apply(rnn.apply(x));
  tf.tidy(logits);
  const w = [...tfRecurrentWeights(tf, c.cell, sd, `${rnnKey}.`, c.I, c.H), tf.tensor2d(transpose(sd["head.weight"].data, c.classes, c.H), [c.H, c.classes]), tf.tensor1d(sd["head.bias"].data)];
  rnn.setWeights(w.slice(0, 3));
  head.setWeights(w.slice(3));
  tf.dispose(w);
  const vars = [...rnn.trainableWeights, ...head.trainableWeights].map((v) => v.read());
  const optimizer = tf.train.sgd(c.lr);
  const loss = () => tf.losses.softmaxCrossEntropy(onehot, logits());
  return {
    run: () => optimizer.minimize(loss, false, vars),
    check: () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      const g = vars.map((v) => grads[v.name].dataSync().slice());
      const out = {
        loss: Float32Array.of(value.dataSync()[0]),
        [`${rnnKey}.weight_ih_l0`]: transpose(g[0], c.I, 4 * c.H),
        [`${rnnKey}.weight_hh_l0`]: transpose(g[1], c.H, 4 * c.H),
        [`${rnnKey}.bias_ih_l0`]: g[2],
        [`${rnnKey}.bias_hh_l0`]: g[2],
        "head.weight": transpose(g[3], c.H, c.classes),
        "head.bias": g[4],
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    },
    dispose: () => {
      tf.dispose([x, onehot]);
      optimizer.dispose();
      rnn.dispose();
      head.dispose();
    },
  };
}

/** The largest over outputs of max |difference| / max |recur's value| of that output. */
export function relativeDiff(ref, got) {
  let worst = 0;
  for (const [k, a] of Object.entries(ref)) {
    let d = 0;
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - got[k][i]));
      m = Math.max(m, Math.abs(a[i]));
    }
    worst = Math.max(worst, m > 0 ? d / m : d);
  }
  return worst;
}

export function maxAbsDiff(ref, got) {
  let worst = 0;
  for (const [k, a] of Object.entries(ref)) {
    const b = got[k];
    if (!b) throw new Error(`missing output ${k}`);
    if (b.length !== a.length) throw new Error(`output ${k}: ${b.length} values, recur has ${a.length}`);
    for (let i = 0; i < a.length; i++) {
      const e = Math.abs(a[i] - b[i]);
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
  }
  return worst;
}

