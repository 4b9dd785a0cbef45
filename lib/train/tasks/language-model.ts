/**
 * Training a LanguageModel: truncated BPTT over B parallel streams of one token stream, the
 * hidden state carried across batches (detached) and kept in checkpoints; validation is the
 * mean next-token loss of the held-out stream.
 */
import { defaultGenerator } from '../../core/random';
import { Tensor } from '../../core/tensor';
import { checkInt32Array } from '../../core/validate';
import { languageModelLayout } from '../../io/model-file';
import type { SafetensorsEntry } from '../../io/safetensors';
import { LanguageModel, LanguageModelOptions, LMState } from '../../models/language-model';
import { crossEntropy } from '../../nn/loss';
import type { ResolvedConfig } from '../config';
import { allFinite, firstNonFinite } from '../non-finite';
import { PreparedTask, registerTask, TrainingTask } from '../task';
import type { Shard } from '../data-parallel';

/** The token stream as B parallel streams, time-major (rows, B): column b is the b-th slice. @internal */
export function batchify(stream: Int32Array, B: number): { data: Int32Array; rows: number } {
  const rows = Math.floor(stream.length / B);
  const data = new Int32Array(rows * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < rows; t++) data[t * B + b] = stream[b * rows + t];
  return { data, rows };
}

/** Columns [from, from + width) of a row-major (rows, cols) matrix, as a (rows, width) one. */
function columns(data: Int32Array, rows: number, cols: number, from: number, width: number): Int32Array {
  const out = new Int32Array(rows * width);
  for (let t = 0; t < rows; t++) out.set(data.subarray(t * cols + from, t * cols + from + width), t * width);
  return out;
}

/**
 * Every rank's carried state (L, B, H) gathered into the state of the global batch
 * (L, N·B, H), rank r's streams at [rB, (r+1)B) — what one process with batch N·B carries.
 */
function gatherState(t: Tensor, shard: Shard): Tensor {
  const [L, B, H] = t.shape;
  const N = shard.worldSize;
  const all = shard.allGather(t.data); // (N, L, B, H)
  const out = new Float32Array(all.length); // (L, N·B, H)
  for (let r = 0; r < N; r++)
    for (let l = 0; l < L; l++) out.set(all.subarray(((r * L + l) * B) * H, ((r * L + l + 1) * B) * H), (l * N * B + r * B) * H);
  return new Tensor(out, [L, N * B, H]);
}

/** This rank's streams [rB, (r+1)B) of a global batch's state (L, N·B, H), as (L, B, H). */
function shareOfState(t: Tensor, shard: Shard): Tensor {
  const [L, NB, H] = t.shape;
  const B = NB / shard.worldSize;
  const out = new Float32Array(L * B * H);
  for (let l = 0; l < L; l++) out.set(t.data.subarray((l * NB + shard.rank * B) * H, (l * NB + (shard.rank + 1) * B) * H), l * B * H);
  return new Tensor(out, [L, B, H]);
}

/**
 * The mean next-token loss (nats) of a language model over a token stream, in eval mode,
 * carrying the state across chunks of T steps of B parallel streams (the model's mode is
 * restored after).
 * @example const valLoss = evaluate(lm, vocab.encode(heldOut), 32, 64); // bits per token: valLoss / Math.LN2
 */
export function evaluate(model: LanguageModel, stream: Int32Array, B: number, T: number): number {
  const wasTraining = model.training;
  model.eval();
  try {
    const { data, rows } = batchify(stream, Math.max(1, Math.min(B, Math.floor(stream.length / 2))));
    const Bv = rows > 0 ? data.length / rows : 1;
    let state: LMState | undefined;
    let total = 0, count = 0;
    for (let i = 0; i + 1 < rows; i += T) {
      const seq = Math.min(T, rows - 1 - i);
      const x = data.subarray(i * Bv, (i + seq) * Bv);
      const y = data.subarray((i + 1) * Bv, (i + 1 + seq) * Bv);
      const out = model.forward(x, seq, Bv, state);
      state = out.state;
      total += crossEntropy(out.logits, y.slice()).loss * seq * Bv;
      count += seq * Bv;
    }
    return count ? total / count : NaN;
  } finally {
    model.train(wasTraining);
  }
}

