import { fail } from "../errors.js";

// Checks of SequenceModel's options and batches that read no model state.

export function checkLossUnits(units: unknown, outputSize: number, loss: string): number[] {
  if (loss !== "mse") fail("E_VALUE", "SequenceModel: lossUnits needs loss \"mse\" (a softmax spreads over every class)");
  if (!Array.isArray(units) || units.length === 0) fail("E_VALUE", `SequenceModel: lossUnits must be a non-empty array of output unit indices, got ${JSON.stringify(units)}`);
  const seen = new Set<number>();
  for (const u of units) {
    if (!Number.isInteger(u) || u < 0 || u >= outputSize) fail("E_VALUE", `SequenceModel: lossUnits entry ${JSON.stringify(u)} is not an output unit index in [0, ${outputSize})`);
    if (seen.has(u)) fail("E_VALUE", `SequenceModel: lossUnits lists unit ${u} twice`);
    seen.add(u);
  }
  return [...units] as number[];
}

export function describeShape(t: unknown): string {
  const s = (t as { shape?: unknown } | undefined)?.shape;
  return Array.isArray(s) ? `[${s.join(", ")}]` : String(t);
}
