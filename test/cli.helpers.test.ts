import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "../src/cli/args.js";
import { formatCount, formatDuration, ProgressBar } from "../src/cli/progress.js";
import { linePlot, movingAverage } from "../src/cli/svg.js";

const SPEC = {
  cell: { type: "string", choices: ["LSTM", "GRU"], default: "LSTM" },
  size: { type: "int", min: 1, default: 8 },
  lr: { type: "number", min: 0, exclusiveMin: true },
  quiet: { type: "boolean", short: "q" },
  name: { type: "string", short: "n" },
} as const;

describe("parseArgs", () => {
  it("parses every form and applies defaults", () => {
    const r = parseArgs(["in.txt", "--cell", "gru", "--size=32", "-q", "--lr", "1e-3", "-n", "-x-", "--", "--literal"], SPEC, { max: 2 });
    expect(r.options).toEqual({ cell: "GRU", size: 32, lr: 0.001, quiet: true, name: "-x-" });
    expect(r.positionals).toEqual(["in.txt", "--literal"]);
    const d = parseArgs([], SPEC);
    expect(d.options).toEqual({ cell: "LSTM", size: 8, quiet: false });
    expect(parseArgs(["--bogus", "-h"], SPEC).help).toBe(true);
  });

  it.each([
    [["--bogus"], /unknown option --bogus/],
    [["-z"], /unknown option -z/],
    [["--size"], /--size needs a value/],
    [["--size", "2.5"], /--size must be an integer >= 1, got "2.5"/],
    [["--size", "0"], /--size must be an integer >= 1/],
    [["--lr", "0"], /--lr must be a number > 0, got "0"/],
    [["--lr", "abc"], /--lr must be a number > 0/],
    [["--cell", "lstmx"], /--cell must be one of LSTM, GRU, got "lstmx"/],
    [["--quiet=yes"], /--quiet takes no value/],
    [["--size", "3", "--size", "4"], /given twice/],
    [["a", "b"], /unexpected argument "b"/],
  ])("rejects %j with one clear message", (argv, message) => {
    expect(() => parseArgs(argv, SPEC, { max: 1 })).toThrow(UsageError);
    expect(() => parseArgs(argv, SPEC, { max: 1 })).toThrow(message);
  });

  it("names a missing positional", () => {
    expect(() => parseArgs([], SPEC, { min: 1, names: ["text file"] })).toThrow("missing text file");
  });
});

describe("ProgressBar", () => {
  const sink = (isTTY: boolean, columns?: number) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns, write: (s: string) => void chunks.push(s) } };
  };

  it("redraws in place on a terminal, cut to its width, and ends the line when done", () => {
    const { chunks, stream } = sink(true, 60);
    const bar = new ProgressBar(stream, { width: 10 });
    bar.update(0.25, "step 1");
    bar.update(0.5, "step 2"); // within 100 ms of the last draw: skipped
    bar.done(1, "step 9 finished with a rather long status line that cannot fit in sixty columns");
    expect(chunks[0]).toBe("\r[###-------]  25%  step 1");
    expect(chunks).toHaveLength(3);
    expect(chunks[1].startsWith("\r[#####] 100%  step 9")).toBe(true); // the bar shrinks first
    expect(chunks[1].length).toBe(60); // "\r" + 59 columns
    expect(chunks[2]).toBe("\n");
    bar.update(0.1, "after done");
    expect(chunks).toHaveLength(3);
  });

  it("keeps a status that fits beside a narrower bar", () => {
    const { chunks, stream } = sink(true, 40);
    new ProgressBar(stream, { width: 24 }).update(0.5, "step 5  loss 2.000");
    expect(chunks[0]).toBe("\r[######------]  50%  step 5  loss 2.000");
    const unsized = sink(true, 0);
    new ProgressBar(unsized.stream, { width: 4 }).update(1, "all of this text");
    expect(unsized.chunks[0]).toBe("\r[####] 100%  all of this text");
  });

  it("prints plain lines, spaced out, elsewhere", () => {
    const { chunks, stream } = sink(false);
    const bar = new ProgressBar(stream, { plainIntervalMs: 60_000 });
    bar.update(0.1, "a");
    bar.update(0.2, "b");
    bar.done(1, "c");
    expect(chunks).toEqual([" 10%  a\n", "100%  c\n"]);
  });

  it("formats durations and counts", () => {
    expect(formatDuration(75_000)).toBe("1:15");
    expect(formatDuration(3_725_000)).toBe("1:02:05");
    expect(formatDuration(Infinity)).toBe("--:--");
    expect(formatCount(950)).toBe("950");
    expect(formatCount(1234)).toBe("1.23k");
    expect(formatCount(12345)).toBe("12.3k");
    expect(formatCount(2.5e6)).toBe("2.50M");
  });
});

describe("linePlot", () => {
  it("draws each series inside the plot area, with ticks, legend and escaped text", () => {
    const svg = linePlot(
      [
        { label: "truth <x>", y: [0, 1, 4, 9] },
        { label: "model", y: [1, 1, 3, 9], x: [0, 1, 2, 3], dashed: true },
      ],
      { title: "a & b", width: 400, height: 200, xLabel: "t", yLabel: "v" },
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("a &amp; b");
    expect(svg).toContain("truth &lt;x&gt;");
    expect(svg).toContain('stroke-dasharray="5 3"');
    const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1].split(" ").map((p) => p.split(",").map(Number)));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toHaveLength(4);
    // x from the left margin (64) to the right edge (400 - 16); y = 9 at the top (the 10 tick is above it).
    expect(lines[0][0][0]).toBeCloseTo(64);
    expect(lines[0][3][0]).toBeCloseTo(384);
    for (const [x, y] of lines.flat()) {
      expect(x).toBeGreaterThanOrEqual(64);
      expect(y).toBeGreaterThanOrEqual(32);
      expect(y).toBeLessThanOrEqual(200 - 48);
    }
    expect(lines[0][0][1]).toBeGreaterThan(lines[0][3][1]); // larger values are higher up
    expect(svg).toMatch(/>10<\/text>/);
    // The legend is a row above the plot frame, never over the data.
    const frameTop = Number(/<rect x="64" y="([\d.]+)"[^>]*fill="none"/.exec(svg)![1]);
    for (const label of ["truth &lt;x&gt;", "model"]) {
      const y = Number(new RegExp(`<text x="[\\d.]+" y="([\\d.]+)">${label}</text>`).exec(svg)![1]);
      expect(y, label).toBeLessThan(frameTop);
    }
    expect(Math.min(...lines.flat().map(([, y]) => y))).toBeGreaterThanOrEqual(frameTop);
  });

  it("thins long series but keeps their extremes, and survives empty or constant data", () => {
    const y = Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 1000));
    y[54_321] = 5;
    const svg = linePlot([{ label: "long", y }]);
    const points = svg.match(/points="([^"]*)"/)![1].split(" ").map((p) => p.split(",").map(Number));
    expect(points.length).toBeLessThanOrEqual(2000);
    // Ticks -2..6 over the 300 plot pixels below y = 28 (under the legend's row): the spike at 5
    // is drawn at 28 + 300 / 8.
    expect(Math.min(...points.map(([, py]) => py))).toBeCloseTo(28 + 300 / 8, 1);
    expect(linePlot([{ label: "empty", y: [] }])).toContain("<polyline");
    expect(linePlot([{ label: "flat", y: [2, 2, 2] }])).not.toContain("NaN");
  });

  it("moving average", () => {
    expect(Array.from(movingAverage([1, 2, 3, 4], 2))).toEqual([1, 1.5, 2.5, 3.5]);
  });
});
