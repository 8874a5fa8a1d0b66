// If: both branches are compiled at load in the scope of the graph that holds the node; a run
// executes the chosen branch and hands its outputs on without copying.
import { fail } from "../../errors.js";
import type { OnnxTensor } from "../values.js";
import type { BuildContext, Op, OpFactory } from "./op.js";

function ifOp(ctx: BuildContext): Op {
  const thenBranch = ctx.subgraph("then_branch");
  const elseBranch = ctx.subgraph("else_branch");
  const count = ctx.node.outputs.length;
  for (const [name, b] of [["then_branch", thenBranch], ["else_branch", elseBranch]] as const) {
    if (b.outputNames.length !== count) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: ${name} has ${b.outputNames.length} outputs, the node ${count}`);
  }
  const outs: (OnnxTensor | undefined)[] = new Array(count).fill(undefined);
  return {
    outs,
    run(ins) {
      const cond = ins[0]!;
      if (cond.data.length !== 1) fail("E_SHAPE", `${ctx.label}: the condition must hold one element, got [${cond.shape.join(", ")}]`);
      const results = (cond.data[0] ? thenBranch : elseBranch).run();
      for (let i = 0; i < count; i++) outs[i] = results[i];
    },
  };
}

export const controlOps: Record<string, OpFactory> = { If: ifOp };
