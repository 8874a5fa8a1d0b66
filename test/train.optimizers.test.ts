import { beforeAll, describe, expect, it } from "vitest";
import { Adagrad, Adam, AdamW, init, Optimizer, RecurError, RMSprop, SGD, type OptimizerStateDict } from "../src/index.js";
import { createRng } from "../src/random.js";
import { FakeModule } from "./helpers/trainable.js";
import { codeOf } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// ---------------------------------------------------------------------------------------------
// An independent float64 implementation of the PyTorch 1.13 update rules (torch/optim/*.py,
// _single_tensor_* functions), written from the documented formulas, with every default spelled
// out here rather than taken from the code under test.

type Kind = "SGD" | "RMSprop" | "Adagrad" | "Adam" | "AdamW";
type H = Record<string, any>;

const DEFAULTS: Record<Kind, H> = {
  SGD: { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
  RMSprop: { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
  Adagrad: { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false },
  Adam: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false },
  AdamW: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false },
};

class RefOptimizer {
  private readonly h: H;
  private readonly st: Record<string, Float64Array>[] = [];
  private t = 0;

  constructor(
    private readonly kind: Kind,
    options: H,
    sizes: number[],
  ) {
    this.h = { ...DEFAULTS[kind], ...options };
    for (const n of sizes) {
      const s: Record<string, Float64Array> = {};
      for (const name of ["buf", "sq", "gavg", "sum", "m", "v", "vmax"]) s[name] = new Float64Array(n);
      if (kind === "Adagrad") s.sum.fill(this.h.initialAccumulatorValue);
      this.st.push(s);
    }
  }

  step(params: Float64Array[], grads: Float64Array[]): void {
    this.t += 1;
    const t = this.t;
    const h = this.h;
    params.forEach((p, r) => {
      const s = this.st[r];
      for (let i = 0; i < p.length; i++) {
        let d = h.maximize ? -grads[r][i] : grads[r][i];
        if (this.kind === "AdamW") p[i] *= 1 - h.lr * h.weightDecay;
        else if (h.weightDecay !== 0) d += h.weightDecay * p[i];
        switch (this.kind) {
          case "SGD": {
            if (h.momentum !== 0) {
              s.buf[i] = t === 1 ? d : h.momentum * s.buf[i] + (1 - h.dampening) * d;
              d = h.nesterov ? d + h.momentum * s.buf[i] : s.buf[i];
            }
            p[i] -= h.lr * d;
            break;
          }
          case "RMSprop": {
            s.sq[i] = h.alpha * s.sq[i] + (1 - h.alpha) * d * d;
            let avg: number;
            if (h.centered) {
              s.gavg[i] = h.alpha * s.gavg[i] + (1 - h.alpha) * d;
              avg = Math.sqrt(s.sq[i] - s.gavg[i] * s.gavg[i]) + h.eps;
            } else {
              avg = Math.sqrt(s.sq[i]) + h.eps;
            }
            if (h.momentum > 0) {
              s.buf[i] = h.momentum * s.buf[i] + d / avg;
              p[i] -= h.lr * s.buf[i];
            } else {
              p[i] -= (h.lr * d) / avg;
            }
            break;
          }
          case "Adagrad": {
            const clr = h.lr / (1 + (t - 1) * h.lrDecay);
            s.sum[i] += d * d;
            p[i] -= (clr * d) / (Math.sqrt(s.sum[i]) + h.eps);
            break;
          }
          case "Adam":
          case "AdamW": {
            const [b1, b2] = h.betas;
            s.m[i] = b1 * s.m[i] + (1 - b1) * d;
            s.v[i] = b2 * s.v[i] + (1 - b2) * d * d;
            let vhat = s.v[i];
            if (h.amsgrad) {
              s.vmax[i] = Math.max(s.vmax[i], s.v[i]);
              vhat = s.vmax[i];
            }
            const denom = Math.sqrt(vhat) / Math.sqrt(1 - b2 ** t) + h.eps;
            p[i] -= (h.lr / (1 - b1 ** t)) * (s.m[i] / denom);
            break;
          }
        }
      }
    });
  }
}

function build(kind: Kind, modules: FakeModule | FakeModule[], options: H): Optimizer {
  switch (kind) {
    case "SGD":
      return new SGD(modules, options as never);
    case "RMSprop":
      return new RMSprop(modules, options);
    case "Adagrad":
      return new Adagrad(modules, options);
    case "Adam":
      return new Adam(modules, options);
    case "AdamW":
      return new AdamW(modules, options);
  }
}

