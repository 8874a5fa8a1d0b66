/**
 * Command-line parsing for the recur subcommands: `--name value`, `--name=value` and boolean
 * `--flag`, typed by a spec, with every mistake reported as one UsageError line.
 */

/** A mistake in the command line (exit status 2), as opposed to a failure while running (1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

interface BaseSpec {
  /** One-letter alias, e.g. "n" for -n. */
  short?: string;
}
export interface StringSpec extends BaseSpec {
  type: "string";
  default?: string;
  /** Accepted values, compared case-insensitively; the parsed value is the listed spelling. */
  choices?: readonly string[];
}
export interface NumberSpec extends BaseSpec {
  type: "int" | "number";
  default?: number;
  min?: number;
  max?: number;
  /** The bound `min` is exclusive (e.g. a temperature > 0). */
  exclusiveMin?: boolean;
}
export interface BooleanSpec extends BaseSpec {
  type: "boolean";
}
export type OptionSpec = StringSpec | NumberSpec | BooleanSpec;

type ValueOf<O extends OptionSpec> = O extends BooleanSpec ? boolean : O extends StringSpec ? string : number;
export type Parsed<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends BooleanSpec ? boolean : S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export interface ParseResult<S extends Record<string, OptionSpec>> {
  options: Parsed<S>;
  positionals: string[];
  help: boolean;
  /** The options given on the command line (the others hold their defaults). */
  given: ReadonlySet<keyof S & string>;
}

/**
 * Parses `argv` against `spec` (keys are the long names without dashes). `positionals` bounds
 * the number of non-option arguments; `names` describe them in errors. Everything after `--` is
 * positional. -h / --help sets `help` and skips the other checks.
 */
export function parseArgs<S extends Record<string, OptionSpec>>(
  argv: readonly string[],
  spec: S,
  positionals: { min?: number; max?: number; names?: readonly string[] } = {},
): ParseResult<S> {
  if (argv.includes("--help") || argv.includes("-h")) return { options: {} as Parsed<S>, positionals: [], help: true, given: new Set() };
  const out: Record<string, unknown> = {};
  const pos: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([k, s]) => (s.short ? [[s.short, k] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      pos.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      pos.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else {
      const long = byShort.get(arg.slice(1));
      if (long === undefined) throw new UsageError(`unknown option ${arg}`);
      name = long;
    }
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (name in out) throw new UsageError(`option --${name} given twice`);
    if (s.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      out[name] = true;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`option --${name} needs a value`);
    out[name] = convert(name, s, raw);
  }
  const given = new Set(Object.keys(out));
  for (const [name, s] of Object.entries(spec)) {
    if (name in out) continue;
    if (s.type === "boolean") out[name] = false;
    else if (s.default !== undefined) out[name] = s.default;
  }
  const min = positionals.min ?? 0;
  const max = positionals.max ?? Infinity;
  if (pos.length < min) throw new UsageError(`missing ${positionals.names?.[pos.length] ?? "argument"}`);
  if (pos.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(pos[max])}`);
  return { options: out as Parsed<S>, positionals: pos, help: false, given };
}

function convert(name: string, s: StringSpec | NumberSpec, raw: string): string | number {
  if (s.type === "string") {
    if (!s.choices) return raw;
    const hit = s.choices.find((c) => c.toLowerCase() === raw.toLowerCase());
    if (hit === undefined) throw new UsageError(`--${name} must be one of ${s.choices.join(", ")}, got ${JSON.stringify(raw)}`);
    return hit;
  }
  const v = raw.trim() === "" ? NaN : Number(raw);
  const what = s.type === "int" ? "an integer" : "a number";
  const bounds = [
    s.min !== undefined ? `${s.exclusiveMin ? ">" : ">="} ${s.min}` : "",
    s.max !== undefined ? `<= ${s.max}` : "",
  ].filter(Boolean).join(" and ");
  const ok =
    Number.isFinite(v) &&
    (s.type !== "int" || Number.isInteger(v)) &&
    (s.min === undefined || (s.exclusiveMin ? v > s.min : v >= s.min)) &&
    (s.max === undefined || v <= s.max);
  if (!ok) throw new UsageError(`--${name} must be ${what}${bounds ? ` ${bounds}` : ""}, got ${JSON.stringify(raw)}`);
  return v;
}
