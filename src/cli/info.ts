import { parseJson } from "../io/json.js";
import { VOCAB_KEY } from "../char-lm/index.js";
import { parseArgs } from "./args.js";
import { readInput, readModelFile } from "./files.js";
import { onnxInfo } from "./onnx.js";
import { formatCount } from "./progress.js";
import { formatBits, HISTORY_KEY, readHistory } from "./train.js";

const HELP = `Usage: recur info <model>

Describes an ONNX file (inputs, outputs, operators, and which nodes recur runs on its fused
recurrent kernels) or a .safetensors file: the model type and config (for files written by recur), the
parameter count, every tensor with its shape, the optimizer state of a checkpoint, and the rest
of the metadata. Plain PyTorch files work too (tensors and metadata only).

Options:
  -h, --help   show this help`;

const OPT_PREFIX = "optimizer.";

export async function infoCommand(args: string[]): Promise<number> {
  const { positionals, help } = parseArgs(args, {}, { min: 1, max: 1, names: ["model file"] });
  if (help) {
    console.log(HELP);
    return 0;
  }
  const path = positionals[0];
  if (path.toLowerCase().endsWith(".onnx")) {
    console.log((await onnxInfo(path, await readInput(path))).join("\n"));
    return 0;
  }
  const { bytes, tensors, metadata } = await readModelFile(path);
  const lines: string[] = [`file: ${path} (${formatCount(bytes.length)} bytes)`];
  const rawSpec = metadata["recur.model"];
  if (rawSpec !== undefined) {
    let spec: { type?: unknown; config?: unknown } = {};
    try {
      spec = (parseJson("recur info", "recur.model", rawSpec) ?? {}) as typeof spec;
    } catch {
      lines.push("model: (recur.model metadata is not valid JSON)");
    }
    if (spec.type !== undefined) lines.push(`model: ${String(spec.type)}`);
    if (spec.config && typeof spec.config === "object") {
      lines.push("config:");
      for (const [k, v] of Object.entries(spec.config)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
    }
  } else {
    lines.push("model: not written by recur (no recur.model metadata); load with readSafetensors + loadStateDict");
  }
  const names = Object.keys(tensors).sort();
  const params = names.filter((n) => !n.startsWith(OPT_PREFIX));
  const count = params.reduce((a, n) => a + tensors[n].data.length, 0);
  lines.push(`parameters: ${count.toLocaleString("en-US")} in ${params.length} tensors`);
  const width = Math.max(0, ...params.map((n) => n.length));
  for (const n of params) lines.push(`  ${n.padEnd(width)}  [${tensors[n].shape.join(", ")}]`);
  const rawOpt = metadata["recur.optimizer"];
  if (rawOpt !== undefined) {
    try {
      const opt = parseJson("recur info", "recur.optimizer", rawOpt) as { type?: string; step?: number; hyperParameters?: Record<string, unknown> };
      const hp = Object.entries(opt.hyperParameters ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
      lines.push(`optimizer: ${opt.type} at step ${opt.step} (${hp}); ${names.length - params.length} state tensors`);
    } catch {
      lines.push("optimizer: (recur.optimizer metadata is not valid JSON)");
    }
  }
  const rest = Object.entries(metadata).filter(([k]) => k !== "recur.model" && k !== "recur.optimizer");
  if (rest.length) {
    lines.push("metadata:");
    for (const [k, v] of rest) lines.push(`  ${k}: ${k === VOCAB_KEY ? describeVocab(v) : k === HISTORY_KEY ? describeHistory(metadata) : v.length > 200 ? `${v.slice(0, 200)}...` : v}`);
  }
  console.log(lines.join("\n"));
  return 0;
}

function describeVocab(raw: string): string {
  try {
    const chars = parseJson("recur info", "recur.vocab", raw) as string[];
    return `${chars.length} characters ${JSON.stringify(chars.join("").slice(0, 60))}`;
  } catch {
    return "(not valid JSON)";
  }
}

function describeHistory(metadata: Record<string, string>): string {
  const losses = readHistory(metadata);
  if (losses.length === 0) return "(no losses)";
  const tail = losses.slice(-20);
  return `losses of ${losses.length} updates, from ${formatBits(losses[0])} to ${formatBits(tail.reduce((a, b) => a + b, 0) / tail.length)} (mean of the last ${tail.length})`;
}