// The test problem: g_i = c_i p_i + noise_{t,i}, so the gradient depends on the trajectory.
interface Problem {
  sizes: number[];
  p0: Float32Array[];
  c: Float32Array[];
  noise: (t: number, r: number, i: number) => number;
}

function problem(sizes: number[], seed: number): Problem {
  const rng = createRng(seed);
  const p0 = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
  const c = sizes.map((n) => Float32Array.from({ length: n }, () => rng.uniform(0.5, 1.5)));
  const noiseTable = Array.from({ length: 40 }, () => sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal())));
  return { sizes, p0, c, noise: (t, r, i) => noiseTable[t][r][i] };
}

// Splits the problem's regions over two modules (the first gets region 0, the second the rest).
function makeModules(pb: Problem): FakeModule[] {
  const mods = [new FakeModule(pb.sizes.slice(0, 1)), new FakeModule(pb.sizes.slice(1))];
  regionsOf(mods).forEach(({ params }, r) => params().set(pb.p0[r]));
  return mods;
}

function regionsOf(mods: FakeModule[]): { params: () => Float32Array; grads: () => Float32Array; size: number }[] {
  const out: { params: () => Float32Array; grads: () => Float32Array; size: number }[] = [];
  for (const m of mods) m.sizes.forEach((size, i) => out.push({ params: () => m.params(i), grads: () => m.grads(i), size }));
  return out;
}

function setGrads(pb: Problem, mods: FakeModule[], t: number): void {
  regionsOf(mods).forEach(({ params, grads, size }, r) => {
    const p = params();
    const g = grads();
    for (let i = 0; i < size; i++) g[i] = pb.c[r][i] * p[i] + pb.noise(t, r, i);
  });
}

function maxRelErr(got: Float32Array, ref: Float64Array): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i]));
    if (!(e <= m)) m = Number.isNaN(e) ? NaN : e;
  }
  return m;
}

const CASES: [Kind, H][] = [
  ["SGD", { lr: 0.1 }],
  ["SGD", { lr: 0.05, momentum: 0.9 }],
  ["SGD", { lr: 0.05, momentum: 0.9, dampening: 0.5 }],
  ["SGD", { lr: 0.05, momentum: 0.8, nesterov: true }],
  ["SGD", { lr: 0.1, weightDecay: 0.3 }],
  ["SGD", { lr: 0.05, momentum: 0.9, dampening: 0.2, weightDecay: 0.1 }],
  ["SGD", { lr: 0.05, momentum: 0.7, nesterov: true, weightDecay: 0.1, maximize: true }],
  ["RMSprop", {}],
  ["RMSprop", { lr: 0.02, alpha: 0.9, eps: 0.1 }],
  ["RMSprop", { lr: 0.01, momentum: 0.9 }],
  ["RMSprop", { lr: 0.01, centered: true }],
  ["RMSprop", { lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.2, eps: 1e-3 }],
  ["RMSprop", { lr: 0.01, momentum: 0.5, maximize: true }],
  ["Adagrad", {}],
  ["Adagrad", { lr: 0.1, lrDecay: 0.2 }],
  ["Adagrad", { lr: 0.1, weightDecay: 0.3 }],
  ["Adagrad", { lr: 0.1, initialAccumulatorValue: 0.5, eps: 0.1 }],
  ["Adagrad", { lr: 0.1, lrDecay: 0.1, weightDecay: 0.1, initialAccumulatorValue: 0.2, maximize: true }],
  ["Adam", {}],
  ["Adam", { lr: 0.05, betas: [0.8, 0.95], eps: 0.1 }],
  ["Adam", { lr: 0.05, weightDecay: 0.2 }],
  ["Adam", { lr: 0.05, amsgrad: true }],
  ["Adam", { lr: 0.05, amsgrad: true, weightDecay: 0.1, betas: [0.5, 0.9], eps: 1e-3 }],
  ["Adam", { lr: 0.05, maximize: true }],
  ["AdamW", {}],
  ["AdamW", { lr: 0.05, weightDecay: 0.5 }],
  ["AdamW", { lr: 0.05, weightDecay: 0.2, amsgrad: true, betas: [0.7, 0.9], eps: 0.05 }],
  ["AdamW", { lr: 0.05, maximize: true, weightDecay: 0 }],
];

