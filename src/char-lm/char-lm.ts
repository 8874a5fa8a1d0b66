/**
 * Character-level language models: text -> vocabulary -> batches of windows, training with `fit`
 * (time budget, progress, cancellation, truncated BPTT), sampling back to text, and weight files
 * that carry their vocabulary. The CLI (`recur train`, `recur sample`, `npm start`), the examples
 * and the browser demo all go through this module.
 */
import { fail, RecurError } from "../errors.js";
import { describe, own, parseJson } from "../io/json.js";
import { loadCheckpoint, optimizerFromState, saveCheckpoint } from "../io/checkpoint.js";
import { saveModel } from "../io/model-file.js";
import { createRng } from "../random.js";
import { fit } from "../train/fit.js";
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from "../train/optimizers.js";
import { SequenceModel, type SequenceBatch } from "../train/sequence-model.js";
import { sequenceBeamSearch } from "../train/sequence-beam.js";
import { integer, objectArgument, show } from "../validate.js";

// The longest string V8 makes (2^29 - 24 UTF-16 units), in characters of up to two units.
const MAX_SAMPLE_LENGTH = 2 ** 28 - 12;

/** The metadata key of weight files that holds the vocabulary (a JSON array of characters). */
export const VOCAB_KEY = "recur.vocab";

/** Characters <-> ids. A character is one Unicode code point, so astral characters stay whole. */
export class CharVocab {
  /** The characters; a character's id is its index here. */
  readonly chars: readonly string[];
  private readonly index: Map<string, number>;

  constructor(chars: Iterable<string>) {
    const list = [...chars];
    const index = new Map<string, number>();
    list.forEach((c, i) => {
      if (typeof c !== "string" || [...c].length !== 1) fail("E_VALUE", `CharVocab: entry ${i} must be a single character, got ${show(c)}`);
      if (index.has(c)) fail("E_VALUE", `CharVocab: character ${JSON.stringify(c)} appears twice`);
      index.set(c, i);
    });
    if (list.length === 0) fail("E_VALUE", "CharVocab: the vocabulary is empty");
    this.chars = Object.freeze(list);
    this.index = index;
  }

  /** Every distinct character of the text, in code-point order (so equal texts give equal ids). */
  static fromText(text: string): CharVocab {
    if (typeof text !== "string" || text.length === 0) fail("E_VALUE", "CharVocab.fromText: the text is empty");
    const set = new Set(text);
    return new CharVocab([...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** Number of characters. */
  get size(): number {
    return this.chars.length;
  }

  /** Whether `char` is in the vocabulary. */
  has(char: string): boolean {
    return this.index.has(char);
  }

  /** Ids of the text's characters; a character outside the vocabulary is an E_VALUE error naming it. */
  encode(text: string): Int32Array {
    const chars = [...text];
    const out = new Int32Array(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const id = this.index.get(chars[i]);
      if (id === undefined) fail("E_VALUE", `CharVocab.encode: character ${JSON.stringify(chars[i])} (position ${i}) is not in the vocabulary`);
      out[i] = id;
    }
    return out;
  }

  /** The text of the ids; an id outside the vocabulary is an E_VALUE error. */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]];
      if (c === undefined) fail("E_VALUE", `CharVocab.decode: id ${ids[i]} is outside 0..${this.size - 1}`);
      s += c;
    }
    return s;
  }
}

/** The optimizers `CharLM.train` can create by name. */
export type OptimizerName = "adam" | "adamw" | "sgd" | "rmsprop" | "adagrad";

