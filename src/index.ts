export { RecurError, type RecurErrorCode } from "./errors.js";
export { type Tensor, tensor, zeros, numel, checkTensor } from "./tensor.js";
export { init, backendInfo, createRuntime, type InitOptions, type BackendInfo, type Backend } from "./runtime.js";
export { matmul } from "./ops.js";
export { readSafetensors, writeSafetensors } from "./io/safetensors.js";
export { LSTM, type LSTMOptions } from "./models/lstm.js";
export { GRU, type GRUOptions } from "./models/gru.js";
export { RNN, type RNNOptions } from "./models/rnn.js";
export { RecurrentModel, StreamState, type RecurrentOptions, type RecurrentConfig, type ForwardOptions, type ForwardResult } from "./models/recurrent.js";
