import { basename, dirname, extname, join } from "node:path";
import { CharLM, CharVocab, type CharLMProgress, type CharLMTrainResult, type OptimizerName } from "../char-lm/index.js";
import { init } from "../runtime.js";
import { parseArgs, UsageError } from "./args.js";
import { exists, loadCharModel, readText, writeOutput } from "./files.js";
import { formatCount, formatDuration, ProgressBar, type ProgressStream } from "./progress.js";
import { linePlot, movingAverage } from "./svg.js";

const HELP = `Usage: recur train <text-file> [options]

Trains a character-level language model on a text file and writes it as .safetensors (with its
vocabulary, for \`recur sample\`). With --checkpoint, an existing checkpoint is resumed (model,
vocabulary, optimizer state and the loss history: steps and the loss curve continue) and the
checkpoint is written back when training ends, also on Ctrl-C. Training stops after --steps more
updates or --time seconds, whichever comes first (default: --time 60). Losses are in bits per
character (the cross-entropy divided by ln 2).

Model (a checkpoint's own are kept; a warning names any given here that differs):
  --cell <lstm|gru|rnn|mrnn> recurrent cell (default lstm)
  --factor-size <n>          mrnn only: factors (default: the hidden size)
  --hidden-size <n>          hidden units per layer (default 128)
  --layers <n>               stacked layers (default 1)
  --embedding <n>            character embedding size (default 32)
  --seed <n>                 seed of the initial weights and of the batches (default 0)

Training:
  --seq-length <n>           characters per training window (default 64)
  --batch <n>                windows per update (default 32)
  --optimizer <name>         adam, adamw, sgd, rmsprop or adagrad (default adam)
  --lr <x>                   learning rate (default 0.003; sgd 0.1, adagrad 0.03)
  --clip <x>                 clip the global gradient norm to x, 0 = off (default 5)
  --tbptt <n>                truncated BPTT: one update per n characters, state carried
  --steps <n>                stop after n more updates
  --time <seconds>           stop after this much training time
  --checkpoint <path>        resume from this checkpoint if it exists; write it at the end

Output:
  --out <path>               the trained model (default: beside the text file, with the
                             extension .safetensors)
  --plot <path>              also write the loss curve as SVG (all steps, resumed ones too)
  --sample <n>               characters to sample at the end (default 200, 0 = none)
  -q, --quiet                no progress bar
  -h, --help                 show this help`;

const SPEC = {
  cell: { type: "string", choices: ["LSTM", "GRU", "RNN", "MRNN"], default: "LSTM" },
  "factor-size": { type: "int", min: 1 },
  "hidden-size": { type: "int", min: 1, default: 128 },
  layers: { type: "int", min: 1, default: 1 },
  embedding: { type: "int", min: 1, default: 32 },
  seed: { type: "int", min: 0, default: 0 },
  "seq-length": { type: "int", min: 1, default: 64 },
  batch: { type: "int", min: 1, default: 32 },
  optimizer: { type: "string", choices: ["adam", "adamw", "sgd", "rmsprop", "adagrad"] },
  lr: { type: "number", min: 0, exclusiveMin: true },
  clip: { type: "number", min: 0, default: 5 },
  tbptt: { type: "int", min: 1 },
  steps: { type: "int", min: 0 },
  time: { type: "number", min: 0 },
  checkpoint: { type: "string" },
  out: { type: "string" },
  plot: { type: "string" },
  sample: { type: "int", min: 0, default: 200 },
  quiet: { type: "boolean", short: "q" },
} as const;

/** The metadata key of a checkpoint's loss history: `{ "losses": [...] }`, nats per update. */
export const HISTORY_KEY = "recur.history";

/** Cross-entropy in nats -> bits per character, the unit every loss is shown in. */
export const bitsPerChar = (nats: number): number => nats / Math.LN2;

/** "2.345 bits/char" */
export const formatBits = (nats: number): string => `${bitsPerChar(nats).toFixed(3)} bits/char`;

