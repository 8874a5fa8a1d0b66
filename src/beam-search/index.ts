/**
 * recur-nn/beam-search: beam search over a `SequenceModel` token model (`sequenceBeamSearch`):
 * `width` hypotheses kept at every step, scored by log p / n^α, stopped by an end token. CharLM's
 * `beamSearch` runs it; the attention decoders (recur-nn/attention) have their own.
 */
export { sequenceBeamSearch, type SequenceBeamOptions, type Hypothesis } from "../train/sequence-beam.js";
