/**
 * Every example in examples/ runs as a person would run it (`node examples/<name>.js`, against
 * the built dist/), at the small sizes of --quick, and must reach a meaningful result. With
 * --json an example prints nothing but its final metrics, as one JSON line.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "recur-examples-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(name: string, ...args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(root, "examples", name), "--quick", "--json", ...args], { cwd: dir, encoding: "utf8", timeout: 90_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${name} failed: ${stderr || err.message}`));
      const lines = stdout.trimEnd().split("\n");
      if (lines.length !== 1) return reject(new Error(`${name} --json printed ${lines.length} lines, not one:\n${stdout}`));
      resolve(JSON.parse(lines[0]));
    });
  });
}

describe.concurrent("examples", () => {
  it("char-lm: learns h-e-l-l-o exactly, then models the guide", async () => {
    const r = await run("char-lm.js");
    expect(r.predicted).toBe("ello");
    expect(r.generated).toBe("ello");
    expect(r.helloLoss).toBeLessThan(0.01);
    expect(r.after.train).toBeLessThan(0.65 * r.before.train);
    expect(r.after.heldOut).toBeLessThan(0.7 * r.before.heldOut);
  });

  it("mrnn-hf: a multiplicative RNN trained with Hessian-free on English prose, beside an LSTM of equal size", async () => {
    const r = await run("mrnn-hf.js");
    expect(r.mrnn.updates).toBe(4);
    expect(r.mrnn.bitsPerChar).toBeLessThan(r.mrnn.initialBitsPerChar - 0.5);
    expect(r.lstm.bitsPerChar).toBeLessThan(r.uniformBitsPerChar);
    expect(Math.abs(r.lstm.parameters - r.mrnn.parameters) / r.mrnn.parameters).toBeLessThan(0.01);
    for (const model of ["mrnn", "lstm"]) for (const t of ["0.5", "1"]) expect(r.completions[model][t]).toMatch(/^The meaning of life is.{40}$/);
  });

  it("digits: MNIST read row by row, far above chance", async () => {
    const r = await run("digits.js");
    expect(r.test).toBe(400);
    expect(r.testAccuracy).toBeGreaterThan(0.6); // chance: 0.1
  });

  it("labelling: the bidirectional LSTM tags peaks that need the future, and beats left-to-right", async () => {
    const r = await run("labelling.js");
    expect(r.bidirectional).toBeGreaterThan(0.93);
    expect(r.bidirectional).toBeGreaterThan(r.unidirectional + 0.05);
    expect(r.majority).toBeLessThan(0.7);
  });

  it("seq2seq: the encoder-decoder reverses sequences", async () => {
    const r = await run("seq2seq.js");
    expect(r.tokenAccuracy).toBeGreaterThan(0.9); // chance: 0.1
    expect(r.sequenceAccuracy).toBeGreaterThan(0.7);
    expect(r.example.output).toBe([...r.example.input].reverse().join(""));
  });

  it("captioning: captions scenes from their feature vector, including unseen combinations", async () => {
    const r = await run("captioning.js");
    expect(r.seen).toBeGreaterThan(0.9);
    expect(r.unseen).toBeGreaterThan(0.5);
  });

  it("attention-captioning: captions held-out MNIST canvases word by word and draws where it looked", async () => {
    const r = await run("attention-captioning.js", "--out", "captions");
    expect(r.heldOut).toBe(200);
    expect(r.exactCaption).toBeGreaterThan(0.3); // chance: below 0.001
    expect(r.wordAccuracy).toBeGreaterThan(0.55);
    expect(r.svgs).toHaveLength(2);
    const svg = readFileSync(join(dir, r.svgs[0]), "utf8");
    expect(svg.match(/class="attention"/g)!.length).toBeGreaterThanOrEqual(24 * 2);
  });

  it("g2p: spells out held-out CMUdict words, far better with attention than without", async () => {
    const r = await run("g2p.js", "--out", "g2p");
    expect(r.heldOut).toBe(200);
    expect(r.attention.per).toBeLessThan(0.3);
    expect(r.attention.per).toBeLessThan(r.noAttention.per - 0.05);
    expect(r.attention.wer).toBeLessThan(r.noAttention.wer);
    const svg = readFileSync(join(dir, r.svg), "utf8");
    expect(svg.match(/class="alignment"/g)).toHaveLength(r.example.letters * r.example.phonemes);
  });

  it("esn-mackey-glass: forecasts freely and plots it", async () => {
    const r = await run("esn-mackey-glass.js", "--out", "mg.svg");
    expect(r.nrmse100).toBeLessThan(0.1);
    expect(r.nrmse300).toBeLessThan(0.5);
    const svg = readFileSync(join(dir, "mg.svg"), "utf8");
    expect(svg.match(/<polyline/g)).toHaveLength(2);
  });

  it("pytorch-streaming: loads PyTorch names and streams exactly what a whole-sequence pass computes", async () => {
    const r = await run("pytorch-streaming.js");
    expect(r.keys).toBe(10);
    expect(r.frames).toBe(200);
    expect(r.maxDiff).toBeLessThan(1e-6);
  });

  it("cooking: the hand-set RNN plans the week and follows the rule on 1000 random days", async () => {
    const r = await run("cooking.js");
    expect(r.week).toEqual(r.weekByRule);
    expect(new Set(r.week).size).toBe(3); // the week visits every dish
    expect(r.days).toBe(1000);
    expect(r.mismatches).toBe(0);
  });

  it("binary-addition: trained on 8-bit numbers, adds 16- and 32-bit ones; a hidden unit holds the carry", async () => {
    const r = await run("binary-addition.js");
    for (const bits of ["8", "16", "32"]) expect(r.accuracy[bits].sums, `${bits} bits`).toBeGreaterThan(0.95);
    expect(r.carryAgreement).toBe(1);
    expect(r.table).toHaveLength(8);
    for (const row of r.table) expect(row.sum + 2 * row.carryOut).toBe(row.carryIn + row.a + row.b);
  });

  it("spam: a GRU over words classifies held-out SpamAssassin mail, beside a bag-of-words baseline", async () => {
    const r = await run("spam.js");
    expect(r.test).toBe(240);
    expect(r.majority).toBeLessThan(0.75);
    expect(r.rnn).toBeGreaterThan(r.majority + 0.08);
    expect(r.baseline).toBeGreaterThan(0.9); // the classic filter works on this data
  });

  it("frames: an LSTM over frames tells the moving digit and its direction in held-out clips", async () => {
    const r = await run("frames.js");
    expect(r.test).toBe(300);
    expect(r.frames).toBe(8);
    expect(r.direction).toBeGreaterThan(0.9); // chance 0.25: needs more than one frame
    expect(r.digit).toBeGreaterThan(0.4); // chance 0.1
  });

  it("gradient-flow: RNN gradients vanish or explode geometrically, gated cells carry them; the long lag defeats the RNN", async () => {
    const r = await run("gradient-flow.js", "--out", "flow.svg");
    const f = r.flow;
    // The spectral radius the echo-state init asked for, and the identity's.
    expect(f["tanh RNN, ρ(W_hh) = 0.9"].spectralRadius).toBeCloseTo(0.9, 6);
    expect(f["tanh RNN, ρ(W_hh) = 2"].spectralRadius).toBeCloseTo(2, 6);
    expect(f["relu RNN, identity W_hh (IRNN)"].spectralRadius).toBeCloseTo(1, 6);
    // Geometric: a steady factor per step, below 1 (at most ρ) or above 1.
    expect(f["tanh RNN, ρ(W_hh) = 0.9"].perStep).toBeLessThan(0.9);
    expect(f["tanh RNN, ρ(W_hh) = 0.9"].atEnd).toBeLessThan(1e-3);
    expect(f["tanh RNN, ρ(W_hh) = 2"].perStep).toBeGreaterThan(1.05);
    expect(f["tanh RNN, ρ(W_hh) = 2"].atEnd).toBeGreaterThan(100);
    expect(f["relu RNN, identity W_hh (IRNN)"].atEnd).toBeGreaterThan(0.1);
    // A step's spectral norm bounds its factor: at least ρ for the RNNs, exactly 1 for the IRNN
    // (relu' is 0 or 1 and W_hh = I).
    expect(f["tanh RNN, ρ(W_hh) = 2"].stepJacobian).toBeGreaterThan(f["tanh RNN, ρ(W_hh) = 2"].perStep);
    expect(f["relu RNN, identity W_hh (IRNN)"].stepJacobian).toBeCloseTo(1, 6);
    // PyTorch's init lets an LSTM's and a GRU's gradient vanish too; open gates carry it, the
    // LSTM's through its cell state.
    expect(f["LSTM, PyTorch init"].atEnd).toBeLessThan(1e-8);
    expect(f["GRU, PyTorch init"].atEnd).toBeLessThan(1e-8);
    expect(f["LSTM, forget gates open, c_k"].atEnd).toBeGreaterThan(0.03);
    expect(f["GRU, update gates open"].atEnd).toBeGreaterThan(0.03);
    // The memory task: every model recalls over 10 steps (the IRNN aside, slow to start at this
    // budget); over the longest lag the gated cells do, the plain tanh RNN does not.
    const acc = r.memory.accuracy;
    const last = r.memory.T.length - 1;
    for (const name of ["tanh RNN, PyTorch init", "LSTM, forget gates open", "GRU, update gates open"]) expect(acc[name][0], name).toBeGreaterThan(0.95);
    expect(acc["LSTM, forget gates open"][last]).toBeGreaterThan(0.95);
    expect(acc["GRU, update gates open"][last]).toBeGreaterThan(0.95);
    expect(acc["tanh RNN, PyTorch init"][last]).toBeLessThan(0.8);
    const svg = readFileSync(join(dir, "flow.svg"), "utf8");
    expect(svg.match(/<polyline/g)).toHaveLength(Object.keys(f).length + Object.keys(acc).length + 1);
  });
});
