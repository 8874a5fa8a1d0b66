/** What esnSearch searches: its task, resolved, and its space of hyperparameters, drawn or gridded. */
import { fail, RecurError } from "../errors.js";
import { createRng } from "../random.js";
import { optionsObject, show } from "../validate.js";
import { checkSequence } from "./options.js";
import { esnTask } from "./tasks.js";
import { SEARCH_PARAMETERS } from "./search-types.js";
import type { SearchParameter, SearchSpace, SearchData, ResolvedRange } from "./search-types.js";
import type { ESNOptions } from "./types.js";

// Default scale of each parameter when a range gives none.
const LOG_BY_DEFAULT: Record<SearchParameter, boolean> = { spectralRadius: true, leakRate: true, inputScaling: true, connectivity: false, ridge: true };
// Valid values: [lo, hi], lo excluded when open.
const DOMAIN: Record<SearchParameter, { lo: number; hi: number; open: boolean }> = {
  spectralRadius: { lo: 0, hi: Infinity, open: false },
  leakRate: { lo: 0, hi: 1, open: true },
  inputScaling: { lo: 0, hi: Infinity, open: false },
  connectivity: { lo: 0, hi: 1, open: true },
  ridge: { lo: 0, hi: Infinity, open: false },
};
// ESN defaults of the parameters (src/esn/types.ts).
const ESN_DEFAULTS: Record<SearchParameter, number> = { spectralRadius: 0.9, leakRate: 1, inputScaling: 1, connectivity: 0.1, ridge: 1e-8 };

export function resolveTask(fn: string, task: string | SearchData): { inputs: { T: number; cols: number; data: Float32Array }; targets: { T: number; cols: number; data: Float32Array }; washout: number; reservoir?: ESNOptions } {
  if (typeof task === "string") {
    let t;
    try {
      t = esnTask(task);
    } catch (e) {
      if (e instanceof RecurError) fail(e.code, `${fn}: ${e.message}`);
      throw e;
    }
    return { inputs: checkSequence(fn, "inputs", t.train.inputs, undefined), targets: checkSequence(fn, "targets", t.train.targets, undefined), washout: t.washout, reservoir: t.options };
  }
  if (typeof task !== "object" || task === null) fail("E_TYPE", `${fn}: task must be a task name or { inputs, targets, washout }, got ${show(task)}`);
  optionsObject(`${fn}: task`, task, ["inputs", "targets", "washout"]);
  const inputs = checkSequence(fn, "task.inputs", task.inputs, undefined);
  const targets = checkSequence(fn, "task.targets", task.targets, undefined);
  if (targets.T !== inputs.T) fail("E_SHAPE", `${fn}: task.inputs has ${inputs.T} steps but task.targets has ${targets.T}`);
  const washout = task.washout ?? 0;
  if (!Number.isInteger(washout) || washout < 0) fail("E_VALUE", `${fn}: task.washout must be an integer >= 0, got ${show(washout)}`);
  return { inputs, targets, washout };
}