describe("optimizers vs float64 PyTorch formulas", () => {
  const STEPS = 10;
  for (const [kind, options] of CASES) {
    it(`${kind} ${JSON.stringify(options)}`, () => {
      const pb = problem([37, 64, 5], 11);
      const mods = makeModules(pb);
      const opt = build(kind, mods, options);
      const ref = new RefOptimizer(kind, options, pb.sizes);
      const refP = pb.p0.map((p) => Float64Array.from(p));
      try {
        for (let t = 0; t < STEPS; t++) {
          setGrads(pb, mods, t);
          const refG = refP.map((p, r) => p.map((v, i) => pb.c[r][i] * v + pb.noise(t, r, i)));
          opt.step();
          ref.step(refP, refG);
          const regions = regionsOf(mods);
          const err = Math.max(...regions.map(({ params }, r) => maxRelErr(params().subarray(0, pb.sizes[r]), refP[r])));
          // float32 against float64: ~1e-7 per step; any formula slip is >= 1e-4 here.
          expect(err, `step ${t + 1}`).toBeLessThan(4e-6);
          // The padding after each region must stay exactly zero.
          for (const { params, size } of regions) expect(Array.from(params().subarray(size))).toEqual([0, 0, 0]);
        }
        expect(opt.stepCount).toBe(STEPS);
        expect(mods.map((m) => m.changed)).toEqual([STEPS, STEPS]);
        // Moving at all: the final parameters differ from the initial ones.
        expect(maxRelErr(regionsOf(mods)[0].params().subarray(0, pb.sizes[0]), Float64Array.from(pb.p0[0]))).toBeGreaterThan(1e-3);
      } finally {
        opt.dispose();
        mods.forEach((m) => m.dispose());
      }
    });
  }

  it("a changed lr takes effect at the next step (schedules)", () => {
    const pb = problem([9], 3);
    const mods = [new FakeModule([9])];
    mods[0].params(0).set(pb.p0[0]);
    const opt = new Adam(mods, { lr: 0.1 });
    const ref = new RefOptimizer("Adam", { lr: 0.1 }, [9]);
    const refP = [Float64Array.from(pb.p0[0])];
    for (let t = 0; t < 4; t++) {
      const g = mods[0].grads(0);
      for (let i = 0; i < 9; i++) g[i] = pb.noise(t, 0, i);
      opt.step();
      ref.step(refP, [Float64Array.from(g.subarray(0, 9))]);
      opt.lr = 0.1 / (t + 2);
      (ref as unknown as { h: H }).h.lr = 0.1 / (t + 2);
    }
    expect(maxRelErr(mods[0].params(0).subarray(0, 9), refP[0])).toBeLessThan(4e-6);
    expect(opt.lr).toBeCloseTo(0.02, 15);
    opt.dispose();
    mods[0].dispose();
  });
});

