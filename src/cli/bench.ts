import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsageError } from "./args.js";

const HELP = `Usage: recur bench [-- options for bench/run.js]

Runs the benchmark suite (bench/run.js of the source repository, with --expose-gc so memory is
measured after collection). Everything after \`--\` is passed to it. The benchmarks are not part
of the npm package: run this from a clone of the repository.

Options:
  -h, --help   show this help`;

export async function benchCommand(args: string[]): Promise<number> {
  const dashes = args.indexOf("--");
  const own = dashes < 0 ? args : args.slice(0, dashes);
  const passed = dashes < 0 ? [] : args.slice(dashes + 1);
  if (own.includes("--help") || own.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  if (own.length) throw new UsageError(`unknown option ${own[0]}; options for bench/run.js go after \`--\``);
  const script = fileURLToPath(new URL("../../bench/run.js", import.meta.url));
  if (!existsSync(script)) {
    throw new Error(`the benchmarks are not in this installation (no ${script}); run \`recur bench\` from a clone of the repository`);
  }
  const child = spawn(process.execPath, ["--expose-gc", script, ...passed], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
