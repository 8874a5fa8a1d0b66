import { fail, RecurError } from "../errors.js";
import { fullRuntime } from "../full-core.js";
import { Executor, MAX_OPSET, MIN_OPSET, unsupportedNodes, type NodeReport } from "./executor.js";
import { readModelProto, type ProtoDim, type ProtoModel, type ProtoValueInfo } from "./proto.js";
import { castInto } from "./ops/elementwise.js";
import { alloc, dtypeName, dtypeOf, numel, trade, type DType, type OnnxTensor, type TypedData } from "./values.js";

/** Options of `loadOnnx`. */
export interface LoadOnnxOptions {
  /**
   * Bytes of the files that tensors stored as external data point to, by their `location` (as
   * written in the model), or a function returning them. Default: none (a model with external
   * data then fails to load with E_VALUE naming the file).
   */
  externalData?: Record<string, Uint8Array> | ((location: string) => Uint8Array);
}

/** A tensor handed to `run`: float32 as Float32Array, int64 as BigInt64Array (or Int32Array), bool as Uint8Array. */
export interface OnnxFeed {
  /** Sizes, outermost first ([] for a scalar). */
  shape: readonly number[];
  /** The elements, row-major, in the typed array of the input's type. */
  data: TypedData;
}

/** A graph input or output as the file declares it. */
export interface OnnxValueInfo {
  /** Its name in the graph. */
  name: string;
  /** Element type ("float32", "int64", ...). */
  dtype: string;
  /** Sizes; a string is a symbolic dimension, null an unknown one. undefined: unknown rank. */
  shape?: (number | string | null)[];
}

/** One input paired with the output that holds its next value, for streaming. */
export interface StatePair {
  /** The state input, fed by the stream. */
  input: string;
  /** The output holding that input's next value. */
  output: string;
}

function describeDims(shape: ProtoDim[] | undefined): (number | string | null)[] | undefined {
  return shape?.map((d) => (d.value !== undefined ? d.value : d.param !== undefined && d.param !== "" ? d.param : null));
}

function valueInfo(v: ProtoValueInfo): OnnxValueInfo {
  return { name: v.name, dtype: dtypeName(v.elemType), shape: describeDims(v.shape) };
}

/**
 * An ONNX model loaded for inference. `run` is synchronous; once warm (same input shapes as the
 * call before) it allocates no typed arrays: each node writes into the arrays it owns. The
 * tensors `run` returns are those arrays: valid until the next `run` (copy what you keep).
 */
export class OnnxModel {
  /** The inputs to feed (initializers listed as inputs excluded). */
  readonly inputs: readonly OnnxValueInfo[];
  /** The outputs `run` returns. */
  readonly outputs: readonly OnnxValueInfo[];
  /** The opset version of the default domain. */
  readonly opset: number;
  /** The producer the file names, e.g. "pytorch 1.13.1". */
  readonly producer: string;
  private readonly exec: Executor;
  private readonly feedSlots: { info: ProtoValueInfo; slot: number; dtype: DType; value: OnnxTensor; converted?: TypedData }[];
  private readonly results: Record<string, OnnxTensor> = {};
  // Symbolic dimensions bound by this call's feeds: names and sizes in two arrays reset by length
  // (Map.clear() allocates a new table on every call).
  private readonly symbols: { names: string[]; sizes: number[] } = { names: [], sizes: [] };
  private disposed = false;

