import { Generator } from '../core/random';

export interface SamplingOptions {
  /** Always take the most likely token. */
  greedy?: boolean;
  /** Divides the logits; < 1 sharpens, > 1 flattens. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p. */
  topP?: number;
}

/**
 * Picks a token from logits (V). Order of filters as in Hugging Face: temperature, top-k, top-p.
 * @internal
 */
export function sampleToken(logits: Float32Array, opts: SamplingOptions, g: Generator): number {
  const V = logits.length;
  if (opts.greedy) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const temperature = opts.temperature ?? 1;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  let keep = opts.topK !== undefined ? Math.min(opts.topK, V) : V;
  const max = logits[order[0]];
  const probs = new Float64Array(keep);
  let sum = 0;
  for (let r = 0; r < keep; r++) {
    probs[r] = Math.exp((logits[order[r]] - max) / temperature);
    sum += probs[r];
  }
  for (let r = 0; r < keep; r++) probs[r] /= sum;
  if (opts.topP !== undefined && opts.topP < 1) {
    let cum = 0;
    let r = 0;
    while (r < keep) {
      cum += probs[r++];
      if (cum >= opts.topP) break;
    }
    keep = r; // always at least one token
    sum = cum;
  } else {
    sum = 1;
  }
  let u = g.uniform() * sum;
  for (let r = 0; r < keep; r++) {
    u -= probs[r];
    if (u < 0) return order[r];
  }
  return order[keep - 1];
}
