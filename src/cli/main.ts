#!/usr/bin/env node
import { parityCommand } from "./parity.js";

const commands: Record<string, { summary: string; run: (args: string[]) => Promise<number> }> = {
  parity: { summary: "check PyTorch fixture files against recur", run: parityCommand },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `Usage: recur <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun \`recur <command> --help\` for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`recur: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
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