  /** @internal Use `loadOnnx`. */
  constructor(proto: ProtoModel, options: LoadOnnxOptions = {}) {
    const ops = proto.opsets.find((o) => o.domain === "" || o.domain === "ai.onnx");
    const opset = ops?.version ?? 0;
    if (opset < MIN_OPSET || opset > MAX_OPSET) fail("E_UNSUPPORTED", `loadOnnx: the model uses opset ${opset} of the default domain; recur runs opsets ${MIN_OPSET} to ${MAX_OPSET}`);
    this.opset = opset;
    this.producer = `${proto.producerName} ${proto.producerVersion}`.trim();
    const unsupported = unsupportedNodes(proto.graph);
    if (unsupported.length > 0) fail("E_UNSUPPORTED", `loadOnnx: ${unsupported.length} node(s) use operators recur does not run: ${unsupported.join(", ")}`);
    const ext = options.externalData;
    const external = ext === undefined ? undefined : (entries: Record<string, string>, name: string): Uint8Array => {
      const location = entries.location ?? "";
      const bytes = typeof ext === "function" ? ext(location) : ext[location];
      if (!(bytes instanceof Uint8Array)) fail("E_VALUE", `loadOnnx: tensor "${name}" keeps its data in "${location}", which options.externalData does not provide`);
      const offset = Number(entries.offset ?? 0);
      const length = entries.length !== undefined ? Number(entries.length) : bytes.length - offset;
      if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length)) fail("E_FORMAT", `loadOnnx: malformed file: tensor "${name}" reads bytes ${offset}..${offset + length} of "${location}", which has ${bytes.length}`);
      return bytes.subarray(offset, offset + length);
    };
    // Recurrent nodes build recur models, convolutions and element-wise nodes use the full
    // module's kernels: fail early and clearly before init() or on a core-only runtime.
    fullRuntime("loadOnnx");
    this.exec = new Executor(proto, opset, external);
    this.feedSlots = [...this.exec.inputSlots].map(([name, slot]) => {
      const info = proto.graph.inputs.find((v) => v.name === name)!;
      const dtype = dtypeOf(info.elemType);
      if (dtype === undefined) {
        this.exec.dispose();
        fail("E_UNSUPPORTED", `loadOnnx: input "${name}" has type ${dtypeName(info.elemType)}`);
      }
      return { info, slot, dtype, value: { dtype, shape: [], data: alloc(dtype, 0) } };
    });
    this.inputs = this.feedSlots.map((f) => valueInfo(f.info));
    this.outputs = proto.graph.outputs.map(valueInfo);
  }

  /** What runs each node: a fused recur kernel, TypeScript, folded at load, or removed. */
  get nodes(): readonly NodeReport[] {
    return this.exec.report;
  }

  /**
   * Runs the model. Every graph input must be fed with its declared type and a shape that fits
   * its declared dimensions (a symbolic dimension takes one size per call across all inputs).
   * Returns every graph output by name.
   */
  run(feeds: Record<string, OnnxFeed>): Record<string, OnnxTensor> {
    if (this.disposed) fail("E_STATE", "OnnxModel.run: the model was disposed");
    if (typeof feeds !== "object" || feeds === null) fail("E_TYPE", "OnnxModel.run: feeds must be an object of named tensors");
    for (const name in feeds) {
      if (!this.exec.inputSlots.has(name)) fail("E_KEY", `OnnxModel.run: the model has no input "${name}" (inputs: ${this.inputs.map((i) => i.name).join(", ")})`);
    }
    const symbols = this.symbols;
    symbols.names.length = 0;
    symbols.sizes.length = 0;
    for (const f of this.feedSlots) this.bind(f, feeds[f.info.name], symbols);
    const values = this.exec.values;
    for (const f of this.feedSlots) values[f.slot] = f.value;
    this.exec.runProgram(this.exec.main);
    const { outputSlots, outputNames } = this.exec.main;
    for (let i = 0; i < outputSlots.length; i++) this.results[outputNames[i]] = values[outputSlots[i]]!;
    return this.results;
  }

  private bind(f: OnnxModel["feedSlots"][number], feed: OnnxFeed | undefined, symbols: OnnxModel["symbols"]): void {
    const name = f.info.name;
    if (feed === undefined) fail("E_KEY", `OnnxModel.run: input "${name}" is not fed (inputs: ${this.inputs.map((i) => i.name).join(", ")})`);
    if (typeof feed !== "object" || feed === null || !Array.isArray(feed.shape)) fail("E_TYPE", `OnnxModel.run: input "${name}" must be a tensor { shape, data }`);
    const shape = feed.shape;
    for (let i = 0; i < shape.length; i++) if (!Number.isInteger(shape[i]) || shape[i] < 0) fail("E_SHAPE", `OnnxModel.run: input "${name}" has shape [${shape.join(", ")}]`);
    const n = numel(shape);
    const data = feed.data;
    const want = f.dtype;
    const ok =
      (want === "float32" && data instanceof Float32Array) ||
      (want === "float64" && data instanceof Float64Array) ||
      (want === "int64" && data instanceof BigInt64Array) ||
      (want === "int32" && data instanceof Int32Array) ||
      (want === "int8" && data instanceof Int8Array) ||
      ((want === "uint8" || want === "bool") && data instanceof Uint8Array);
    const int32ForInt64 = want === "int64" && data instanceof Int32Array;
    if (!ok && !int32ForInt64) {
      const got = (data as object | undefined)?.constructor?.name ?? typeof data;
      const js = { float32: "Float32Array", float64: "Float64Array", int64: "BigInt64Array (or Int32Array)", int32: "Int32Array", int8: "Int8Array", uint8: "Uint8Array", bool: "Uint8Array" }[want];
      fail("E_TYPE", `OnnxModel.run: input "${name}" is ${want}: pass a ${js}, got ${got}`);
    }
    if (data.length !== n) fail("E_SHAPE", `OnnxModel.run: input "${name}" has ${data.length} values, its shape [${shape.join(", ")}] needs ${n}`);
    const declared = f.info.shape;
    if (declared !== undefined) {
      if (declared.length !== shape.length) fail("E_SHAPE", `OnnxModel.run: input "${name}" must have rank ${declared.length} ([${describeDims(declared)!.map((d) => d ?? "?").join(", ")}]), got [${shape.join(", ")}]`);
      // A plain loop: a callback here would allocate its closure on every run.
      for (let i = 0; i < declared.length; i++) {
        const d = declared[i];
        if (d.value !== undefined && d.value > 0 && shape[i] !== d.value) fail("E_SHAPE", `OnnxModel.run: input "${name}" dimension ${i} must be ${d.value}, got ${shape[i]} (shape [${shape.join(", ")}])`);
        if (d.param) {
          const at = symbols.names.indexOf(d.param);
          if (at < 0) {
            symbols.names.push(d.param);
            symbols.sizes.push(shape[i]);
          } else if (symbols.sizes[at] !== shape[i]) fail("E_SHAPE", `OnnxModel.run: dimension "${d.param}" is ${symbols.sizes[at]} in one input and ${shape[i]} in input "${name}"`);
        }
      }
    }
    const v = f.value;
    if (int32ForInt64) {
      if (f.converted === undefined || f.converted.length !== n) f.converted = new BigInt64Array(n);
      castInto(data, "int32", f.converted, "int64");
      v.data = f.converted;
    } else v.data = data;
    v.shape.length = shape.length;
    for (let i = 0; i < shape.length; i++) v.shape[i] = shape[i];
  }

  /**
   * A stream over a stateful graph: each `step` feeds the state inputs with the state outputs of
   * the step before (the first from zeros or `initial`). `pairs` defaults to statePairs().
   */
  stream(options: { pairs?: StatePair[]; initial?: Record<string, OnnxFeed>; batch?: number } = {}): OnnxStream {
    return new OnnxStream(this, options.pairs ?? this.statePairs(), options.initial, options.batch ?? 1);
  }

  /**
   * Inputs that look like recurrent state paired with their next value by the usual export names:
   * `state`/`stateN`, `h`/`hn`, `c`/`cn`, `h0`/`hN`, `x_in`/`x_out`, `x`/`x_out`/`x_next`.
   */
  statePairs(): StatePair[] {
    const outs = this.outputs.map((o) => o.name);
    const pairs: StatePair[] = [];
    for (const i of this.inputs) {
      const base = i.name.replace(/(_in|_0|0|_prev|_t)$/i, "");
      const candidates = [`${i.name}N`, `${i.name}n`, `${i.name}_n`, `${i.name}_out`, `${i.name}_next`, `${base}N`, `${base}n`, `${base}_n`, `${base}_out`, `${base}_next`, `${base}_new`];
      const match = outs.find((o) => o !== i.name && candidates.some((c) => c.toLowerCase() === o.toLowerCase()));
      if (match !== undefined) pairs.push({ input: i.name, output: match });
    }
    return pairs;
  }

  /** Returns the Wasm memory of the recurrent nodes. Using the model afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.exec.dispose();
  }
}

/**
 * Steps a stateful graph. The state inputs are fed from arrays the stream owns. After a step,
 * each state output's array is traded with the stream's array for that state (no copy): the
 * stream keeps the new state, and the node that produced it writes the next one into the array
 * the stream gave back. A state output that is not a node's own array (a view or a feed passed
 * through) is copied with one TypedArray.set. Nothing is allocated per step once warm.
 */
