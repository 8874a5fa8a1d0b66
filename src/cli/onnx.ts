// `recur info model.onnx` and `recur parity --onnx model.onnx`.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fail } from "../errors.js";
import { unsupportedNodes } from "../onnx/executor.js";
import { loadOnnx, readOnnx, type OnnxFeed, type OnnxModel } from "../onnx/model.js";
import { dtypeName } from "../onnx/values.js";
import { createRng } from "../random.js";
import { init } from "../runtime.js";
import { UsageError } from "./args.js";
import { formatCount } from "./progress.js";

const dims = (shape: (number | string | null)[] | undefined): string => (shape === undefined ? "?" : `[${shape.map((d) => d ?? "?").join(", ")}]`);

async function externalFiles(path: string): Promise<(location: string) => Uint8Array> {
  const cache = new Map<string, Uint8Array>();
  const { readFileSync } = await import("node:fs");
  return (location) => {
    let b = cache.get(location);
    if (b === undefined) {
      b = readFileSync(join(dirname(path), location));
      cache.set(location, b);
    }
    return b;
  };
}

/** Lines describing an ONNX file: producer, inputs, outputs, operators and what runs each node. */
export async function onnxInfo(path: string, bytes: Uint8Array): Promise<string[]> {
  const proto = readOnnx(bytes);
  const g = proto.graph;
  const lines = [`file: ${path} (${formatCount(bytes.length)} bytes)`, `format: ONNX, IR ${proto.irVersion}, opset ${proto.opsets.map((o) => `${o.domain || "ai.onnx"} ${o.version}`).join(", ")}`];
  if (proto.producerName) lines.push(`producer: ${proto.producerName} ${proto.producerVersion}`.trim());
  const inits = new Set(g.initializers.map((t) => t.name));
  const info = (v: { name: string; elemType: number; shape?: { value?: number; param?: string }[] }): string =>
    `  ${v.name}: ${dtypeName(v.elemType)} ${dims(v.shape?.map((d) => d.value ?? (d.param || null)))}`;
  lines.push("inputs:", ...g.inputs.filter((v) => !inits.has(v.name)).map(info));
  lines.push("outputs:", ...g.outputs.map(info));
  const counts = new Map<string, number>();
  const walk = (graph: typeof g): void => {
    for (const n of graph.nodes) {
      counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
      for (const a of n.attributes) for (const sg of [a.g, ...a.graphs]) if (sg) walk(sg);
    }
  };
  walk(g);
  lines.push(`operators (${[...counts.values()].reduce((a, b) => a + b, 0)} nodes, subgraphs included): ${[...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  const unsupported = unsupportedNodes(g);
  if (unsupported.length > 0) {
    lines.push(`recur cannot run: ${unsupported.join(", ")}`);
    return lines;
  }
  await init();
  let model: OnnxModel;
  try {
    model = loadOnnx(bytes, { externalData: await externalFiles(path) });
  } catch (e) {
    lines.push(`recur cannot run it: ${(e as Error).message}`);
    return lines;
  }
  const fused = model.nodes.filter((n) => n.runs.includes("fused"));
  const folded = model.nodes.filter((n) => n.runs.startsWith("folded")).length;
  const removed = model.nodes.filter((n) => n.runs.startsWith("removed")).length;
  const ts = model.nodes.filter((n) => n.runs === "TypeScript").length;
  lines.push(`recur runs it: ${fused.length} node(s) on fused recurrent kernels, ${ts} in TypeScript, ${folded} folded into constants at load, ${removed} removed (feed no output)`);
  for (const n of fused) lines.push(`  ${n.opType} "${n.name}": ${n.runs}`);
  const pairs = model.statePairs();
  if (pairs.length > 0) lines.push(`streaming state (fed back by model.stream()): ${pairs.map((p) => `${p.input} <- ${p.output}`).join(", ")}`);
  model.dispose();
  return lines;
}

const PARITY_HELP = `Usage: recur parity --onnx <model.onnx> [options]

Runs an ONNX file in recur and in onnxruntime-node (which must be installed: npm install
onnxruntime-node) on the same feeds and prints each output's largest difference against the
tolerance 1e-5 * max(1, max |onnxruntime|). The last line is "N passed, M failed".

Options:
  --feeds <file.json>   feeds as { "name": { "shape": [...], "data": [...] } } (others random)
  --dim <name=size>     size of a symbolic dimension for random feeds (repeatable; default 1)
  --shape <name=AxB>    shape of a random input (e.g. --shape input=1x512; repeatable)
  --set <name=value>    a scalar or constant-filled input (e.g. --set sr=16000; repeatable)
  --steps <n>           run n steps, feeding state outputs back (model.stream()); default 1
  --seed <n>            seed of the random feeds (default 1)
  -h, --help            show this help`;

export async function onnxParity(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(PARITY_HELP);
    return 0;
  }
  const opts: Record<string, string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (["--onnx", "--feeds", "--dim", "--shape", "--set", "--steps", "--seed"].includes(a)) {
      if (i + 1 >= args.length) throw new UsageError(`${a} needs a value`);
      (opts[a] ??= []).push(args[++i]);
    } else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  const path = opts["--onnx"]?.[0] ?? positional[0];
  if (path === undefined) throw new UsageError("no ONNX file given");
  const steps = Number(opts["--steps"]?.[0] ?? 1);
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`--steps must be an integer >= 1, got ${opts["--steps"]?.[0]}`);
  const rng = createRng(Number(opts["--seed"]?.[0] ?? 1));
  const symbols = new Map<string, number>();
  for (const d of opts["--dim"] ?? []) {
    const [k, v] = d.split("=");
    if (!k || !Number.isInteger(Number(v))) throw new UsageError(`--dim takes name=size, got ${d}`);
    symbols.set(k, Number(v));
  }
  const shapes = new Map<string, number[]>();
  for (const d of opts["--shape"] ?? []) {
    const [k, v] = d.split("=");
    const sizes = (v ?? "").split("x").filter((x) => x !== "").map(Number);
    if (!k || sizes.some((x) => !Number.isInteger(x) || x < 0)) throw new UsageError(`--shape takes name=AxB, got ${d}`);
    shapes.set(k, sizes);
  }
  const sets = new Map<string, number>();
  for (const d of opts["--set"] ?? []) {
    const [k, v] = d.split("=");
    if (!k || !Number.isFinite(Number(v))) throw new UsageError(`--set takes name=value, got ${d}`);
    sets.set(k, Number(v));
  }
  const given: Record<string, { shape: number[]; data: number[] }> = opts["--feeds"] ? JSON.parse(await readFile(opts["--feeds"][0], "utf8")) : {};

  let ort: typeof import("onnxruntime-node");
  try {
    // The user's project first, then recur's own dependencies (a clone of the repository).
    const from = [join(process.cwd(), "noop.js"), import.meta.url];
    ort = from.reduce<typeof import("onnxruntime-node") | undefined>((found, base) => {
      if (found) return found;
      try {
        return createRequire(base)("onnxruntime-node") as typeof import("onnxruntime-node");
      } catch {
        return undefined;
      }
    }, undefined)!;
    if (ort === undefined) throw new Error("missing");
  } catch {
    fail("E_UNSUPPORTED", "recur parity --onnx needs onnxruntime-node: npm install onnxruntime-node (with onnxruntime-node-install=skip in .npmrc where its install script cannot download)");
  }
  const bytes = await readFile(path);
  await init();
  const model = loadOnnx(bytes, { externalData: await externalFiles(path) });
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const pairs = steps > 1 ? model.statePairs() : [];
  const stateInputs = new Set(pairs.map((p) => p.input));
  const makeFeed = (name: string, dtype: string, shape: (number | string | null)[] | undefined): OnnxFeed => {
    const g = given[name];
    const s = g?.shape ?? shapes.get(name) ?? (shape ?? []).map((d) => (typeof d === "number" && d > 0 ? d : symbols.get(String(d)) ?? 1));
    const n = s.reduce((a, b) => a * b, 1);
    const value = sets.get(name);
    const pick = (i: number): number => (g ? g.data[i] : value ?? (dtype === "float32" || dtype === "float64" ? rng.normal() * 0.5 : dtype === "bool" ? rng.int(2) : rng.int(3)));
    const values = Array.from({ length: n }, (_, i) => (stateInputs.has(name) && !g && value === undefined ? 0 : pick(i)));
    const data =
      dtype === "float32" ? Float32Array.from(values) : dtype === "float64" ? Float64Array.from(values) : dtype === "int64" ? BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))) :
      dtype === "int32" ? Int32Array.from(values) : Uint8Array.from(values);
    return { shape: s, data };
  };
  const tolerance = 1e-5;
  let passed = 0, failed = 0;
  const initial: Record<string, OnnxFeed> = {};
  for (const p of pairs) {
    const info = model.inputs.find((i) => i.name === p.input)!;
    initial[p.input] = makeFeed(p.input, info.dtype, info.shape);
  }
  const stream = pairs.length > 0 ? model.stream({ pairs, initial }) : undefined;
  let ortState: Record<string, unknown> = Object.fromEntries(pairs.map((p) => [p.input, new ort.Tensor("float32", initial[p.input].data as Float32Array, [...initial[p.input].shape])]));
  for (let step = 0; step < steps; step++) {
    const feeds: Record<string, OnnxFeed> = {};
    for (const i of model.inputs) if (!(stream && stateInputs.has(i.name))) feeds[i.name] = makeFeed(i.name, i.dtype, i.shape);
    const mine = stream ? stream.step(feeds) : model.run(feeds);
    const ortFeeds: Record<string, unknown> = { ...ortState };
    for (const [k, v] of Object.entries(feeds)) {
      const type = v.data instanceof Float32Array ? "float32" : v.data instanceof Float64Array ? "float64" : v.data instanceof BigInt64Array ? "int64" : v.data instanceof Int32Array ? "int32" : "bool";
      ortFeeds[k] = new ort.Tensor(type, v.data as Float32Array, [...v.shape]);
    }
    const theirs = (await session.run(ortFeeds as never)) as Record<string, { dims: readonly number[]; data: ArrayLike<number | bigint> }>;
    ortState = Object.fromEntries(pairs.map((p) => [p.input, theirs[p.output]]));
    for (const out of model.outputs) {
      const a = mine[out.name], b = theirs[out.name];
      let worst = 0, scale = 1;
      const sameShape = a.shape.length === b.dims.length && a.shape.every((d, i) => d === b.dims[i]);
      for (let i = 0; sameShape && i < b.data.length; i++) {
        worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
        scale = Math.max(scale, Math.abs(Number(b.data[i])));
      }
      const ok = sameShape && worst <= tolerance * scale;
      if (ok) passed++;
      else failed++;
      const where = steps > 1 ? `step ${step} ` : "";
      console.log(`${ok ? "ok  " : "FAIL"} ${where}${out.name} [${a.shape.join(", ")}]${sameShape ? "" : ` vs onnxruntime [${b.dims.join(", ")}]`}: max |recur - onnxruntime| ${worst.toExponential(2)} (tolerance ${(tolerance * scale).toExponential(2)})`);
    }
  }
  await session.release();
  model.dispose();
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
