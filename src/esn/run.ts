/** The driven run: one or more `esnRun` calls (assembly/reservoir/run.ts) over a whole sequence. */
import { fail } from "../errors.js";
import { Flag, type Arena, type Built, type Readout } from "./layout.js";
import { align64 } from "../memory.js";

// Bytes of the buffers of one Wasm call; longer sequences are cut into several calls.
const SLICE_BYTES = 16 << 20;

export interface RunRequest {
  label: string;
  steps: number;
  inputs?: Float32Array;
  teacher?: Float32Array;
  outputs?: Float32Array;
  states?: Float32Array;
  washout: number;
  flags: number;
}

// One or more esnRun calls over the request (sliced so the call buffers stay <= 16 MiB).
export function runModel(arena: Arena, b: Built, readout: Readout | undefined, units: number, unbounded: boolean, req: RunRequest): void {
  const { heap, kernels: k } = arena.rt;
  if (req.steps === 0) return;
  if ((req.flags & (Flag.Output | Flag.Closed | Flag.Rls | Flag.FbIsInput | Flag.Teacher)) !== 0 && readout === undefined) {
    fail("E_STATE", `${req.label}: the output size is unknown`);
  }
  const I = b.I;
  const O = b.O;
  const U = units;
  const perStep = 4 * ((req.inputs ? I : 0) + (req.teacher ? O : 0) + (req.outputs ? O : 0) + (req.states ? U : 0));
  const slice = perStep === 0 ? req.steps : Math.max(1, Math.min(req.steps, Math.floor(SLICE_BYTES / perStep)));
  const inBytes = req.inputs ? align64(slice * I * 4) : 0;
  const tBytes = req.teacher ? align64(slice * O * 4) : 0;
  const oBytes = req.outputs ? align64(slice * O * 4) : 0;
  const buf = arena.blocks.alloc(inBytes + tBytes + oBytes + (req.states ? slice * U * 4 : 0));
  const inPtr = buf;
  const tPtr = buf + inBytes;
  const oPtr = tPtr + tBytes;
  const sPtr = oPtr + oBytes;
  try {
    for (let start = 0; start < req.steps; start += slice) {
      const len = Math.min(slice, req.steps - start);
      if (req.inputs && I > 0) heap.f32(inPtr, len * I).set(req.inputs.subarray(start * I, (start + len) * I));
      if (req.teacher) heap.f32(tPtr, len * O).set(req.teacher.subarray(start * O, (start + len) * O));
      const failed = k.esnRun(
        b.desc,
        len,
        req.inputs ? inPtr : 0,
        req.teacher ? tPtr : 0,
        req.outputs ? oPtr : 0,
        req.states ? sPtr : 0,
        Math.max(0, req.washout - start),
        req.flags,
      );
      if (failed >= 0) {
        fail(
          "E_NUMERIC",
          `${req.label}: the reservoir state or output became non-finite at step ${start + failed}` +
            (unbounded ? " (an unbounded activation diverged: lower spectralRadius or the scalings)" : " (overflow in the weighted sums: check the scale of the inputs and weights)"),
        );
      }
      if (req.outputs) req.outputs.set(heap.f32(oPtr, len * O), start * O);
      if (req.states) req.states.set(heap.f32(sPtr, len * U), start * U);
    }
  } finally {
    arena.blocks.release(buf);
  }
}