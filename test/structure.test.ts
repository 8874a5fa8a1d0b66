// The shape of the sources: no import cycles, no overlong files, the descriptor generated from
// its one definition. scripts/check-structure.js and scripts/gen-descriptor.js do the work; they
// run here so that CI keeps them true.
import { describe, expect, it } from "vitest";
import { cycles, importGraph, longFiles, MAX_LINES } from "../scripts/check-structure.js";
import { descriptorIsCurrent, generateDescriptor } from "../scripts/gen-descriptor.js";

describe("structure", () => {
  it("finds a cycle when there is one (the check itself)", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(cycles(graph)).toEqual([["a.ts", "b.ts", "c.ts"]]);
    expect(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]]))).toEqual([]);
  });

  it("no import cycle among the modules of assembly/ or of src/ (type-only imports included)", () => {
    for (const dir of ["assembly", "src"]) {
      const graph = importGraph(dir);
      expect(graph.size, dir).toBeGreaterThan(10);
      expect(cycles(graph), dir).toEqual([]);
    }
  });

  it("the thread pool knows no kernel: assembly/threads.ts imports nothing", () => {
    expect(importGraph("assembly").get("assembly/threads.ts")).toEqual([]);
  });

  it(`no source, test, benchmark or script file over ${MAX_LINES} lines, generated files aside`, () => {
    expect(longFiles(["assembly", "src", "test", "bench", "scripts", "examples", "web"])).toEqual([]);
  });

  it("assembly/cells/descriptor.ts is generated from src/models/descriptor.ts and current", () => {
    expect(generateDescriptor()).toMatch(/export enum Field \{/);
    expect(descriptorIsCurrent()).toBe(true);
  });
});
