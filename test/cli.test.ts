/**
 * The `recur` command as a person meets it: the built dist/cli/main.js run in a child process.
 * `npm test` builds dist first (pretest).
 */
import { execFile } from "node:child_process";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = join(root, "dist/cli/main.js");
const dir = mkdtempSync(join(tmpdir(), "recur-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recur(args: string[], env: Record<string, string> = {}, script = main): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
  });
}

const COMMANDS = ["demo", "train", "sample", "info", "esn", "parity", "bench"];

// Independent processes: run them side by side.
describe.concurrent("help", () => {
  it("lists every command", async () => {
    const r = await recur(["--help"]);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
  });

  it("--version prints the package and its version", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const r = await recur([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`recur-nn ${pkg.version}\n`);
    }
  });

  it.each(COMMANDS)("%s --help", async (command) => {
    const r = await recur([command, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: recur ${command}`));
    expect(r.stderr).toBe("");
  });
});

describe.concurrent("errors are one line and a non-zero exit", () => {
  writeFileSync(join(dir, "small.txt"), "abc");
  mkdirSync(join(dir, "empty"));
  it.each([
    [["frobnicate"], 2, /^recur: unknown command "frobnicate"/],
    [["train"], 2, /^recur train: missing text file \(see recur train --help\)$/],
    [["train", "x.txt", "--hidden-size", "abc"], 2, /^recur train: --hidden-size must be an integer >= 1, got "abc"/],
    [["train", "x.txt", "--cell", "transformer"], 2, /--cell must be one of LSTM, GRU, RNN, MRNN/],
    [["train", "x.txt", "--factor-size", "8"], 2, /^recur train: --factor-size is for --cell mrnn /],
    [["train", "missing.txt", "--steps", "1"], 1, /^recur train: no such file: missing.txt$/],
    [["train", "small.txt", "--steps", "1"], 2, /small.txt has 3 characters; training needs more than --seq-length \(64\)/],
    [["sample", "small.txt"], 1, /^recur sample: small.txt is not a .safetensors file$/],
    [["info", "small.txt"], 1, /^recur info: small.txt is not a .safetensors file$/],
    [["sample", "missing.safetensors"], 1, /^recur sample: no such file: missing.safetensors$/],
    [["parity", "missing.json"], 1, /^recur parity: no such file: missing.json$/],
    [["parity", "empty"], 1, /^recur parity: no \*\.json case files in empty$/],
    [["sample", "m.safetensors", "--temperature", "0"], 2, /--temperature must be a number > 0/],
    [["info", "nothing.safetensors"], 1, /^recur info: no such file: nothing.safetensors$/],
    [["esn", "weather"], 2, /unknown task "weather" \(tasks: mackey-glass, narma10, lorenz, sine\)/],
    [["esn", "weather", "--search", "4"], 2, /unknown task "weather"/],
    [["esn", "narma10", "--search", "0"], 2, /--search must be an integer >= 1, got "0"/],
    [["esn", "narma10", "--search", "3", "--grid", "2"], 2, /give --search or --grid, not both/],
    [["esn", "narma10", "--search", "3", "--threads", "many"], 2, /--threads must be a positive integer or "auto", got "many"/],
    [["esn", "narma10", "--search", "3", "--folds", "3000"], 1, /too few for 3000 folds/],
    [["demo", "extra"], 2, /unexpected argument "extra"/],
    [["parity"], 2, /^recur parity: no fixture files given \(see recur parity --help\)$/],
    [["parity", "--fast", "x.json"], 2, /^recur parity: unknown option --fast/],
  ])("%j", async (args, code, message) => {
    const r = await recur(args as string[]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });
});

describe("train, resume, sample, info", () => {
  const text = "the quick brown fox jumps over the lazy dog. ".repeat(40);
  writeFileSync(join(dir, "fox.txt"), text);
  const common = ["--hidden-size", "24", "--seq-length", "16", "--batch", "8", "--checkpoint", "ck.safetensors", "--out", "fox.safetensors", "--lr", "0.01"];

  it("trains for a number of steps, writing the model, the checkpoint and the loss curve", async () => {
    const r = await recur(["train", "fox.txt", "--steps", "60", "--plot", "loss.svg", "--sample", "40", ...common]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/LSTM: 1 x 24 units, vocabulary 28/);
    expect(r.stderr).toMatch(/^100%  step 60\/60  loss \d\.\d{3} bits\/char  .* chars\/s {2}0:00 left$/m); // plain lines: not a TTY
    const finalLoss = Number(/^60 updates in 0:\d\d, final loss (\d\.\d+) bits\/char$/m.exec(r.stderr)![1]);
    expect(finalLoss).toBeLessThan(3.2); // from log2(28) = 4.81 bits
    expect(r.stdout.trimEnd()).toHaveLength(40);
    for (const f of ["fox.safetensors", "ck.safetensors", "loss.svg"]) expect(existsSync(join(dir, f)), f).toBe(true);
    const svg = readFileSync(join(dir, "loss.svg"), "utf8");
    expect(svg).toContain("bits per character");
    expect(svg.match(/<polyline[^>]*points="([^"]*)"/)![1].split(" ")).toHaveLength(60);
  });

  it("resumes from the checkpoint: optimizer state, step count and loss curve continue; ignored options are named", async () => {
    expect((await recur(["info", "ck.safetensors"])).stdout).toMatch(/optimizer: Adam at step 60 /);
    const resume = common.map((a, i) => (common[i - 1] === "--hidden-size" ? "64" : a)); // --hidden-size 64: not the checkpoint's
    const r = await recur(["train", "fox.txt", "--steps", "20", "--sample", "0", "--plot", "loss2.svg", "--cell", "lstm", ...resume]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: ck.safetensors holds a LSTM of 1 x 24 units with 32-dim embeddings; ignoring --hidden-size 64$/m);
    expect(r.stderr).toMatch(/resuming ck.safetensors \(Adam, step 60\)/);
    expect(r.stderr).toMatch(/^100%  step 80\/80  loss /m);
    expect(r.stderr).toMatch(/^20 updates in 0:\d\d \(steps 61 to 80\), final loss \d\.\d{3} bits\/char$/m);
    const info = (await recur(["info", "ck.safetensors"])).stdout;
    expect(info).toMatch(/optimizer: Adam at step 80 /);
    expect(info).toMatch(/recur\.history: losses of 80 updates, from \d\.\d{3} bits\/char to \d\.\d{3} bits\/char/);
    // The curve holds all 80 updates, the first run's 60 included.
    const svg = readFileSync(join(dir, "loss2.svg"), "utf8");
    expect(svg.match(/<polyline[^>]*points="([^"]*)"/)![1].split(" ")).toHaveLength(80);
    const wrong = await recur(["train", "fox.txt", "--steps", "1", "--optimizer", "sgd", ...common]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/trained with Adam; drop --optimizer/);
  });

  it("trains a multiplicative RNN (--cell mrnn --factor-size)", async () => {
    const args = ["--hidden-size", "24", "--seq-length", "16", "--batch", "8", "--out", "mrnn.safetensors", "--lr", "0.01"];
    const r = await recur(["train", "fox.txt", "--steps", "60", "--sample", "20", "--cell", "mrnn", "--factor-size", "20", ...args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/MRNN: 1 x 24 units, vocabulary 28/);
    const finalLoss = Number(/^60 updates in 0:\d\d, final loss (\d\.\d+) bits\/char$/m.exec(r.stderr)![1]);
    expect(finalLoss).toBeLessThan(3.5); // from log2(28) = 4.81 bits
    expect(r.stdout.replace(/\n$/, "")).toHaveLength(20);
    expect((await recur(["info", "mrnn.safetensors"])).stdout).toMatch(/weight_fh_l0/);
  });

  it("writes the model beside the text file unless --out says otherwise", async () => {
    mkdirSync(join(dir, "texts"));
    writeFileSync(join(dir, "texts", "story.txt"), text);
    const r = await recur(["train", "texts/story.txt", "--steps", "2", "--sample", "0", "--hidden-size", "8", "--seq-length", "8", "--batch", "2", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^wrote texts\/story.safetensors$/m);
    expect(existsSync(join(dir, "texts", "story.safetensors"))).toBe(true);
    expect(existsSync(join(dir, "story.safetensors"))).toBe(false);
  });

  it("samples: deterministic for a seed, primed, at the requested length", async () => {
    const a = await recur(["sample", "fox.safetensors", "-n", "60", "--prime", "the quick ", "-t", "0.5", "--seed", "3"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.startsWith("the quick ")).toBe(true);
    expect(a.stdout.trimEnd()).toHaveLength(70);
    expect((await recur(["sample", "fox.safetensors", "-n", "60", "--prime", "the quick ", "-t", "0.5", "--seed", "3"])).stdout).toBe(a.stdout);
    expect((await recur(["sample", "fox.safetensors", "-n", "60", "--prime", "the quick ", "-t", "1.5", "--seed", "4"])).stdout).not.toBe(a.stdout);
    const bad = await recur(["sample", "fox.safetensors", "--prime", "Zebra"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/character "Z" \(position 0\) is not in the vocabulary/);
  });

  it("info describes the model", async () => {
    const r = await recur(["info", "fox.safetensors"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^model: SequenceModel$/m);
    expect(r.stdout).toMatch(/^ {2}hiddenSize: 24$/m);
    // 28*32 embedding + LSTM 4*24*(32+24) + 2*4*24 biases + head 28*24 + 28
    expect(r.stdout).toMatch(/^parameters: 7,164 in 7 tensors$/m);
    expect(r.stdout).toMatch(/^ {2}lstm\.weight_ih_l0 +\[96, 32\]$/m);
    expect(r.stdout).toMatch(/recur\.vocab: 28 characters/);
    expect(r.stdout).not.toMatch(/optimizer/);
  });
});

describe("pipes", () => {
  it("output into a reader that stops early (| head) ends quietly", async () => {
    // 200,000 characters into a pipe whose reader is gone at once: the write fails with EPIPE.
    const child = spawn(process.execPath, [main, "sample", "fox.safetensors", "-n", "200000"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

describe("esn", () => {
  it("mackey-glass: prints NRMSE and writes the plot", async () => {
    const r = await recur(["esn", "mackey-glass", "--units", "300", "--out", "mg.svg"]);
    expect(r.code, r.stderr).toBe(0);
    const oneStep = Number(/NRMSE one-step: ([\d.e-]+)/.exec(r.stdout)![1]);
    const free = Number(/NRMSE free run, 100 steps: ([\d.e-]+)/.exec(r.stdout)![1]);
    expect(oneStep).toBeLessThan(0.01);
    expect(free).toBeLessThan(0.1);
    const svg = readFileSync(join(dir, "mg.svg"), "utf8");
    expect(svg.match(/<polyline/g)).toHaveLength(2);
  });
  it("--search: prints the best trial and its held-out score, and plots the loss against each hyperparameter", async () => {
    const r = await recur(["esn", "narma10", "--search", "6", "--units", "60", "--folds", "2", "--threads", "2", "--out", "search.svg"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/random search of 6 trials, 2-fold cross-validation on the training span, 2 threads/);
    const best = /best \(trial (\d+)\): spectralRadius ([\d.e+-]+), leakRate ([\d.e+-]+), inputScaling ([\d.e+-]+), connectivity ([\d.e+-]+), ridge ([\d.e+-]+)/.exec(r.stdout)!;
    expect(best, r.stdout).not.toBeNull();
    expect(Number(best[2])).toBeGreaterThanOrEqual(0.1);
    expect(Number(best[6])).toBeLessThanOrEqual(0.1);
    const cv = Number(/cross-validated NRMSE ([\d.e-]+)/.exec(r.stdout)![1]);
    expect(cv).toBeGreaterThan(0);
    expect(cv).toBeLessThan(1);
    expect(r.stdout).toMatch(/held-out NRMSE one-step: best [\d.e-]+, default reservoir [\d.e-]+/);
    const svg = readFileSync(join(dir, "search.svg"), "utf8");
    for (const p of ["spectralRadius", "leakRate", "inputScaling", "connectivity", "ridge"]) expect(svg).toContain(`>${p}</text>`);
    expect(svg.match(/<circle/g)).toHaveLength(5 * 6); // every trial in every panel
    expect(svg.match(/fill="#d62728"/g)).toHaveLength(5); // the best one in red
  });
});

describe("bench", () => {
  it("says clearly when the benchmarks are not installed", async () => {
    // A copy of the package without bench/, as an npm install would have it.
    const pkg = join(dir, "pkg");
    cpSync(join(root, "dist"), join(pkg, "dist"), { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ type: "module" }));
    const r = await recur(["bench", "kernels", "--quick"], {}, join(pkg, "dist/cli/main.js"));
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^recur bench: no such file: .*bench\/run\.js \(the benchmarks are not in the npm package/);
  });
});

describe("demo (npm start)", () => {
  it("trains on recur's sources, samples at two temperatures, writes model, samples and loss curve", async () => {
    const r = await recur(["demo", "--out", "demo-out"], { RECUR_DEMO_QUICK: "1", RECUR_DEMO_SECONDS: "2" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/corpus: \d+ source files of recur/);
    expect(r.stderr).toMatch(/training for 0:02/);
    const m = /held-out loss (\d+\.\d+) bits\/char -> (\d+\.\d+) bits\/char/.exec(r.stderr)!;
    expect(Number(m[2])).toBeLessThan(Number(m[1]) - 0.7);
    expect(r.stdout).toMatch(/--- temperature 0\.5 ---\nexport function /);
    expect(r.stdout).toMatch(/--- temperature 1 ---\nexport function /);
    for (const f of ["model.safetensors", "samples.txt", "loss.svg"]) expect(existsSync(join(dir, "demo-out", f)), f).toBe(true);
    expect(r.stderr).toContain(join(dir, "demo-out", "model.safetensors"));
    const s = await recur(["sample", "demo-out/model.safetensors", "-n", "30"]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout.trimEnd().length).toBeGreaterThanOrEqual(20);
  });
});
