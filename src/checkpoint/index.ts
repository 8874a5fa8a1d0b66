/**
 * recur-nn/checkpoint: training checkpoints. `saveCheckpoint(model, optimizer)` writes a model file
 * (as `saveModel`) with the optimizer's state, `loadCheckpoint` reads one back (model and state),
 * and `optimizerFromState` rebuilds the optimizer so training resumes exactly where it stopped.
 */
export { saveCheckpoint, loadCheckpoint, optimizerFromState, type Checkpoint } from "../io/checkpoint.js";