export function resolveSpace(fn: string, space: SearchSpace, reservoir: ESNOptions): Record<SearchParameter, ResolvedRange> {
  if (typeof space !== "object" || space === null || Array.isArray(space)) fail("E_VALUE", `${fn}: space must be an object of parameter ranges, got ${show(space)}`);
  for (const key of Object.keys(space)) {
    if (!(SEARCH_PARAMETERS as readonly string[]).includes(key)) fail("E_VALUE", `${fn}: unknown search parameter "${key}" (parameters: ${SEARCH_PARAMETERS.join(", ")})`);
  }
  const out = {} as Record<SearchParameter, ResolvedRange>;
  for (const p of SEARCH_PARAMETERS) {
    const d = DOMAIN[p];
    const inDomain = (v: number): boolean => Number.isFinite(v) && (d.open ? v > d.lo : v >= d.lo) && v <= d.hi;
    const domainText = `${d.open ? "(" : "["}${d.lo}, ${d.hi === Infinity ? "inf)" : `${d.hi}]`}`;
    const check = (v: unknown, what: string): number => {
      if (typeof v !== "number" || !inDomain(v)) fail("E_VALUE", `${fn}: ${p} ${what} ${show(v)} is outside ${p}'s domain ${domainText}`);
      return v;
    };
    const r = space[p];
    if (r === undefined) {
      const fixed = reservoir[p];
      const v = typeof fixed === "number" ? fixed : ESN_DEFAULTS[p];
      out[p] = { kind: "fixed", min: v, max: v, scale: "linear" };
      continue;
    }
    if (typeof r === "number") {
      check(r, "value");
      out[p] = { kind: "fixed", min: r, max: r, scale: "linear" };
      continue;
    }
    if (typeof r === "object" && r !== null && !Array.isArray(r) && "values" in r) {
      const values = r.values;
      if (!Array.isArray(values)) fail("E_VALUE", `${fn}: ${p} values must be an array of numbers, got ${show(values)}`);
      if (values.length === 0) fail("E_VALUE", `${fn}: ${p} has an empty list of values`);
      values.forEach((v, i) => check(v, `values[${i}]`));
      out[p] = { kind: "values", min: Math.min(...values), max: Math.max(...values), scale: LOG_BY_DEFAULT[p] && values.every((v) => v > 0) ? "log" : "linear", values: [...values] };
      continue;
    }
    let min: unknown, max: unknown, scale: unknown;
    if (Array.isArray(r)) {
      if (r.length !== 2) fail("E_VALUE", `${fn}: ${p} range must be [min, max], got ${show(r)}`);
      [min, max] = r;
    } else if (typeof r === "object" && r !== null) {
      optionsObject(`${fn}: ${p}`, r, ["min", "max", "scale"]);
      ({ min, max, scale } = r as { min: unknown; max: unknown; scale?: unknown });
    } else fail("E_VALUE", `${fn}: ${p} must be a number, [min, max], { min, max, scale } or { values }, got ${show(r)}`);
    const lo = check(min, "min");
    const hi = check(max, "max");
    if (lo > hi) fail("E_VALUE", `${fn}: ${p} range [${lo}, ${hi}] is inverted (min > max)`);
    const s = scale ?? (LOG_BY_DEFAULT[p] ? "log" : "linear");
    if (s !== "log" && s !== "linear") fail("E_VALUE", `${fn}: ${p} scale must be "log" or "linear", got ${show(s)}`);
    if (s === "log" && lo <= 0) fail("E_VALUE", `${fn}: ${p} range [${lo}, ${hi}] is on a log scale and must be above 0 (give scale: "linear" to include 0)`);
    out[p] = { kind: "range", min: lo, max: hi, scale: s };
  }
  return out;
}

// One random draw of every parameter, in SEARCH_PARAMETERS order (fixed ones draw nothing).
export function sample(space: Record<SearchParameter, ResolvedRange>, rng: ReturnType<typeof createRng>): Record<SearchParameter, number> {
  const out = {} as Record<SearchParameter, number>;
  for (const p of SEARCH_PARAMETERS) {
    const r = space[p];
    if (r.kind === "fixed") out[p] = r.min;
    else if (r.kind === "values") out[p] = r.values![rng.int(r.values!.length)];
    else {
      const u = rng.next();
      out[p] = r.scale === "log" ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
    }
  }
  return out;
}

// Every combination, the last parameter varying fastest.
export function gridOf(space: Record<SearchParameter, ResolvedRange>, points: number): Record<SearchParameter, number>[] {
  const axes = SEARCH_PARAMETERS.map((p) => {
    const r = space[p];
    if (r.kind === "fixed") return [r.min];
    if (r.kind === "values") return r.values!;
    if (r.min === r.max) return [r.min];
    return Array.from({ length: points }, (_, i) => {
      if (i === 0 || i === points - 1) return i === 0 ? r.min : r.max;
      const u = i / (points - 1);
      return r.scale === "log" ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
    });
  });
  let combos: number[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((c) => axis.map((v) => [...c, v]));
  return combos.map((c) => Object.fromEntries(SEARCH_PARAMETERS.map((p, i) => [p, c[i]])) as Record<SearchParameter, number>);
}
