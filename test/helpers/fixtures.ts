/**
 * Loading of the reference fixtures in test/fixtures (written by scripts/fixtures.py; the format
 * is described in docs/parity.md).
 *
 * RECUR_EXTRA_FIXTURES may name another folder of the same layout (torch/*.json): its PyTorch
 * cases and trajectories then run too, named "extra:<name>". Nothing else is ever read from
 * outside the repository.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository's fixtures folder (no trailing slash). */
export const fixturesDir: string = fileURLToPath(new URL("../fixtures", import.meta.url));

const EXTRA = "extra:";
const extraDir = process.env.RECUR_EXTRA_FIXTURES ? resolve(process.env.RECUR_EXTRA_FIXTURES) : undefined;
if (extraDir !== undefined && !existsSync(join(extraDir, "torch"))) {
  throw new Error(`RECUR_EXTRA_FIXTURES=${extraDir}: no torch/ folder there`);
}

/** The file of a PyTorch case or trajectory by name (an "extra:" name reads RECUR_EXTRA_FIXTURES). */
export function torchCasePath(name: string): string {
  return name.startsWith(EXTRA) ? join(extraDir!, "torch", `${name.slice(EXTRA.length)}.json`) : join(fixturesDir, "torch", `${name}.json`);
}

/** A fixture tensor after loading: `data` holds the stored float32 values bit-exactly. */
export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
}

/** A forward/backward case of `torch/` (docs/parity.md), tensors already converted. */
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
 * (docs/parity.md), which is what the reference computation used.
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

/** Parses a PyTorch case or trajectory by name, unconverted (the form `runParityCase` takes). */
export function loadTorchJson(name: string): unknown {
  return JSON.parse(readFileSync(torchCasePath(name), "utf8"));
}

/** Loads a PyTorch case by name with all tensors converted to Float32Array-backed tensors. */
export function loadTorchCase(name: string): TorchCase {
  return convertTensors(loadTorchJson(name)) as TorchCase;
}

function jsonNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

function torchNames(): string[] {
  const own = jsonNames(join(fixturesDir, "torch"));
  return extraDir === undefined ? own : [...own, ...jsonNames(join(extraDir, "torch")).map((n) => EXTRA + n)];
}

const bare = (name: string): string => (name.startsWith(EXTRA) ? name.slice(EXTRA.length) : name);

/** Names of the forward/backward cases (every `torch/*.json` except the `traj_*` trajectories). */
export function listTorchCases(): string[] {
  return torchNames().filter((n) => !bare(n).startsWith("traj_"));
}

/** Names of the training trajectories (`torch/traj_*.json`); load one with `loadTorchJson(name)`. */
export function listTrajectories(): string[] {
  return torchNames().filter((n) => bare(n).startsWith("traj_"));
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

/** docs/parity.md per-tensor tolerance: 1e-5 · max(1, max |ref|). */
export function toleranceFor(ref: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return 1e-5 * m;
}
