// What forward mode (tangent.ts) reads of a recurrent model's last training forward.
import type { WasmBlocks } from "../memory.js";
import type { Runtime } from "../runtime.js";
import type { Dims } from "./config.js";
import type { RecurrentParams } from "./params.js";
import type { Workspace } from "./workspace.js";

/** What forwardTangent needs of a recurrent model's last training forward (RecurrentModel.tangentContext). @internal */
export interface TangentContext {
  rt: Runtime;
  d: Dims;
  params: RecurrentParams;
  blocks: WasmBlocks;
  ws: Workspace;
  T: number;
  B: number;
  hasLengths: boolean;
  batchFirst: boolean;
  outputShape: (n: number) => number[];
  stateShape: (n: number) => number[];
}
