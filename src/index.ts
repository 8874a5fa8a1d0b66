/**
 * recur-nn: the core. The runtime, tensors, recurrent models (RNN, LSTM, GRU, MRNN), layers, training
 * (losses, optimizers, clipping, SequenceModel, fit) and weight files. Everything else has an
 * entry point of its own, so a page pulls in only what it imports:
 *   recur-nn/esn           echo state networks
 *   recur-nn/datasets      benchmark time series (Mackey-Glass, NARMA10, Lorenz, ...) and metrics
 *   recur-nn/char-lm       character-level language models (CharLM, CharVocab)
 *   recur-nn/testing       PyTorch parity cases and side-by-side runtimes
 *   recur-nn/wasm          the pointer-level API over the core's linear memory
 *   recur-nn/onnx          ONNX models (loadOnnx, fromOnnx)
 *   recur-nn/keras         Keras and TensorFlow.js models
 *   recur-nn/diagnostics   the step Jacobians' spectral norms along a trajectory
 *   recur-nn/attention     attention decoders, Seq2Seq, Captioner
 *   recur-nn/hessian-free  Hessian-free optimisation and forward mode
 *   recur-nn/schedulers    learning-rate schedules (StepLR, ...)
 *   recur-nn/checkpoint    training checkpoints (model and optimizer state)
 *   recur-nn/beam-search   beam search over a SequenceModel
 */
export { RecurError, type RecurErrorCode } from "./errors.js";
export { type Tensor, tensor, zeros, numel, checkTensor } from "./tensor.js";
export { init, backendInfo, setThreads, shutdown, type InitOptions, type BackendInfo, type Backend, type GemmTile } from "./runtime.js";
export { matmul, type MatmulOptions } from "./ops.js";
export { packMatrix, PackedMatrix, type PackMatrixOptions } from "./packed-matrix.js";
export { createRng, type Rng } from "./random.js";
export { LSTM, type LSTMOptions } from "./models/lstm.js";
export { GRU, type GRUOptions } from "./models/gru.js";
export { MRNN, type MRNNOptions } from "./models/mrnn.js";
export { RNN, type RNNOptions } from "./models/rnn.js";
export { RecurrentModel, StreamState, type RecurrentOptions, type RecurrentConfig, type IdentityInit, type Initializer, type InitTarget, type ForwardOptions, type ForwardOut, type ForwardResult, type TrainForwardOptions, type TrainForwardResult, type BackwardOptions } from "./models/recurrent.js";
export type { CellActivation, CellActivationName, CellActivationSpec, CellConfig } from "./models/cell.js";
export { type Trainable, type ParameterRegion } from "./train/module.js";
export { Linear, type LinearOptions } from "./layers/linear.js";
export { Embedding, type EmbeddingOptions } from "./layers/embedding.js";
export {
  Optimizer, SGD, RMSprop, Adagrad, Adam, AdamW,
  type OptimizerType, type OptimizerStateDict, type HyperValue, type HyperParameters, type SGDOptions, type RMSpropOptions, type AdagradOptions, type AdamOptions,
} from "./train/optimizers.js";
export { clipGradNorm, clipGradValue, gradientsFinite, type ClipGradNormOptions } from "./train/clip.js";
export { crossEntropy, mse, assertFiniteLoss, type CrossEntropyOptions, type MSEOptions, type LossResult, type Reduction } from "./train/losses.js";
export { SequenceModel, sampleLogits, type SequenceModelOptions, type SequenceBatch, type IndexTensor, type TrainStepOptions, type TrainStepResult } from "./train/sequence-model.js";
export { fit, type BatchOptimizer, type SequenceFitOptions, type SequenceFitProgress, type SequenceFitResult } from "./train/fit.js";
export { readSafetensors, writeSafetensors, type StoredTensor, type ReadSafetensorsOptions, type SafetensorsContents } from "./io/safetensors.js";
export { saveModel, loadModel, withoutPrefix, registerModelType, type SaveableModel, type ModelTypes, type ModelType, type LoadedModel, type ModelFactory } from "./io/model-file.js";