/** "step 120/500  loss 3.079 bits/char  14.0k chars/s  0:43 left" */
export function formatTrainStatus(p: CharLMProgress): string {
  const step = p.steps !== undefined ? `${p.step}/${p.steps}` : `${p.step}`;
  return `step ${step}  loss ${formatBits(p.loss)}  ${formatCount(p.charsPerSecond)} chars/s  ${formatDuration(p.remainingMs)} left`;
}

/** The loss curve of a training run (losses in nats, one per update from step `first`), raw and smoothed, in bits per character. */
export function lossCurveSvg(losses: readonly number[], title: string, first = 1): string {
  const window = Math.max(1, Math.round(losses.length / 50));
  const bits = losses.map(bitsPerChar);
  const x = bits.map((_, i) => first + i);
  return linePlot(
    [
      { label: "loss per update", x, y: bits, color: "#9ec5e8" },
      { label: `mean of ${window}`, x, y: movingAverage(bits, window), color: "#1f4e96" },
    ],
    { title, xLabel: "update", yLabel: "bits per character" },
  );
}

/** The loss history a checkpoint carries (empty for one written before histories were kept). */
export function readHistory(metadata: Record<string, string>): number[] {
  try {
    const h = JSON.parse(metadata[HISTORY_KEY] ?? "{}") as { losses?: unknown };
    return Array.isArray(h.losses) && h.losses.every((v) => typeof v === "number") ? (h.losses as number[]) : [];
  } catch {
    return [];
  }
}

