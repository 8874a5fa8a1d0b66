import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatParityResult, runParityCase, type ParityResult } from "../parity.js";
import { init } from "../runtime.js";
import { UsageError } from "./args.js";
import { onnxParity } from "./onnx.js";

const HELP = `Usage: recur parity [--forward-only] <file-or-dir>...
       recur parity --onnx <model.onnx> [--feeds f.json] [--dim n=size] [--set name=v] [--steps n]

Runs fixture files of the PyTorch reference format (one JSON case per file; a directory means
every *.json in it) through recur and prints one line per case: each tensor's worst absolute
error against its tolerance. The last line is "N passed, M failed". Exit status 1 if any case
failed or could not be run.

With --onnx, compares recur with onnxruntime-node on one ONNX file (see recur parity --onnx --help).

Options:
  --forward-only   check outputs and final states only (no gradients, no training runs)
  -h, --help       show this help`;

async function expand(path: string): Promise<string[]> {
  const s = await stat(path);
  if (!s.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => n.endsWith(".json")).sort();
  return names.map((n) => join(path, n));
}

export async function parityCommand(args: string[]): Promise<number> {
  if (args.includes("--onnx")) return onnxParity(args);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const forwardOnly = args.includes("--forward-only");
  const unknown = args.filter((a) => a.startsWith("-") && a !== "--forward-only");
  if (unknown.length) throw new UsageError(`unknown option ${unknown[0]}`);
  const paths = args.filter((a) => !a.startsWith("-"));
  if (paths.length === 0) throw new UsageError("no fixture files given");
  await init();
  let passed = 0;
  let failed = 0;
  for (const p of paths) {
    let files: string[];
    try {
      files = await expand(p);
    } catch (err) {
      console.log(`FAIL ${p}: ${err instanceof Error ? err.message : String(err)}`);
      failed++;
      continue;
    }
    for (const file of files) {
      let result: ParityResult;
      try {
        result = runParityCase(JSON.parse(await readFile(file, "utf8")) as unknown, { forwardOnly });
      } catch (err) {
        result = { name: file, passed: false, checks: [], reason: `cannot read: ${err instanceof Error ? err.message : String(err)}` };
      }
      console.log(formatParityResult(result));
      if (result.skipped) continue;
      if (result.passed) passed++;
      else failed++;
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
