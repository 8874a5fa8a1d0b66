/**
 * Loading of the shared reference fixtures (see /work/shared/fixtures/README.md).
 *
 * The fixtures live next to the repository (`<repo>/../shared/fixtures`), both locally and in CI,
 * so the directory is resolved relative to this file rather than to the working directory.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the shared fixtures directory (no trailing slash). */
export const fixturesDir: string = fileURLToPath(new URL("../../../shared/fixtures", import.meta.url));

const torchDir = join(fixturesDir, "torch");

/** A fixture tensor after loading: `data` holds the stored float32 values bit-exactly. */
export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
}

/** A forward/backward case of `torch/` (README section 2.1), tensors already converted. */
export interface TorchCase {
  name: string;
  module: "RNN" | "LSTM" | "GRU";
  config: {
    input_size: number;
    hidden_size: number;
    num_layers: number;
    bias: boolean;
    batch_first: boolean;
    bidirectional: boolean;
    nonlinearity?: "tanh" | "relu";
    proj_size?: number;
  };
  seq_len: number;
  batch: number;
  lengths?: number[];
  packed?: string;
  params: Record<string, FixtureTensor>;
  input: FixtureTensor;
  h0: FixtureTensor;
  c0?: FixtureTensor;
  output: FixtureTensor;
  h_n: FixtureTensor;
  c_n?: FixtureTensor;
  loss: string;
  loss_value: number;
  dout: FixtureTensor;
  dh_n: FixtureTensor;
  dc_n?: FixtureTensor;
  grads: Record<string, FixtureTensor>;
  float32_vs_float64: Record<string, Record<string, number>>;
  meta: Record<string, unknown>;
}

function isRawTensor(v: unknown): v is { shape: number[]; data: number[] } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o.shape) && Array.isArray(o.data) && Object.keys(o).length === 2;
}

/**
 * Recursively replaces every `{shape, data}` object by a tensor whose data is a Float32Array.
 * Writing into a Float32Array rounds each shortest-decimal value back to the exact stored float32
 * (README section 1), which is what the reference computation used.
 */
export function convertTensors(value: unknown): unknown {
  if (isRawTensor(value)) {
    const n = value.shape.reduce((a, b) => a * b, 1);
    if (n !== value.data.length) {
      throw new Error(`fixture tensor: shape [${value.shape.join(", ")}] needs ${n} values, got ${value.data.length}`);
    }
    return { shape: value.shape.slice(), data: Float32Array.from(value.data) };
  }
  if (Array.isArray(value)) return value.map(convertTensors);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = convertTensors(v);
    return out;
  }
  return value;
}

/** Parses a JSON file given relative to the fixtures directory (e.g. `"esn/narma10.json"`), unconverted. */
export function loadJson<T = any>(relPath: string): T {
  return JSON.parse(readFileSync(join(fixturesDir, relPath), "utf8")) as T;
}

/** Loads `torch/<name>.json` with all tensors converted to Float32Array-backed tensors. */
export function loadTorchCase(name: string): TorchCase {
  return convertTensors(loadJson(join("torch", `${name}.json`))) as TorchCase;
}

function torchNames(): string[] {
  return readdirSync(torchDir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Names of the forward/backward cases (every `torch/*.json` except the `traj_*` trajectories). */
export function listTorchCases(): string[] {
  return torchNames().filter((n) => !n.startsWith("traj_"));
}

/** Names of the training trajectories (`torch/traj_*.json`); load one with `convertTensors(loadJson(`torch/${name}.json`))`. */
export function listTrajectories(): string[] {
  return torchNames().filter((n) => n.startsWith("traj_"));
}

/** max |a[i] − b[i]|; throws on a length mismatch so a shape bug can never pass as "small diff". */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    // NaN must fail a comparison, so propagate it instead of letting Math.max-style logic skip it.
    if (!(d <= m)) m = Number.isNaN(d) ? NaN : d;
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}

/** README 2.8 per-tensor tolerance: 1e-5 · max(1, max |ref|). */
export function toleranceFor(ref: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return 1e-5 * m;
}