/** The model of a new `CharLM`. */
export interface CharLMOptions {
  /** Default "LSTM". */
  cell?: "LSTM" | "GRU" | "RNN" | "MRNN";
  /** MRNN only: factors (see MRNNOptions). Default hiddenSize. */
  factorSize?: number;
  /** Default 128. */
  hiddenSize?: number;
  /** Default 1. */
  numLayers?: number;
  /** Default 32. */
  embeddingDim?: number;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** What `CharLM.train` reports to `onProgress`. */
export interface CharLMProgress {
  /** Updates done. */
  step: number;
  /** Updates planned; undefined when only a time budget bounds training. */
  steps?: number;
  /** Mean training loss (nats per character) since the last report. */
  loss: number;
  /** Characters trained on per second so far. */
  charsPerSecond: number;
  /** Training time so far. */
  elapsedMs: number;
  /** Estimated time left: whichever of the step count and the time budget ends first. */
  remainingMs: number;
  /** Done so far, 0..1. */
  fraction: number;
}

/** Options of `CharLM.train`. */
export interface CharLMTrainOptions {
  /** Training text (every character must be in the vocabulary). */
  text: string;
  /** Stop after this many updates. Give this, timeBudgetMs, or both. */
  steps?: number;
  /** Stop after this much training time. */
  timeBudgetMs?: number;
  /** Characters per training window. Default 64. */
  seqLength?: number;
  /** Windows per update. Default 32. */
  batchSize?: number;
  /**
   * The optimizer: a name (created over the model, and kept for later `train` calls and
   * checkpoints) or an instance (e.g. resumed with optimizerFromState). Default: the model's
   * current optimizer, else "adam".
   */
  optimizer?: OptimizerName | Optimizer;
  /** Learning rate of a named optimizer. Default 3e-3 (0.1 for SGD). */
  lr?: number;
  /** Clip the global gradient norm. Default 5; 0 disables. */
  clipGradNorm?: number;
  /**
   * Truncated BPTT: one update per chunk of this many characters, the state carried across the
   * chunks of a window. Default: off (one update per window, gradients through all of it).
   */
  tbptt?: number;
  /** Seed of the window positions. Default 0. */
  seed?: number;
  /** Called after every `progressEvery` updates; returning false stops training. */
  onProgress?: (p: CharLMProgress) => void | boolean;
  /** Updates between reports. Default 1. */
  progressEvery?: number;
  /** Stops training when aborted (the updates done so far are kept). */
  signal?: AbortSignal;
}

/** What `CharLM.train` returns. */
export interface CharLMTrainResult {
  /** Loss of every update (nats per character). */
  losses: number[];
  /** Updates made. */
  steps: number;
  /** Training time. */
  elapsedMs: number;
  /** Why training ended: all steps done, out of time, aborted, or the callback returned false. */
  stopped: "done" | "time" | "aborted" | "callback";
}

/** Options of `CharLM.sample`. */
export interface CharLMSampleOptions {
  /** Characters to generate. */
  length: number;
  /** Default 1. Lower is more conservative. */
  temperature?: number;
  /** Sample only among the k most likely characters; 0 (default) means all. */
  topK?: number;
  /** Text fed before sampling. Default a newline when the vocabulary has one, else its first character. */
  prime?: string;
  /** Default 0. */
  seed?: number;
}

/** Options of `CharLM.beamSearch`. */
export interface CharLMBeamOptions {
  /** Most characters to generate. */
  length: number;
  /** Hypotheses kept at every step. Default 4. */
  width?: number;
  /** α of the length normalisation (log p / n^α). Default 1. */
  lengthNormalization?: number;
  /** Text fed first. Default as in `sample`. */
  prime?: string;
  /** A character that ends the text (kept in it), e.g. "\n". Default: none. */
  stop?: string;
}

/** A character-level language model: Embedding -> RNN/LSTM/GRU/MRNN -> Linear over a CharVocab. */
export class CharLM {
  /** The characters the model reads and writes. */
  readonly vocab: CharVocab;
  /** Embedding -> recurrent layers -> Linear head over the vocabulary. */
  readonly model: SequenceModel;
  /** The optimizer of the last `train` call (or of a loaded checkpoint), reused by later calls. */
  optimizer: Optimizer | undefined;