interface LMBatch {
  x: Int32Array;
  y: Int32Array;
  seq: number;
}

/**
 * Re-runs one batch module by module, as LanguageModel.forward/backward compute it
 * (embedding → rnn → head → cross-entropy, then head, rnn, embedding backward), and names the
 * first one whose result holds a non-finite value. `rng` is the default generator's state
 * before the failing step, so dropout draws the same masks; the generator is restored after,
 * and the gradients zeroed. Never throws: a failing re-run is reported in the result.
 */
function diagnose(model: LanguageModel, x: Int32Array, T: number, B: number, state: LMState | undefined, y: Int32Array, rng: number[] | null): string {
  const after = defaultGenerator.getState();
  const H = model.options.hiddenSize;
  const finite = (a: Float32Array) => allFinite([a]);
  const gradsOf = (prefix: string): string | null =>
    firstNonFinite(model.namedParameters().filter(([n]) => n.startsWith(`${prefix}.`)), 'grad');
  try {
    if (rng) defaultGenerator.setState(rng);
    model.zeroGrad();
    const emb = model.embedding.forward(x, [T, B]);
    if (!finite(emb.data)) return "the first non-finite output is embedding's (forward)";
    const r = model.rnn.forward(emb, state);
    if (!finite(r.output.data) || !finite(r.h.data) || (r.c !== undefined && !finite(r.c.data)))
      return "the first non-finite output is rnn's (forward; embedding's output is finite)";
    const logits = model.head.forward(r.output.reshape([T * B, H]));
    if (!finite(logits.data)) return "the first non-finite output is head's (forward; embedding's and rnn's outputs are finite)";
    const { loss, grad } = crossEntropy(logits, y);
    if (!Number.isFinite(loss) || !finite(grad.data)) return 'the cross-entropy of finite logits is non-finite';
    const dOut = model.head.backward(grad);
    const headGrad = gradsOf('head');
    if (headGrad || !finite(dOut.data))
      return `the forward pass is finite; the first non-finite gradient is head's (backward: ${headGrad ? `gradient of ${headGrad}` : 'gradient of its input'})`;
    const g = model.rnn.backward(dOut.reshape([T, B, H]));
    const rnnGrad = gradsOf('rnn');
    if (rnnGrad || !finite(g.gradInput.data))
      return `the forward pass is finite; the first non-finite gradient is rnn's (backward: ${rnnGrad ? `gradient of ${rnnGrad}` : 'gradient of its input'}; head's are finite)`;
    model.embedding.backward(g.gradInput);
    const embGrad = gradsOf('embedding');
    if (embGrad) return `the forward pass is finite; the first non-finite gradient is embedding's (backward: gradient of ${embGrad})`;
    return 'the module-by-module re-run of the batch was finite throughout (the fault did not reproduce)';
  } catch (err) {
    return `the module-by-module re-run failed (${(err as Error).message})`;
  } finally {
    defaultGenerator.setState(after);
    model.zeroGrad();
  }
}

