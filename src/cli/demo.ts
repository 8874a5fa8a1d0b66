import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CharLM, CharVocab } from "../apps/char-lm.js";
import { backendInfo, init } from "../runtime.js";
import { parseArgs } from "./args.js";
import { writeOutput } from "./files.js";
import { formatCount, formatDuration } from "./progress.js";
import { formatBits, lossCurveSvg, trainWithProgress } from "./train.js";

const HELP = `Usage: recur demo [options]      (npm start)

Trains a character-level LSTM on recur's own source code (the TypeScript and AssemblyScript
files; README.md when the sources are not installed) for about a minute, with a progress bar,
then samples text at two temperatures and writes the model, the samples and the loss curve.

Options:
  --time <seconds>   training time (default 60, or $RECUR_DEMO_SECONDS)
  --quick            a few seconds on a small model, to check that everything works
                     (also $RECUR_DEMO_QUICK=1)
  --out <dir>        where to write (default ./recur-demo)
  -h, --help         show this help`;

const SPEC = {
  time: { type: "number", min: 0 },
  quick: { type: "boolean" },
  out: { type: "string", default: "recur-demo" },
} as const;

const root = fileURLToPath(new URL("../../", import.meta.url));

async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listSources(p)));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The bundled corpus: recur's sources, concatenated with a comment naming each file. */
export async function demoCorpus(): Promise<{ text: string; description: string }> {
  const dirs = ["src", "assembly"].filter((d) => existsSync(join(root, d)));
  const files = (await Promise.all(dirs.map((d) => listSources(join(root, d))))).flat();
  if (files.length > 0) {
    const parts = await Promise.all(files.map(async (f) => `// ${relative(root, f)}\n${await readFile(f, "utf8")}\n`));
    return { text: parts.join(""), description: `${files.length} source files of recur (${dirs.map((d) => `${d}/`).join(", ")})` };
  }
  return { text: await readFile(join(root, "README.md"), "utf8"), description: "recur's README.md" };
}

export async function demoCommand(args: string[]): Promise<number> {
  const { options: o, help } = parseArgs(args, SPEC, { max: 0 });
  if (help) {
    console.log(HELP);
    return 0;
  }
  const quick = o.quick || process.env.RECUR_DEMO_QUICK === "1";
  const envSeconds = process.env.RECUR_DEMO_SECONDS === undefined ? undefined : Number(process.env.RECUR_DEMO_SECONDS);
  if (envSeconds !== undefined && !(envSeconds >= 0)) throw new Error(`RECUR_DEMO_SECONDS must be a number of seconds >= 0, got ${JSON.stringify(process.env.RECUR_DEMO_SECONDS)}`);
  const seconds = o.time ?? envSeconds ?? (quick ? 3 : 60);
  const outDir = resolve(o.out);
  const log = (s: string): void => void process.stderr.write(`${s}\n`);

  await init();
  const { text, description } = await demoCorpus();
  // The last 5 % is held out to measure generalisation, not memorisation.
  const cut = Math.floor(text.length * 0.95);
  const train = text.slice(0, cut);
  const heldOut = text.slice(cut, cut + 20_000);
  const size = quick ? { hiddenSize: 64, seqLength: 32, batchSize: 16 } : { hiddenSize: 128, seqLength: 64, batchSize: 32 };
  const lm = new CharLM(CharVocab.fromText(text), { cell: "LSTM", hiddenSize: size.hiddenSize, embeddingDim: 32, seed: 1 });
  try {
    log(`recur demo: a character-level LSTM learns to write code like recur's own`);
    log(`corpus: ${description}, ${formatCount(text.length)} characters, ${lm.vocab.size} distinct`);
    log(`model: LSTM ${size.hiddenSize} units, ${formatCount(lm.parameterCount)} parameters; ${backendInfo().backend} Wasm backend; training for ${formatDuration(seconds * 1000)}`);
    const before = lm.evaluate(heldOut);
    const result = await trainWithProgress(
      lm,
      { text: train, timeBudgetMs: seconds * 1000, seqLength: size.seqLength, batchSize: size.batchSize, optimizer: "adam", lr: 5e-3, clipGradNorm: 5, seed: 1 },
      process.stderr,
    );
    const after = lm.evaluate(heldOut);
    log(`${result.steps} updates in ${formatDuration(result.elapsedMs)}; held-out loss ${formatBits(before)} -> ${formatBits(after)}`);

    const prime = [..."export function "].every((c) => lm.vocab.has(c)) ? "export function " : undefined;
    const length = quick ? 120 : 400;
    const samples: string[] = [];
    for (const temperature of [0.5, 1.0]) {
      const body = lm.sample({ length, temperature, seed: 7, ...(prime ? { prime } : {}) });
      const block = `--- temperature ${temperature} ---\n${prime ?? ""}${body}\n`;
      samples.push(block);
      process.stdout.write(`\n${block}`);
    }
    const modelPath = join(outDir, "model.safetensors");
    const samplesPath = join(outDir, "samples.txt");
    const plotPath = join(outDir, "loss.svg");
    await writeOutput(modelPath, lm.save({ metadata: { "recur.corpus": description } }));
    await writeOutput(samplesPath, samples.join("\n"));
    await writeOutput(plotPath, lossCurveSvg(result.losses, `char-LSTM on recur's sources (${result.steps} updates)`));
    log(`\nwrote ${modelPath}\n      ${samplesPath}\n      ${plotPath}`);
    const shown = relative(process.cwd(), modelPath).startsWith("..") ? modelPath : relative(process.cwd(), modelPath);
    log(`try: npx recur sample ${shown} --temperature 0.7${prime ? ` --prime "${prime}"` : ""}`);
    return result.stopped === "aborted" ? 130 : 0;
  } finally {
    lm.dispose();
  }
}