  constructor(vocab: CharVocab, options: CharLMOptions | SequenceModel = {}) {
    if (!(vocab instanceof CharVocab)) fail("E_TYPE", "CharLM: vocab must be a CharVocab");
    this.vocab = vocab;
    if (options instanceof SequenceModel) {
      const o = options.options;
      if (o.vocabSize !== vocab.size || o.outputSize !== vocab.size || o.outputs !== "sequence" || o.loss !== "crossEntropy") {
        fail("E_VALUE", `CharLM: the model must be a token model with vocabSize = outputSize = ${vocab.size} (the vocabulary), outputs "sequence" and cross-entropy`);
      }
      this.model = options;
    } else {
      this.model = new SequenceModel({
        cell: options.cell ?? "LSTM",
        vocabSize: vocab.size,
        embeddingDim: options.embeddingDim ?? 32,
        hiddenSize: options.hiddenSize ?? 128,
        numLayers: options.numLayers ?? 1,
        ...(options.cell === "MRNN" ? { factorSize: options.factorSize ?? options.hiddenSize ?? 128 } : {}),
        outputSize: vocab.size,
        seed: options.seed ?? 0,
      });
    }
  }

  /** A new model over the vocabulary of `text`. */
  static fromText(text: string, options: CharLMOptions = {}): CharLM {
    objectArgument("CharLM.fromText", options);
    return new CharLM(CharVocab.fromText(text), options);
  }

  /**
   * Reads a file written by `save` (a model, or a checkpoint with its optimizer). Files without
   * a vocabulary (plain models) are rejected: their ids cannot be turned back into text.
   */
  static load(bytes: Uint8Array | ArrayBuffer): CharLM {
    const where = "CharLM.load";
    const ck = loadCheckpoint(bytes);
    // All or nothing: the model (and an optimizer) built from the file are disposed on any failure.
    try {
      if (ck.type !== "SequenceModel") fail("E_FORMAT", `${where}: not a character model (the file holds a ${ck.type}, not a SequenceModel)`);
      const raw = own(ck.metadata, VOCAB_KEY);
      if (raw === undefined) fail("E_FORMAT", `${where}: not a character model (no "${VOCAB_KEY}" vocabulary in the metadata)`);
      const chars = parseJson(where, `the ${VOCAB_KEY} metadata`, raw);
      if (!Array.isArray(chars)) fail("E_FORMAT", `${where}: the ${VOCAB_KEY} metadata must be a JSON array of characters, got ${describe(chars)}`);
      const lm = new CharLM(new CharVocab(chars as string[]), ck.model);
      if (ck.optimizerState) lm.optimizer = optimizerFromState(lm.model, ck.optimizerState);
      return lm;
    } catch (err) {
      ck.model.dispose();
      if (err instanceof RecurError && err.code !== "E_MEMORY") throw new RecurError(err.code === "E_TYPE" || err.code === "E_VALUE" ? "E_FORMAT" : err.code, err.message.startsWith(where) ? err.message : `${where}: ${err.message}`);
      throw err;
    }
  }

  /**
   * A .safetensors file with the vocabulary in its metadata; with `checkpoint: true` (and an
   * optimizer) also the optimizer's state, so `load` + `train` continue exactly.
   */
  save(options: { checkpoint?: boolean; metadata?: Record<string, string> } = {}): Uint8Array {
    objectArgument("CharLM.save", options);
    const metadata = { ...options.metadata, [VOCAB_KEY]: JSON.stringify(this.vocab.chars) };
    if (options.checkpoint && this.optimizer) return saveCheckpoint(this.model, this.optimizer, metadata);
    return saveModel(this.model, metadata);
  }

  /** Trains on random windows of the text; see CharLMTrainOptions. */
  async train(options: CharLMTrainOptions): Promise<CharLMTrainResult> {
    const o = options;
    if (typeof o.text !== "string") fail("E_TYPE", "CharLM.train: text must be a string");
    const seqLength = o.seqLength ?? 64;
    const batchSize = o.batchSize ?? 32;
    positiveInt("seqLength", seqLength);
    positiveInt("batchSize", batchSize);
    if (o.steps === undefined && o.timeBudgetMs === undefined) fail("E_VALUE", "CharLM.train: give steps, timeBudgetMs or both");
    if (o.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 0)) fail("E_VALUE", `CharLM.train: steps must be an integer >= 0, got ${show(o.steps)}`);
    if (o.timeBudgetMs !== undefined && !(o.timeBudgetMs >= 0)) fail("E_VALUE", `CharLM.train: timeBudgetMs must be >= 0, got ${show(o.timeBudgetMs)}`);
    if (o.tbptt !== undefined) positiveInt("tbptt", o.tbptt);
    const every = o.progressEvery ?? 1;
    positiveInt("progressEvery", every);
    const clip = o.clipGradNorm ?? 5;
    if (!(clip >= 0)) fail("E_VALUE", `CharLM.train: clipGradNorm must be >= 0, got ${show(clip)}`);

