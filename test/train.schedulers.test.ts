import { beforeAll, describe, expect, it } from "vitest";
import { Adam, init, RecurError, SGD } from "../src/index.js";
import { CosineAnnealingLR, ExponentialLR, LambdaLR, StepLR } from "../src/schedulers/index.js";
import { FakeModule } from "./helpers/trainable.js";
import { codeOf } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// The closed forms from the PyTorch documentation; the schedulers use PyTorch's recursive forms,
// so the two agree up to float64 rounding.
const close = (got: number, want: number, scale: number): void => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-12 * scale);

describe("LR schedulers (PyTorch 1.13 semantics)", () => {
  let m: FakeModule;
  beforeAll(() => {
    m = new FakeModule([3]);
  });

  it("StepLR: lr = base gamma^floor(epoch / stepSize); construction is epoch 0", () => {
    const opt = new SGD(m, { lr: 0.5 });
    const s = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
    expect(s.lastEpoch).toBe(0);
    expect(opt.lr).toBe(0.5);
    for (let e = 1; e <= 10; e++) {
      s.step();
      close(opt.lr, 0.5 * 0.5 ** Math.floor(e / 3), 0.5);
      expect(s.getLastLr()).toBe(opt.lr);
    }
    expect(new StepLR(new SGD(m, { lr: 1 }), { stepSize: 1 }).gamma).toBe(0.1);
  });

  it("ExponentialLR: lr = base gamma^epoch", () => {
    const opt = new Adam(m, { lr: 0.1 });
    const s = new ExponentialLR(opt, { gamma: 0.9 });
    for (let e = 1; e <= 20; e++) {
      s.step();
      close(opt.lr, 0.1 * 0.9 ** e, 0.1);
    }
  });

  it("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(pi e / T)) / 2, also past T", () => {
    for (const etaMin of [0, 0.01]) {
      const opt = new SGD(m, { lr: 0.2 });
      const s = new CosineAnnealingLR(opt, { tMax: 7, etaMin });
      for (let e = 1; e <= 30; e++) {
        s.step();
        close(opt.lr, etaMin + ((0.2 - etaMin) * (1 + Math.cos((Math.PI * e) / 7))) / 2, 0.2);
      }
    }
  });

  it("LambdaLR: lr = base lambda(epoch)", () => {
    const opt = new SGD(m, { lr: 0.3 });
    const s = new LambdaLR(opt, (e) => 1 / (1 + e));
    expect(opt.lr).toBe(0.3);
    s.step();
    s.step();
    expect(opt.lr).toBe(0.3 / 3);
    expect(codeOf(() => new LambdaLR(opt, (e) => (e > 0 ? NaN : 1)).step())).toMatch(/^E_VALUE: LambdaLR: the schedule produced learning rate NaN at epoch 1/);
  });

  it("chained schedulers compose (chainable form) and share PyTorch's initial_lr", () => {
    const opt = new SGD(m, { lr: 1 });
    const a = new ExponentialLR(opt, { gamma: 0.9 });
    const b = new StepLR(opt, { stepSize: 2, gamma: 0.1 });
    expect(b.baseLr).toBe(1);
    for (let e = 1; e <= 6; e++) {
      a.step();
      b.step();
      close(opt.lr, 0.9 ** e * 0.1 ** Math.floor(e / 2), 1);
    }
  });

  it("stateDict / loadStateDict resume the schedule exactly", () => {
    const run = (n: number, resumeAt?: number): number[] => {
      let opt = new SGD(m, { lr: 0.2 });
      let s = new CosineAnnealingLR(opt, { tMax: 5, etaMin: 0.001 });
      const lrs: number[] = [];
      for (let e = 1; e <= n; e++) {
        if (e === resumeAt) {
          const so = opt.stateDict();
          const ss = s.stateDict();
          opt = new SGD(m, { lr: 0.2 });
          opt.loadStateDict(so);
          s = new CosineAnnealingLR(opt, { tMax: 5, etaMin: 0.001 });
          s.loadStateDict(ss);
        }
        s.step();
        lrs.push(opt.lr);
      }
      return lrs;
    };
    expect(run(12, 4)).toEqual(run(12));
    const s = new StepLR(new SGD(m, { lr: 1 }), { stepSize: 2 });
    expect(codeOf(() => s.loadStateDict({ ...s.stateDict(), type: "ExponentialLR" }))).toMatch(/^E_VALUE: StepLR.loadStateDict: the state is of a ExponentialLR/);
    expect(codeOf(() => s.loadStateDict({ ...s.stateDict(), settings: { stepSize: 3, gamma: 0.1 } }))).toBe("E_VALUE: StepLR.loadStateDict: settings differ: stepSize 3 vs 2");
  });

  it("bad settings", () => {
    const opt = new SGD(m, { lr: 1 });
    expect(codeOf(() => new StepLR(opt, { stepSize: 0 }))).toBe("E_VALUE: StepLR: stepSize must be an integer >= 1, got 0");
    expect(codeOf(() => new ExponentialLR(opt, { gamma: -1 }))).toMatch(/^E_VALUE: ExponentialLR: gamma must be/);
    expect(codeOf(() => new CosineAnnealingLR(opt, { tMax: 1.5 }))).toMatch(/^E_VALUE: CosineAnnealingLR: tMax must be an integer >= 1/);
    expect(codeOf(() => new LambdaLR(opt, 3 as never))).toMatch(/^E_TYPE: LambdaLR: lrLambda must be a function/);
    expect(codeOf(() => new StepLR({} as never, { stepSize: 1 }))).toMatch(/^E_TYPE/);
  });
});
