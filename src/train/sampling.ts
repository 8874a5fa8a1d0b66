/** Sampling a token from logits (temperature, top-k). */

/** Index drawn from softmax(logits / temperature), restricted to the topK largest when topK > 0. */
export function sampleLogits(logits: ArrayLike<number>, temperature: number, topK: number, u: number): number {
  const n = logits.length;
  let order = Array.from({ length: n }, (_, i) => i);
  if (topK > 0 && topK < n) order = order.sort((a, b) => logits[b] - logits[a]).slice(0, topK);
  let max = -Infinity;
  for (const i of order) max = Math.max(max, logits[i]);
  const w = order.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let j = 0; j < order.length; j++) {
    acc += w[j] / total;
    if (u < acc) return order[j];
  }
  return order[order.length - 1];
}
