import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const HELP = `Usage: recur bench [workload...] [options]

Runs the benchmark suite: bench/run.js of the source repository, with --expose-gc so memory is
measured after collection. Every argument is passed to it (e.g. \`recur bench kernels --quick\`,
\`recur bench esn --json\`); see the top of bench/run.js. The benchmarks are not part of the npm
package: run this from a clone of the repository.

Options:
  -h, --help   show this help`;

export async function benchCommand(args: string[]): Promise<number> {
  if (args[0] === "--help" || args[0] === "-h") {
    console.log(HELP);
    return 0;
  }
  const script = fileURLToPath(new URL("../../bench/run.js", import.meta.url));
  if (!existsSync(script)) {
    throw new Error(`no such file: ${script} (the benchmarks are not in the npm package: run \`recur bench\` in a clone of the repository)`);
  }
  const passed = args[0] === "--" ? args.slice(1) : args;
  const child = spawn(process.execPath, ["--expose-gc", script, ...passed], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
