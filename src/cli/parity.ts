import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatParityResult, runParityCase, type ParityResult } from "../parity.js";
import { init } from "../runtime.js";
import { parseArgs, UsageError } from "./args.js";
import { onnxParity } from "./onnx.js";

const HELP = `Usage: recur parity [options] <file-or-folder>...
       recur parity --onnx <model.onnx> [--feeds f.json] [--dim n=size] [--set name=v] [--steps n]

Runs reference cases of the PyTorch format (one JSON case per file; a folder means every *.json
below it, subfolders included) through recur and prints a line per case: PASS or FAIL, and the
tensor farthest from its reference relative to its tolerance; each failing tensor follows on a
line of its own. The last line is "N passed, M failed". Exit status 1 if any case failed, could
not be run, or no case was found. The format is described in docs/parity.md of the repository.

With --onnx, compares recur with onnxruntime-node on one ONNX file (see recur parity --onnx --help).

Options:
  --forward-only   check outputs and final states only (no gradients, no training runs)
  -v, --verbose    every tensor of every case on a line of its own
  -h, --help       show this help`;

const SPEC = {
  "forward-only": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

/** The case files a path names: the file itself, or every *.json below a folder (sorted). */
async function expand(path: string): Promise<string[]> {
  let s;
  try {
    s = await stat(path);
  } catch {
    throw new Error(`no such file: ${path}`);
  }
  if (!s.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await expand(p)));
    else if (entry.name.endsWith(".json")) out.push(p);
  }
  return out;
}

export async function parityCommand(args: string[]): Promise<number> {
  if (args.includes("--onnx")) return onnxParity(args);
  const { options: o, positionals: paths, help } = parseArgs(args, SPEC);
  if (help) {
    console.log(HELP);
    return 0;
  }
  if (paths.length === 0) throw new UsageError("no fixture files given");
  const files: string[] = [];
  for (const p of paths) {
    const found = await expand(p);
    if (found.length === 0) throw new Error(`no *.json case files in ${p}`);
    files.push(...found);
  }
  await init();
  let passed = 0;
  let failed = 0;
  let other = 0;
  const width = Math.max(60, Math.min(100, process.stdout.columns || 100));
  for (const file of files) {
    let result: ParityResult;
    try {
      const json = JSON.parse(await readFile(file, "utf8")) as unknown;
      if (!isCase(json)) {
        // Other JSON beside the cases (data, notes) is named, not counted.
        console.log(`SKIP ${file}: not a reference case (no "module" or training "kind")`);
        other++;
        continue;
      }
      result = runParityCase(json, { forwardOnly: o["forward-only"] });
    } catch (err) {
      result = { name: file, passed: false, checks: [], reason: `cannot read: ${err instanceof Error ? err.message : String(err)}` };
    }
    console.log(formatParityResult(result, { verbose: o.verbose, width }));
    if (result.skipped) continue;
    if (result.passed) passed++;
    else failed++;
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (passed + failed === 0) throw new Error(`no reference cases in ${paths.join(", ")} (${other} other JSON file${other === 1 ? "" : "s"})`);
  return failed > 0 ? 1 : 0;
}

function isCase(json: unknown): boolean {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return true; // runParityCase says what is wrong
  const c = json as Record<string, unknown>;
  return "module" in c || c.kind === "training_trajectory";
}