export class OnnxStream {
  private readonly state: Record<string, OnnxFeed & { data: TypedData }> = {};
  private readonly feeds: Record<string, OnnxFeed> = {};
  private readonly initialState: Record<string, TypedData> = {};
  // What step() returns: one tensor object per output, pointed at this step's arrays.
  private readonly results: Record<string, OnnxTensor> = {};
  private readonly traded: OnnxTensor[] = [];

  /** @internal Use `OnnxModel.stream`. */
  constructor(
    /** The model this stream runs. */
    readonly model: OnnxModel,
    /** The state inputs and the outputs fed back into them. */
    readonly pairs: readonly StatePair[],
    initial: Record<string, OnnxFeed> | undefined,
    batch: number,
  ) {
    if (pairs.length === 0) fail("E_VALUE", "OnnxModel.stream: no state inputs (pass pairs: [{ input, output }])");
    for (const { input, output } of pairs) {
      const info = model.inputs.find((i) => i.name === input);
      if (info === undefined) fail("E_KEY", `OnnxModel.stream: the model has no input "${input}"`);
      if (!model.outputs.some((o) => o.name === output)) fail("E_KEY", `OnnxModel.stream: the model has no output "${output}"`);
      const given = initial?.[input];
      let shape: number[];
      let data: TypedData;
      if (given !== undefined) {
        shape = [...given.shape];
        data = given.data.slice() as TypedData;
      } else {
        if (info.shape === undefined) fail("E_SHAPE", `OnnxModel.stream: input "${input}" has no declared shape: pass initial`);
        // Symbolic sizes: the batch for a dimension named like one, else 1.
        shape = info.shape.map((d) => (typeof d === "number" && d > 0 ? d : typeof d === "string" && /batch/i.test(d) ? batch : d === null || typeof d === "string" ? batch : 1));
        // OnnxValueInfo.dtype names one of the DTypes for every input the model accepted.
        data = alloc(info.dtype as DType, numel(shape));
      }
      this.state[input] = { shape, data };
      this.initialState[input] = data.slice() as TypedData;
      this.feeds[input] = this.state[input];
    }
    for (const o of model.outputs) this.results[o.name] = { dtype: "float32", shape: [], data: new Float32Array(0) };
  }

