// TensorFlow.js layers models saved by @tensorflow/tfjs's own model.save (scripts/tfjs-fixtures.mjs)
// against tfjs's outputs stored beside each file.
import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { init, RecurError } from "../src/index.js";
import { loadKeras } from "../src/keras/index.js";

const dir = new URL("./fixtures/tfjs/", import.meta.url);

interface Ref {
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}

function load(name: string) {
  return loadKeras({ modelJson: readFileSync(new URL(`${name}.model.json`, dir), "utf8"), weights: { "model.weights.bin": readFileSync(new URL(`${name}.weights.bin`, dir)) } });
}

beforeAll(async () => {
  await init();
});

describe("tfjs layers models match tfjs's outputs", () => {
  const names = readdirSync(dir).filter((f) => f.endsWith(".model.json")).map((f) => f.replace(".model.json", ""));
  it("has the fixtures", () => expect(names.length).toBeGreaterThanOrEqual(14));
  for (const name of names) {
    it(name, () => {
      const ref = JSON.parse(readFileSync(new URL(`${name}.json`, dir), "utf8")) as Ref;
      const model = load(name);
      const tokens = name.startsWith("embedding");
      const y = model.predict({ shape: ref.input.shape, data: tokens ? Int32Array.from(ref.input.data) : Float32Array.from(ref.input.data) });
      expect(y.shape).toEqual(ref.output.shape);
      let worst = 0, scale = 1;
      for (let i = 0; i < ref.output.data.length; i++) {
        worst = Math.max(worst, Math.abs(y.data[i] - ref.output.data[i]));
        scale = Math.max(scale, Math.abs(ref.output.data[i]));
      }
      expect(worst).toBeLessThanOrEqual(1e-5 * scale);
      expect(model.layers.some((l) => l.runs.includes("fused Wasm kernel"))).toBe(true);
      model.dispose();
    });
  }

  it("runs tfjs's default hard_sigmoid gate as tfjs defines it (0.2 x + 0.5), never as a sigmoid", () => {
    for (const name of ["lstm_hard_sigmoid", "gru_hard_sigmoid"]) {
      const model = load(name);
      expect(model.layers.map((l) => l.runs).join("\n")).toContain("[hardSigmoid 0.2x+0.5, tanh");
      model.dispose();
    }
  });

  it("refuses an activation recur's cells do not have, naming layer and option", () => {
    const json = JSON.parse(readFileSync(new URL("lstm_hard_sigmoid.model.json", dir), "utf8"));
    const layer = json.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === "LSTM");
    layer.config.activation = "selu";
    let err: unknown;
    try {
      loadKeras({ modelJson: json, weights: readFileSync(new URL("lstm_hard_sigmoid.weights.bin", dir)) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecurError);
    expect((err as RecurError).code).toBe("E_UNSUPPORTED");
    expect((err as RecurError).message).toMatch(/LSTM layer "lstm_\w+": activation="selu"/);
  });

  it("rejects a config missing what Keras always writes with E_FORMAT", () => {
    let err: RecurError | undefined;
    try {
      loadKeras({ modelJson: { modelTopology: { class_name: "Sequential", config: { layers: [{ class_name: "Bidirectional", config: {} }] } }, weightsManifest: [] }, weights: new Uint8Array(0) });
    } catch (e) {
      err = e as RecurError;
    }
    expect(err?.code).toBe("E_FORMAT");
  });

  it("accepts the shards as one buffer or an array, and checks them", () => {
    const json = readFileSync(new URL("gru_sigmoid.model.json", dir), "utf8");
    const bin = readFileSync(new URL("gru_sigmoid.weights.bin", dir));
    loadKeras({ modelJson: JSON.parse(json), weights: [bin] }).dispose();
    loadKeras({ modelJson: json, weights: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) }).dispose();
    const short = (() => {
      try {
        loadKeras({ modelJson: json, weights: bin.subarray(0, bin.length - 4) });
      } catch (e) {
        return e as RecurError;
      }
    })();
    expect(short?.code).toBe("E_FORMAT");
    const missing = (() => {
      try {
        loadKeras({ modelJson: json, weights: { "other.bin": bin } });
      } catch (e) {
        return e as RecurError;
      }
    })();
    expect(missing?.code).toBe("E_KEY");
  });
});

describe("Keras files (.keras, legacy .h5): HDF5 by libhdf5/h5py in Keras's layout, PyTorch's outputs", () => {
  const kdir = new URL("./fixtures/keras/", import.meta.url);
  for (const file of ["gru_reset_after_dense.keras", "bidirectional_lstm_softmax.keras", "functional_lstm_dense.keras", "simple_rnn_time_distributed.h5"]) {
    it(file, () => {
      const ref = JSON.parse(readFileSync(new URL(file.replace(/\.(keras|h5)$/, ".json"), kdir), "utf8")) as Ref;
      const model = loadKeras(readFileSync(new URL(file, kdir)));
      const y = model.predict({ shape: ref.input.shape, data: Float32Array.from(ref.input.data) });
      expect(y.shape).toEqual(ref.output.shape);
      let worst = 0;
      for (let i = 0; i < ref.output.data.length; i++) worst = Math.max(worst, Math.abs(y.data[i] - ref.output.data[i]));
      expect(worst).toBeLessThanOrEqual(1e-5 * Math.max(1, ...ref.output.data.map(Math.abs)));
      model.dispose();
    });
  }

  it("rejects bytes that are neither and truncated files with E_FORMAT", () => {
    const good = readFileSync(new URL("gru_reset_after_dense.keras", kdir));
    for (const bad of [new Uint8Array([1, 2, 3, 4]), good.subarray(0, good.length / 2)]) {
      let code: string | undefined;
      try {
        loadKeras(bad);
      } catch (e) {
        code = (e as RecurError).code;
      }
      expect(code).toBe("E_FORMAT");
    }
  });
});
