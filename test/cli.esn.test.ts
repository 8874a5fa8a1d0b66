/** The tasks of `recur esn` (the CLI test runs mackey-glass end to end; these check the rest). */
import { beforeAll, describe, expect, it } from "vitest";
import { runEsnTask } from "../src/cli/esn.js";
import { init } from "../src/runtime.js";

beforeAll(async () => {
  await init();
});

describe("recur esn tasks", () => {
  it("narma10: predicts the held-out output far better than its mean", () => {
    const r = runEsnTask("narma10");
    expect(r.nrmse["one-step"]).toBeLessThan(0.4);
    expect(r.truth).toHaveLength(200);
    expect(r.prediction).toHaveLength(200);
  });

  it("lorenz: one-step prediction of all three coordinates", () => {
    const r = runEsnTask("lorenz");
    expect(r.nrmse["one-step (x, y, z)"]).toBeLessThan(1e-3);
    expect(r.nrmse["one-step x"]).toBeLessThan(1e-3);
  });

  it("sine: generates the sine that the input frequency asks for, from its own feedback", () => {
    const r = runEsnTask("sine");
    expect(r.nrmse["generated, 1000 steps"]).toBeLessThan(0.1);
    // The plotted prediction oscillates like the truth (not a flat line near the mean).
    const crossings = (v: Float64Array): number => v.reduce((n, x, i) => n + (i > 0 && Math.sign(x) !== Math.sign(v[i - 1]) ? 1 : 0), 0);
    expect(Math.abs(crossings(r.prediction) - crossings(r.truth))).toBeLessThanOrEqual(2);
  });
});
