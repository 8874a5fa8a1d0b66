import { init } from "../runtime.js";
import { parseArgs } from "./args.js";
import { loadCharModel } from "./files.js";

const HELP = `Usage: recur sample <model> [options]

Generates text from a character model written by \`recur train\` or \`npm start\` (a .safetensors
file with its vocabulary in the metadata) and prints it on stdout.

Options:
  -n, --length <n>        characters to generate (default 500)
  -t, --temperature <x>   > 0; lower is more conservative, higher more varied (default 0.8)
  -k, --top-k <n>         sample among the k most likely characters only, 0 = all (default 0)
  -p, --prime <text>      text fed to the model first, and printed before the sample
                          (default: a newline)
  --seed <n>              seed of the sampling (default 0)
  -h, --help              show this help`;

const SPEC = {
  length: { type: "int", min: 0, default: 500, short: "n" },
  temperature: { type: "number", min: 0, exclusiveMin: true, default: 0.8, short: "t" },
  "top-k": { type: "int", min: 0, default: 0, short: "k" },
  prime: { type: "string", short: "p" },
  seed: { type: "int", min: 0, default: 0 },
} as const;

export async function sampleCommand(args: string[]): Promise<number> {
  const { options: o, positionals, help } = parseArgs(args, SPEC, { min: 1, max: 1, names: ["model file"] });
  if (help) {
    console.log(HELP);
    return 0;
  }
  await init();
  const { lm } = await loadCharModel(positionals[0]);
  try {
    const prime = o.prime === undefined || o.prime === "" ? undefined : o.prime;
    const text = lm.sample({ length: o.length, temperature: o.temperature, topK: o["top-k"], seed: o.seed, ...(prime !== undefined ? { prime } : {}) });
    process.stdout.write(`${prime ?? ""}${text}\n`);
    return 0;
  } finally {
    lm.dispose();
  }
}