  /**
   * Runs one step with the other inputs in `feeds`; returns every output. The returned tensors
   * and their arrays are valid until the next step (state outputs then become the stream's next
   * input, the others are overwritten): copy what you keep.
   */
  step(feeds: Record<string, OnnxFeed>): Record<string, OnnxTensor> {
    for (const k in feeds) {
      if (k in this.state) fail("E_KEY", `OnnxStream.step: "${k}" is state, which the stream feeds itself`);
      this.feeds[k] = feeds[k];
    }
    // Inputs of an earlier step not fed now are dropped (deleting every key after each step
    // instead would turn the feeds object into a dictionary, which allocates on every step).
    for (const k in this.feeds) if (!(k in feeds) && !(k in this.state)) delete this.feeds[k];
    const out = this.model.run(this.feeds);
    const results = this.results;
    for (const k in out) {
      const r = results[k], o = out[k];
      r.dtype = o.dtype;
      r.shape = o.shape;
      r.data = o.data;
    }
    const traded = this.traded;
    traded.length = 0;
    for (let p = 0; p < this.pairs.length; p++) {
      const { input, output } = this.pairs[p];
      const s = this.state[input];
      const o = out[output];
      if (o.data.length !== s.data.length || o.data.constructor !== s.data.constructor) {
        // The state grew or shrank (a batch change): take the new size once.
        s.data = o.data.slice() as TypedData;
        s.shape = [...o.shape];
      } else {
        // The new state moves to the stream; the node gets the old state's array to write into.
        const mine = traded.includes(o) ? false : trade(o, s.data);
        if (mine === false) (s.data as Float32Array).set(o.data as Float32Array);
        else {
          traded.push(o);
          s.data = mine;
        }
        let same = s.shape.length === o.shape.length;
        for (let i = 0; same && i < o.shape.length; i++) same = s.shape[i] === o.shape[i];
        if (!same) s.shape = [...o.shape];
      }
      results[output].data = s.data;
    }
    return results;
  }

  /** The current value of a state input. */
  get(input: string): OnnxFeed {
    const s = this.state[input];
    if (s === undefined) fail("E_KEY", `OnnxStream.get: "${input}" is not a state input`);
    return s;
  }

  /**
   * Back to the initial state, in new arrays: the tensors the last step returned keep their
   * values (a reset is rare; a step is what must not allocate).
   */
  reset(): void {
    for (const k in this.initialState) {
      const s = this.state[k];
      s.data = this.initialState[k].slice() as TypedData;
    }
  }
}

/**
 * Parses an ONNX model (the bytes of a .onnx file) and prepares it to run. Call `init()` first.
 * A malformed file fails with E_FORMAT; operators or attributes recur cannot run fail with
 * E_UNSUPPORTED naming every such node. Nothing runs until `run`.
 */
export function loadOnnx(bytes: Uint8Array | ArrayBuffer, options: LoadOnnxOptions = {}): OnnxModel {
  const buf = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(buf instanceof Uint8Array)) fail("E_TYPE", "loadOnnx: pass the file's bytes as a Uint8Array or ArrayBuffer");
  let proto: ProtoModel;
  try {
    proto = readModelProto(buf);
  } catch (e) {
    if (e instanceof RecurError) throw e;
    throw new RecurError("E_FORMAT", `loadOnnx: malformed file: ${(e as Error).message}`);
  }
  return new OnnxModel(proto, options);
}

/** @internal Parses the file without preparing it to run (no init() needed): for `recur info`. */
export function readOnnx(bytes: Uint8Array): ProtoModel {
  return readModelProto(bytes);
}
