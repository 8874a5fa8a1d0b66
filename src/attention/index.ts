/** recur-nn/attention: soft attention decoders ("Show, Attend and Tell", attention seq2seq) and beam search. */
export { AttentionDecoder, type AttentionDecoderOptions, type AttentionForwardResult, type AttentionLossOptions, type AttentionLossResult, type DecodingRows, type DecodeStepResult } from "./decoder.js";
export type { AttentionInput } from "./checks.js";
export type { AttentionCell, AttentionOutput, AttentionScore, Dims as AttentionDims } from "./layout.js";
export { MeanInit, type MeanInitState } from "./init-state.js";
export { beamSearch, decodeRows, type BeamOptions, type DecodeOptions, type Hypothesis, type TokenStepper } from "../train/search.js";
export { Seq2Seq, type Seq2SeqOptions, type TranslateOptions } from "./seq2seq.js";
export { Captioner, type CaptionerOptions, type CaptionOptions } from "./captioner.js";
