export { RecurError, type RecurErrorCode } from "./errors.js";
export { type Tensor, tensor, zeros, numel, checkTensor } from "./tensor.js";
export { init, backendInfo, createRuntime, setThreads, shutdown, type InitOptions, type BackendInfo, type Backend } from "./runtime.js";
export { matmul, type MatmulOptions } from "./ops.js";
export { readSafetensors, writeSafetensors, type StoredTensor, type ReadSafetensorsOptions, type SafetensorsContents } from "./io/safetensors.js";
export { LSTM, type LSTMOptions } from "./models/lstm.js";
export { GRU, type GRUOptions } from "./models/gru.js";
export { RNN, type RNNOptions } from "./models/rnn.js";
export { RecurrentModel, StreamState, type RecurrentOptions, type RecurrentConfig, type ForwardOptions, type ForwardResult, type TrainForwardOptions, type TrainForwardResult } from "./models/recurrent.js";
export { saveModel, loadModel, withoutPrefix, registerModelType, type SaveableModel, type ModelTypes, type ModelType, type LoadedModel, type ModelFactory } from "./io/model-file.js";
export { type Trainable, type ParameterRegion } from "./train/module.js";
export { Linear, type LinearOptions } from "./layers/linear.js";
export { Embedding, type EmbeddingOptions } from "./layers/embedding.js";
export {
  Optimizer, SGD, RMSprop, Adagrad, Adam, AdamW,
  type OptimizerType, type OptimizerStateDict, type HyperValue, type HyperParameters, type SGDOptions, type RMSpropOptions, type AdagradOptions, type AdamOptions,
} from "./train/optimizers.js";
export { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LambdaLR, type SchedulerStateDict } from "./train/schedulers.js";
export { clipGradNorm, clipGradValue, gradientsFinite, type ClipGradNormOptions } from "./train/clip.js";
export { crossEntropy, crossEntropyPtr, mse, msePtr, assertFiniteLoss, type CrossEntropyOptions, type MSEOptions, type LossResult, type Reduction } from "./train/losses.js";
export {
  ESN, esnSearch, esnTask, ESN_TASKS, SEARCH_PARAMETERS,
  type ESNOptions, type ReservoirOptions, type ReservoirWeights, type SparseMatrix, type ESNActivation, type FitOptions, type SolveOptions, type OnlineFitOptions, type PredictOptions, type GenerateOptions, type LayerInfo,
  type SearchParameter, type SearchRange, type SearchSpace, type SearchData, type EsnSearchOptions, type SearchTrial, type SearchResult, type ResolvedRange, type EsnTask, type EsnTaskName,
} from "./esn/index.js";
export { SequenceModel, sampleLogits, type SequenceModelOptions, type SequenceBatch, type IndexTensor, type TrainStepOptions, type TrainStepResult } from "./train/sequence-model.js";
export { fit, type SequenceFitOptions, type SequenceFitProgress, type SequenceFitResult } from "./train/fit.js";
export { runParityCase, formatParityResult, modelFromTorchConfig, type ParityResult, type ParityCheck, type ParityOptions, type ParityFormatOptions } from "./parity.js";
export { saveCheckpoint, loadCheckpoint, optimizerFromState, type Checkpoint } from "./io/checkpoint.js";
export {
  mackeyGlass, narma10, narma10FromInput, lorenz, frequencyToSine, toTensor, column, rmse, nrmse,
  type MackeyGlassOptions, type MackeyGlassMethod, type Narma10Options, type Narma10Series, type Narma10FromInputOptions, type LorenzOptions,
  type FrequencyToSineOptions, type FrequencyToSineSeries, type SeriesLike,
} from "./datasets.js";
export { createRng, type Rng } from "./random.js";
export { CharLM, CharVocab, VOCAB_KEY, type CharLMOptions, type CharLMTrainOptions, type CharLMTrainResult, type CharLMProgress, type CharLMSampleOptions, type OptimizerName } from "./apps/char-lm.js";