/** Trains with a progress bar on `stream`, steps numbered from `firstStep`; stops cleanly (returning what was done) on Ctrl-C. */
export async function trainWithProgress(
  lm: CharLM,
  options: Omit<Parameters<CharLM["train"]>[0], "onProgress" | "signal">,
  stream: ProgressStream | undefined,
  firstStep = 1,
): Promise<CharLMTrainResult> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once("SIGINT", onSigint);
  const bar = stream ? new ProgressBar(stream) : undefined;
  const offset = firstStep - 1;
  let last: CharLMProgress | undefined;
  try {
    const result = await lm.train({
      ...options,
      signal: controller.signal,
      onProgress: (p) => {
        last = { ...p, step: p.step + offset, ...(p.steps !== undefined ? { steps: p.steps + offset } : {}) };
        bar?.update(p.fraction, formatTrainStatus(last));
      },
    });
    if (bar && last) bar.done(result.stopped === "done" || result.stopped === "time" ? 1 : last.fraction, formatTrainStatus({ ...last, remainingMs: 0 }));
    if (stream && result.stopped === "aborted") stream.write("interrupted: saving what was trained so far\n");
    return result;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

const MODEL_OPTIONS = [
  ["cell", "cell"],
  ["hidden-size", "hiddenSize"],
  ["layers", "numLayers"],
  ["embedding", "embeddingDim"],
  ["factor-size", "factorSize"],
] as const;

export async function trainCommand(args: string[]): Promise<number> {
  const { options: o, positionals, help, given } = parseArgs(args, SPEC, { min: 1, max: 1, names: ["text file"] });
  if (help) {
    console.log(HELP);
    return 0;
  }
  if (given.has("factor-size") && o.cell !== "MRNN") throw new UsageError("--factor-size is for --cell mrnn");
  const [textPath] = positionals;
  const time = o.steps === undefined && o.time === undefined ? 60 : o.time;
  const text = await readText(textPath);
  if (text.length < o["seq-length"] + 1) throw new UsageError(`${textPath} has ${text.length} characters; training needs more than --seq-length (${o["seq-length"]})`);
  const out = o.out ?? join(dirname(textPath), `${basename(textPath, extname(textPath))}.safetensors`);
  await init();

  let lm: CharLM;
  let history: number[] = [];
  let done = 0;
  const resuming = o.checkpoint !== undefined && exists(o.checkpoint);
  if (resuming) {
    const loaded = await loadCharModel(o.checkpoint!);
    lm = loaded.lm;
    history = readHistory(loaded.metadata);
    done = lm.optimizer?.stateDict().step ?? history.length;
    const unknown = [...new Set(text)].filter((c) => !lm.vocab.has(c));
    if (unknown.length) {
      lm.dispose();
      throw new Error(`${textPath} has characters the checkpoint's vocabulary lacks: ${unknown.slice(0, 10).map((c) => JSON.stringify(c)).join(" ")}`);
    }
    const saved = lm.optimizer?.type;
    if (o.optimizer !== undefined && saved !== undefined && o.optimizer !== saved.toLowerCase()) {
      lm.dispose();
      throw new UsageError(`the checkpoint was trained with ${saved}; drop --optimizer or start a new checkpoint`);
    }
    const m = lm.model.options;
    const ignored = MODEL_OPTIONS.filter(([flag, key]) => given.has(flag) && String(o[flag]) !== String(m[key])).map(([flag]) => `--${flag} ${o[flag]}`);
    if (ignored.length) {
      console.error(`warning: ${o.checkpoint} holds a ${m.cell} of ${m.numLayers} x ${m.hiddenSize} units with ${m.embeddingDim}-dim embeddings; ignoring ${ignored.join(" ")}`);
    }
    console.error(`resuming ${o.checkpoint} (${lm.optimizer ? `${lm.optimizer.type}, step ${done}` : "no optimizer state"})`);
  } else {
    lm = new CharLM(CharVocab.fromText(text), { cell: o.cell as "LSTM" | "GRU" | "RNN" | "MRNN", factorSize: o["factor-size"], hiddenSize: o["hidden-size"], numLayers: o.layers, embeddingDim: o.embedding, seed: o.seed });
  }
  try {
    const c = lm.model.options;
    console.error(
      `${c.cell}: ${c.numLayers} x ${c.hiddenSize} units, vocabulary ${lm.vocab.size}, ${formatCount(lm.parameterCount)} parameters; ` +
        `text ${formatCount([...text].length)} characters`,
    );
    const result = await trainWithProgress(
      lm,
      {
        text,
        ...(o.steps !== undefined ? { steps: o.steps } : {}),
        ...(time !== undefined ? { timeBudgetMs: time * 1000 } : {}),
        seqLength: o["seq-length"],
        batchSize: o.batch,
        // A resumed optimizer keeps its state: only a new run names one.
        ...(o.optimizer !== undefined && !(resuming && lm.optimizer) ? { optimizer: o.optimizer as OptimizerName } : {}),
        ...(o.lr !== undefined ? { lr: o.lr } : {}),
        clipGradNorm: o.clip,
        ...(o.tbptt !== undefined ? { tbptt: o.tbptt } : {}),
        // Other windows than the run before (the same seed would replay its first batches).
        seed: o.seed + done,
      },
      o.quiet ? undefined : process.stderr,
      done + 1,
    );
    const losses = [...history, ...result.losses];
    await writeOutput(out, lm.save());
    console.error(`wrote ${out}`);
    if (o.checkpoint !== undefined) {
      const saved = JSON.stringify({ losses: losses.map((v) => Number(v.toPrecision(6))) });
      await writeOutput(o.checkpoint, lm.save({ checkpoint: true, metadata: { [HISTORY_KEY]: saved } }));
      console.error(`wrote checkpoint ${o.checkpoint}`);
    }
    if (o.plot !== undefined) {
      const first = done - history.length + 1;
      await writeOutput(o.plot, lossCurveSvg(losses, `${basename(textPath)}: ${c.cell} ${c.numLayers}x${c.hiddenSize}`, first));
      console.error(`wrote ${o.plot}`);
    }
    const tail = result.losses.slice(-20);
    const span = done > 0 ? ` (steps ${done + 1} to ${done + result.steps})` : "";
    if (tail.length) console.error(`${result.steps} updates in ${formatDuration(result.elapsedMs)}${span}, final loss ${formatBits(tail.reduce((a, b) => a + b, 0) / tail.length)}`);
    if (o.sample > 0) console.log(lm.sample({ length: o.sample, temperature: 0.8, seed: o.seed }));
    return result.stopped === "aborted" ? 130 : 0;
  } finally {
    lm.dispose();
  }
}
