#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { RecurError } from "../errors.js";
import { UsageError } from "./args.js";
import { benchCommand } from "./bench.js";
import { demoCommand } from "./demo.js";
import { esnCommand } from "./esn.js";
import { infoCommand } from "./info.js";
import { parityCommand } from "./parity.js";
import { sampleCommand } from "./sample.js";
import { trainCommand } from "./train.js";

const commands: Record<string, { summary: string; run: (args: string[]) => Promise<number> }> = {
  demo: { summary: "train a character LSTM on recur's own sources for a minute (npm start)", run: demoCommand },
  train: { summary: "train a character-level language model on a text file", run: trainCommand },
  sample: { summary: "generate text from a trained character model", run: sampleCommand },
  info: { summary: "describe a .safetensors model or checkpoint", run: infoCommand },
  esn: { summary: "train an echo state network on a benchmark series and plot it", run: esnCommand },
  parity: { summary: "check PyTorch fixture files against recur", run: parityCommand },
  bench: { summary: "run the benchmark suite (from a clone of the repository)", run: benchCommand },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

// Output piped into a reader that stops early (\`recur sample model.safetensors | head\`): end
// quietly, as other command-line tools do, instead of reporting a broken pipe.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `Usage: recur <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun \`recur <command> --help\` for a command's options, \`recur --version\` for the version.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(version());
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(`recur: unknown command "${name}" (commands: ${Object.keys(commands).join(", ")}; see recur --help)`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // One line for the person at the terminal; RECUR_DEBUG=1 adds the stack of unexpected errors.
    if (err instanceof UsageError) {
      console.error(`recur ${name}: ${err.message} (see recur ${name} --help)`);
      return 2;
    }
    console.error(`recur ${name}: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof Error && !(err instanceof RecurError) && process.env.RECUR_DEBUG) console.error(err.stack);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`recur: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