    const ids = this.vocab.encode(o.text);
    if (ids.length < seqLength + 1) fail("E_VALUE", `CharLM.train: the text has ${ids.length} characters; it needs at least seqLength + 1 = ${seqLength + 1}`);
    const optimizer = this.optimizerFor(o.optimizer, o.lr);
    const rng = createRng(o.seed ?? 0);
    const batch = (): SequenceBatch => {
      const input = new Int32Array(seqLength * batchSize);
      const target = new Int32Array(seqLength * batchSize);
      for (let b = 0; b < batchSize; b++) {
        const start = rng.int(ids.length - seqLength);
        for (let t = 0; t < seqLength; t++) {
          input[t * batchSize + b] = ids[start + t];
          target[t * batchSize + b] = ids[start + t + 1];
        }
      }
      return { input: { shape: [seqLength, batchSize], data: input }, target: { shape: [seqLength, batchSize], data: target } };
    };

    // fit needs a step count; with only a time budget the callback ends training.
    const steps = o.steps ?? Number.MAX_SAFE_INTEGER;
    const budget = o.timeBudgetMs ?? Infinity;
    let outOfTime = false;
    let windowLoss = 0;
    let windowCount = 0;
    const start = performance.now();
    const r = await fit(this.model, {
      optimizer,
      data: () => batch(),
      steps,
      ...(clip > 0 ? { clipGradNorm: clip } : {}),
      ...(o.tbptt ? { tbptt: { k1: o.tbptt } } : {}),
      progressEvery: 1,
      signal: o.signal,
      onProgress: (p) => {
        const elapsedMs = performance.now() - start;
        windowLoss += p.loss;
        windowCount++;
        const byTime = budget === Infinity ? 0 : elapsedMs / budget;
        const bySteps = o.steps === undefined ? 0 : o.steps === 0 ? 1 : p.step / o.steps;
        const fraction = Math.min(1, Math.max(byTime, bySteps));
        outOfTime = elapsedMs >= budget;
        const last = outOfTime || p.step === o.steps;
        if (o.onProgress && (p.step % every === 0 || last)) {
          const remainingMs = Math.max(0, Math.min(budget - elapsedMs, o.steps === undefined ? Infinity : (elapsedMs / p.step) * (o.steps - p.step)));
          const report: CharLMProgress = {
            step: p.step,
            ...(o.steps !== undefined ? { steps: o.steps } : {}),
            loss: windowLoss / windowCount,
            charsPerSecond: p.stepsPerSecond,
            elapsedMs,
            remainingMs,
            fraction,
          };
          windowLoss = 0;
          windowCount = 0;
          if (o.onProgress(report) === false) return false;
        }
        return !outOfTime;
      },
    });
    const stopped = r.stopped === "callback" && outOfTime ? "time" : r.stopped;
    return { losses: r.losses, steps: r.steps, elapsedMs: performance.now() - start, stopped };
  }

