/** recur-nn/char-lm: character-level language models (vocabulary, training windows, sampling, weight files). */
export { CharLM, CharVocab, VOCAB_KEY, type CharLMOptions, type CharLMTrainOptions, type CharLMTrainResult, type CharLMProgress, type CharLMSampleOptions, type CharLMBeamOptions, type OptimizerName } from "./char-lm.js";