describe("optimizer state: save, load, resume bit-exactly", () => {
  const variants: [Kind, H][] = [
    ["SGD", { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
    ["RMSprop", { centered: true, momentum: 0.5 }],
    ["Adagrad", { lrDecay: 0.1, initialAccumulatorValue: 0.1 }],
    ["Adam", { lr: 0.01, amsgrad: true }],
    ["AdamW", { lr: 0.01 }],
  ];
  for (const [kind, options] of variants) {
    it(kind, () => {
      const pb = problem([30, 17], 5);
      // Uninterrupted: 10 steps.
      const a = makeModules(pb);
      const optA = build(kind, a, options);
      for (let t = 0; t < 10; t++) {
        setGrads(pb, a, t);
        optA.step();
      }
      // Interrupted after 5 steps: save parameters and optimizer state, rebuild everything fresh.
      const b = makeModules(pb);
      const optB = build(kind, b, options);
      for (let t = 0; t < 5; t++) {
        setGrads(pb, b, t);
        optB.step();
      }
      const saved: OptimizerStateDict = JSON.parse(JSON.stringify(optB.stateDict(), (_k, v) => (v instanceof Float32Array ? Array.from(v) : v)));
      for (const entry of saved.state) for (const key of Object.keys(entry)) entry[key].data = Float32Array.from(entry[key].data as unknown as number[]);
      const savedParams = regionsOf(b).map(({ params }) => params().slice());
      optB.dispose();
      b.forEach((m) => m.dispose());

      const c = makeModules(pb);
      regionsOf(c).forEach(({ params }, r) => params().set(savedParams[r]));
      // Different hyper-parameters at construction: loading replaces them, as in PyTorch.
      const optC = build(kind, c, kind === "SGD" ? { lr: 1 } : {});
      optC.loadStateDict(saved);
      expect(optC.stepCount).toBe(5);
      expect(optC.hyperParameters).toEqual(saved.hyperParameters);
      for (let t = 5; t < 10; t++) {
        setGrads(pb, c, t);
        optC.step();
      }
      regionsOf(c).forEach(({ params }, r) => {
        expect(Buffer.from(params().buffer, params().byteOffset, params().byteLength).equals(Buffer.from(regionsOf(a)[r].params().slice().buffer))).toBe(true);
      });
      const sa = optA.stateDict();
      const sc = optC.stateDict();
      expect(sc.step).toBe(10);
      sa.state.forEach((entry, r) => {
        for (const key of Object.keys(entry)) expect(Array.from(sc.state[r][key].data)).toEqual(Array.from(entry[key].data));
      });
      optA.dispose();
      optC.dispose();
      [...a, ...c].forEach((m) => m.dispose());
    });
  }

  it("stateDict names the PyTorch buffers and hyper-parameters", () => {
    const m = new FakeModule([4]);
    const opt = new Adam(m, { amsgrad: true });
    const sd = opt.stateDict();
    expect(sd.type).toBe("Adam");
    expect(sd.step).toBe(0);
    expect(sd.hyperParameters).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: true, maximize: false });
    expect(Object.keys(sd.state[0])).toEqual(["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]);
    expect(sd.state[0].exp_avg.shape).toEqual([7]);
    const sgd = new SGD(m, { lr: 0.1 });
    expect(sgd.stateDict().state).toEqual([{}]);
    expect(new SGD(m, { lr: 0.1, momentum: 0.5 }).stateDict().state[0].momentum_buffer.shape).toEqual([7]);
    const ada = new Adagrad(m, { initialAccumulatorValue: 0.25 });
    expect(Array.from(ada.stateDict().state[0].sum.data)).toEqual(new Array(7).fill(0.25));
    expect(Object.keys(new RMSprop(m, { momentum: 0.1, centered: true }).stateDict().state[0])).toEqual(["square_avg", "momentum_buffer", "grad_avg"]);
    expect(new AdamW(m).hyperParameters.weight_decay).toBe(1e-2);
  });

  it("loading state with other buffers (amsgrad off -> on) re-lays out the state", () => {
    const m = new FakeModule([6]);
    const src = new Adam(m, { amsgrad: true, lr: 0.5 });
    m.grads(0).fill(1);
    src.step();
    const dst = new Adam(m, {});
    dst.loadStateDict(src.stateDict());
    expect(dst.hyperParameters.amsgrad).toBe(true);
    expect(dst.stateDict().state[0].max_exp_avg_sq.data[0]).toBeCloseTo(0.001, 6);
  });
});

describe("optimizer input validation", () => {
  it("rejects bad hyper-parameters with E_VALUE naming them", () => {
    const m = new FakeModule([4]);
    expect(codeOf(() => new SGD(m, {} as never))).toMatch(/^E_VALUE: SGD: lr is required/);
    expect(codeOf(() => new SGD(m, { lr: -1 }))).toMatch(/^E_VALUE: .*lr must be .*>= 0, got -1/);
    expect(codeOf(() => new SGD(m, { lr: 0.1, nesterov: true }))).toMatch(/^E_VALUE: .*nesterov needs momentum > 0 and dampening = 0/);
    expect(codeOf(() => new SGD(m, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }))).toMatch(/nesterov/);
    expect(codeOf(() => new SGD(m, { lr: 0.1, momentum: -0.1 }))).toMatch(/^E_VALUE: .*momentum/);
    expect(codeOf(() => new Adam(m, { betas: [1, 0.999] }))).toMatch(/^E_VALUE: .*betas\[0\] must be in \[0, 1\), got 1/);
    expect(codeOf(() => new Adam(m, { betas: [0.9] as never }))).toMatch(/^E_VALUE: .*betas must be a pair/);
    expect(codeOf(() => new Adam(m, { eps: NaN }))).toMatch(/^E_VALUE: .*eps/);
    expect(codeOf(() => new AdamW(m, { weightDecay: -1 }))).toMatch(/^E_VALUE: .*weight_decay/);
    expect(codeOf(() => new RMSprop(m, { alpha: -0.5 }))).toMatch(/^E_VALUE: .*alpha/);
    expect(codeOf(() => new RMSprop(m, { centered: 1 as never }))).toMatch(/^E_VALUE: .*centered must be a boolean/);
    expect(codeOf(() => new Adagrad(m, { lrDecay: -1 }))).toMatch(/^E_VALUE: .*lr_decay/);
    expect(codeOf(() => new Adagrad(m, { initialAccumulatorValue: -1 }))).toMatch(/^E_VALUE: .*initial_accumulator_value/);
    const opt = new Adam(m);
    expect(codeOf(() => (opt.lr = Infinity))).toMatch(/^E_VALUE: .*lr/);
    expect(opt.lr).toBe(1e-3);
  });

  it("rejects bad modules", () => {
    const m = new FakeModule([4]);
    expect(codeOf(() => new Adam([]))).toMatch(/^E_VALUE: Adam: needs at least one module/);
    expect(codeOf(() => new Adam([m, m]))).toMatch(/^E_VALUE: .*modules\[1\] is the same module as modules\[0\]/);
    expect(codeOf(() => new Adam({} as never))).toMatch(/^E_TYPE: .*modules\[0\] is not Trainable/);
    const alias = { parameterRegions: () => m.parameterRegions(), zeroGrad: () => {}, parametersChanged: () => {} };
    expect(codeOf(() => new Adam([m, alias]))).toMatch(/^E_VALUE: .*overlap/);
  });

  it("refuses to step when the regions changed, and after dispose", () => {
    const m = new FakeModule([4, 5]);
    const opt = new SGD(m, { lr: 0.1 });
    const saved = m.regions.pop()!;
    expect(codeOf(() => opt.step())).toMatch(/^E_STATE: SGD.step: the modules' parameter regions changed/);
    m.regions.push(saved);
    opt.step();
    opt.dispose();
    expect(codeOf(() => opt.step())).toMatch(/^E_STATE: SGD: the optimizer was disposed/);
    opt.dispose(); // idempotent
  });

  it("loadStateDict checks everything first and lists key problems in one E_KEY", () => {
    const m = new FakeModule([4, 2]);
    const opt = new Adam(m, { lr: 0.01 });
    m.grads(0).fill(0.5);
    opt.step();
    const good = opt.stateDict();
    const before = JSON.stringify(opt.stateDict(), (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
    expect(codeOf(() => opt.loadStateDict({ ...good, type: "SGD" }))).toMatch(/^E_VALUE: .*state is of a SGD optimizer, this is Adam/);
    expect(codeOf(() => opt.loadStateDict({ ...good, step: -1 }))).toMatch(/^E_VALUE: .*step must be an integer >= 0/);
    expect(codeOf(() => opt.loadStateDict({ ...good, hyperParameters: { ...good.hyperParameters, momentum: 0.9 } }))).toMatch(/^E_KEY: .*unexpected hyper-parameters: momentum/);
    expect(codeOf(() => opt.loadStateDict({ ...good, hyperParameters: { ...good.hyperParameters, eps: -1 } }))).toMatch(/^E_VALUE: .*eps/);
    expect(codeOf(() => opt.loadStateDict({ ...good, state: [good.state[0]] }))).toMatch(/^E_KEY: .*state has 1 regions, the modules have 2/);
    const bad = {
      ...good,
      state: [
        { exp_avg: good.state[0].exp_avg, extra: good.state[0].exp_avg },
        { exp_avg: { shape: [3], data: new Float32Array(3) }, exp_avg_sq: { shape: [5], data: new Float32Array([0, 0, NaN, 0, 0]) } },
      ],
    };
    const msg = codeOf(() => opt.loadStateDict(bad));
    expect(msg).toMatch(/^E_KEY: /);
    expect(msg).toContain("state[0]: missing keys: exp_avg_sq");
    expect(msg).toContain("state[0]: unexpected keys: extra");
    expect(msg).toContain("state[1].exp_avg: expected shape [5], got [3]");
    expect(msg).toContain("state[1].exp_avg_sq: non-finite value NaN at index 2");
    // Unchanged after all those failures.
    expect(JSON.stringify(opt.stateDict(), (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))).toBe(before);
  });
});