  /**
   * Mean cross-entropy (nats per character) of predicting each character of `text` from the
   * ones before it, in windows of `seqLength` characters that each start from the zero state
   * (as in training). Bits per character = loss / ln 2.
   */
  evaluate(text: string, options: { seqLength?: number } = {}): number {
    objectArgument("CharLM.evaluate", options);
    const seqLength = options.seqLength ?? 64;
    positiveInt("seqLength", seqLength);
    const ids = this.vocab.encode(text);
    if (ids.length < 2) fail("E_VALUE", "CharLM.evaluate: the text needs at least 2 characters");
    const T = Math.min(seqLength, ids.length - 1);
    const B = Math.floor((ids.length - 1) / T);
    const input = new Int32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) input[t * B + b] = ids[b * T + t];
    const logits = this.model.predict({ input: { shape: [T, B], data: input } }).data;
    const V = this.vocab.size;
    let total = 0;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const row = (t * B + b) * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
        total += Math.log(sum) + max - logits[row + ids[b * T + t + 1]];
      }
    }
    return total / (T * B);
  }

  /** Generated text (without the prime). Deterministic for a given seed. */
  sample(options: CharLMSampleOptions): string {
    objectArgument("CharLM.sample", options);
    const prime: unknown = options.prime === undefined ? (this.vocab.has("\n") ? "\n" : this.vocab.chars[0]) : options.prime;
    if (typeof prime !== "string") fail("E_TYPE", `CharLM.sample: prime must be a string, got ${describe(prime)}`);
    if (prime.length === 0) fail("E_VALUE", "CharLM.sample: prime must not be empty");
    integer("CharLM.sample", "length", options.length, { max: MAX_SAMPLE_LENGTH });
    const ids = this.model.sample({
      prime: this.vocab.encode(prime),
      length: options.length,
      temperature: options.temperature ?? 1,
      topK: options.topK ?? 0,
      seed: options.seed ?? 0,
    });
    return this.vocab.decode(ids);
  }

  /** The most probable continuation beam search finds (without the prime). */
  beamSearch(options: CharLMBeamOptions): string {
    const prime = options.prime ?? (this.vocab.has("\n") ? "\n" : this.vocab.chars[0]);
    if (prime.length === 0) fail("E_VALUE", "CharLM.beamSearch: prime must not be empty");
    if (options.stop !== undefined && (options.stop.length !== 1 || !this.vocab.has(options.stop))) fail("E_VALUE", `CharLM.beamSearch: stop must be one character of the vocabulary, got ${JSON.stringify(options.stop)}`);
    const [best] = sequenceBeamSearch(this.model, {
      prime: this.vocab.encode(prime),
      length: options.length,
      width: options.width,
      lengthNormalization: options.lengthNormalization,
      end: options.stop === undefined ? undefined : this.vocab.encode(options.stop)[0],
    });
    return this.vocab.decode(best.tokens);
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return Object.values(this.model.stateDict()).reduce((n, t) => n + t.data.length, 0);
  }

  /** Frees the model's and the optimizer's Wasm memory. */
  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = undefined;
    this.model.dispose();
  }

  private optimizerFor(choice: OptimizerName | Optimizer | undefined, lr: number | undefined): Optimizer {
    if (choice !== undefined && typeof choice !== "string") {
      if (choice !== this.optimizer) this.optimizer?.dispose();
      this.optimizer = choice;
      return choice;
    }
    if (choice === undefined && this.optimizer) {
      if (lr !== undefined) this.optimizer.lr = lr;
      return this.optimizer;
    }
    const name = choice ?? "adam";
    const make: Record<OptimizerName, () => Optimizer> = {
      adam: () => new Adam(this.model, { lr: lr ?? 3e-3 }),
      adamw: () => new AdamW(this.model, { lr: lr ?? 3e-3 }),
      rmsprop: () => new RMSprop(this.model, { lr: lr ?? 3e-3 }),
      adagrad: () => new Adagrad(this.model, { lr: lr ?? 3e-2 }),
      sgd: () => new SGD(this.model, { lr: lr ?? 0.1 }),
    };
    if (!Object.hasOwn(make, name)) fail("E_VALUE", `CharLM.train: optimizer must be one of ${Object.keys(make).join(", ")} or an Optimizer, got ${show(name)}`);
    this.optimizer?.dispose();
    this.optimizer = make[name]();
    return this.optimizer;
  }
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) fail("E_VALUE", `CharLM: ${name} must be an integer >= 1, got ${show(v)}`);
}
