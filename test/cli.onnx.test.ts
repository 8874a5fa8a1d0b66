// `recur info model.onnx` and `recur parity --onnx` as a person runs them (dist/cli/main.js).
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = join(root, "dist/cli/main.js");
const fixtures = join(root, "test/fixtures/onnx");
const vad = createRequire(import.meta.url).resolve("@ricky0123/vad-web/dist/silero_vad_v5.onnx");

function recur(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe.concurrent("recur info / parity on ONNX files", () => {
  it("info lists inputs, outputs, operators and the nodes on fused kernels", async () => {
    const r = await recur(["info", vad]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("state: float32 [2, ?, 128]");
    expect(r.stdout).toContain("sr: int64 []");
    expect(r.stdout).toMatch(/operators \(689 nodes, subgraphs included\): Constant 341/);
    expect(r.stdout).toMatch(/recur runs it: 4 node\(s\) on fused recurrent kernels/);
    expect(r.stdout).toContain("streaming state (fed back by model.stream()): state <- stateN");
  });

  it("info names what recur cannot run", async () => {
    const r = await recur(["info", join(fixtures, "helper_unsupported_ops.onnx")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('recur cannot run: Erf (node "gelu_erf"), Atan (node "angle")');
  });

  it("parity --onnx compares with onnxruntime-node, frame by frame with --steps", async () => {
    const r = await recur(["parity", "--onnx", vad, "--set", "sr=16000", "--shape", "input=1x512", "--steps", "3"]);
    expect(r.stdout).toMatch(/^6 passed, 0 failed$/m);
    expect(r.code).toBe(0);
    const e = await recur(["parity", "--onnx", join(fixtures, "torch_gru_embedding_linear.onnx"), "--dim", "B=2", "--dim", "T=4"]);
    expect(e.stdout).toMatch(/^2 passed, 0 failed$/m);
  });

  it("parity --onnx rejects a bad option", async () => {
    const r = await recur(["parity", "--onnx", vad, "--steps", "zero"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--steps");
  });
});