/** The language model as a training task. @internal */
export const LANGUAGE_MODEL_TASK: TrainingTask<LanguageModel, Int32Array> = {
  kind: 'language-model',
  owns: (model): model is LanguageModel => model instanceof LanguageModel,
  build: (options) => new LanguageModel(options as LanguageModelOptions),
  layout: (model) => languageModelLayout(model.options),
  checkData(ctx, model, data, name) {
    const ids = checkInt32Array(ctx, name, data);
    const V = model.options.vocabSize;
    for (let i = 0; i < ids.length; i++) if (ids[i] < 0 || ids[i] >= V) throw new RangeError(`${ctx}: ${name}[${i}] is ${ids[i]}, outside the vocabulary [0, ${V})`);
    return ids;
  },
  serialize: (data) => data,
  deserialize: (raw) => raw as Int32Array,
  split(data, fraction) {
    const cut = Math.floor(data.length * (1 - fraction));
    return { train: data.subarray(0, cut), validation: data.subarray(cut) };
  },
  prepare(ctx, model, train, validation, cfg: ResolvedConfig, shard?: Shard): PreparedTask<LMBatch> {
    const B = cfg.batchSize, T = cfg.seqLength;
    // Data-parallel: the N·B streams of one process with batch N·B; this rank runs streams
    // [rB, (r+1)B) of them, so that the ranks' gradients average to that process's.
    const N = shard?.worldSize ?? 1;
    const global = batchify(train, N * B);
    const rows = global.rows;
    if (rows < 2)
      throw new RangeError(`${ctx}: train holds ${train.length} tokens, too few for batchSize ${B}${N > 1 ? ` on each of ${N} ranks` : ''} (need at least ${2 * N * B})`);
    const data = shard && N > 1 ? columns(global.data, rows, N * B, shard.rank * B, B) : global.data;
    const { numLayers: L, hiddenSize: H, cell } = model.options;
    let state: LMState | undefined;
    let stateBefore: LMState | undefined;
    return {
      batchesPerEpoch: Math.ceil((rows - 1) / T),
      startEpoch(_epoch, fresh) {
        if (fresh) state = undefined; // each epoch starts the streams afresh
      },
      batch(i) {
        const at = i * T;
        const seq = Math.min(T, rows - 1 - at);
        return { x: data.subarray(at * B, (at + seq) * B), y: data.slice((at + 1) * B, (at + 1 + seq) * B), seq };
      },
      loss(b) {
        stateBefore = state;
        const out = model.forward(b.x, b.seq, B, state);
        state = out.state; // carried; the next forward detaches it (truncated BPTT)
        // The explicit backward (the same recorded graph): what the loop runs after a finite loss.
        const { loss, grad } = crossEntropy(out.logits, b.y);
        return { value: loss, count: b.seq * B, backward: () => void model.backward(grad) };
      },
      afterSkip() {
        if (state && !allFinite(state.c ? [state.h.data, state.c.data] : [state.h.data])) state = undefined; // restart the streams
      },
      validate: () => ({ loss: validation && validation.length >= 2 ? evaluate(model, validation, N * B, T) : NaN }),
      saveState() {
        const out: Record<string, Tensor> = {};
        if (shard && N > 1) {
          // Gathers are collectives, so every rank takes part: a rank whose streams restarted
          // (after a skipped step) sends zeros, which is what a restarted stream starts from.
          if (!shard.allGather(Float32Array.of(state ? 1 : 0)).some((x) => x > 0)) return out;
          const zeros = () => new Tensor(new Float32Array(L * B * H), [L, B, H]);
          out.h = gatherState(state ? state.h.detach() : zeros(), shard);
          if (cell === 'lstm') out.c = gatherState(state?.c ? state.c.detach() : zeros(), shard);
          return out;
        }
        if (state) {
          out.h = state.h.detach();
          if (state.c) out.c = state.c.detach();
        }
        return out;
      },
      checkState(entries: readonly SafetensorsEntry[], damaged, mismatch) {
        const names = entries.map((e) => e.name).sort().join(',');
        const expected = cell === 'lstm' ? 'c,h' : 'h';
        if (names !== '' && names !== expected) damaged(`holds tensors ${JSON.stringify(names)}, expected none or ${JSON.stringify(expected)}`);
        for (const e of entries) {
          if (e.shape.length !== 3 || e.shape[0] !== L || e.shape[2] !== H)
            damaged(`tensor ${e.name} has shape [${e.shape.join(', ')}], expected [${L}, batchSize, ${H}]`);
          if (e.shape[1] !== N * B)
            mismatch(
              N === 1
                ? `carries a hidden state for batchSize ${e.shape[1]}, not ${B}: resume with batchSize ${e.shape[1]}`
                : `carries a hidden state for a global batch of ${e.shape[1]} streams, not ${N} ranks × batchSize ${B}: resume with the batchSize and ranks it was written with`,
            );
        }
      },
      loadState(t) {
        const mine = (x: Tensor) => (shard && N > 1 ? shareOfState(x, shard) : x);
        state = t.h ? (t.c ? { h: mine(t.h), c: mine(t.c) } : { h: mine(t.h) }) : undefined;
      },
      diagnose: (b, rng) => diagnose(model, b.x, b.seq, B, stateBefore, b.y, rng),
    };
  },
};

registerTask(LANGUAGE_MODEL_TASK);
