/**
 * An encoder–decoder with attention (Luong et al. 2015, as OpenNMT builds it): embeddings, a
 * stacked (by default bidirectional) RNN/LSTM/GRU encoder over variable-length sources, a
 * bridge from the encoder's final states to the decoder's initial ones, a decoder with
 * attention over the encoder states and optional input feeding, and a linear layer over the
 * target vocabulary. Trained with teacher forcing; decoded greedily, by sampling, or by beam
 * search with beams kept as one batch.
 */
import { noGrad } from '../core/grad-mode';
import { defaultGenerator, Generator } from '../core/random';
import { Tensor } from '../core/tensor';
import {
  checkBoolean, checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, rangeError, typeError,
} from '../core/validate';
import { padSequences } from '../data/sequences';
import { native } from '../native/addon';
import { Attention, AttentionKind, PreparedMemory } from '../nn/attention';
import { CellKind } from '../nn/cell-kinds';
import { Embedding } from '../nn/embedding';
import * as F from '../nn/functional';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { GRU, LSTM, RecurrentBase, RecurrentState, RNN } from '../nn/recurrent';
import { sampleToken } from './sampling';
import type { DecodeOptions } from './decode-options';
import { translateOnWorker } from './seq2seq-async';

export interface Seq2SeqOptions {
  sourceVocabSize: number;
  targetVocabSize: number;
  /** Both embeddings' size. Default 128. */
  embeddingDim?: number;
  /** The decoder's hidden size and the attention memory's (a bidirectional encoder gives each direction half). Default 256. */
  hiddenSize?: number;
  /** Default 'lstm'. */
  cell?: CellKind;
  encoderLayers?: number;
  decoderLayers?: number;
  /** A bidirectional encoder (default true). */
  bidirectional?: boolean;
  /** 'none', 'dot', 'general' (default) or 'additive'. */
  attention?: 'none' | AttentionKind;
  /** Feed the previous step's attentional state into the decoder's input (default true with attention). */
  inputFeeding?: boolean;
  /** On the embeddings, between stacked layers and before the output layer, in training. Default 0.2. */
  dropout?: number;
  /** The output layer shares the target embedding's weight (needs embeddingDim = hiddenSize). */
  tieTargetEmbeddings?: boolean;
}

export type { DecodeOptions } from './decode-options';

/** The id that ends a sequence and, fed to the decoder first, starts one (a Vocabulary's `<eos>`). */
export const EOS = 0;

/** A batch for teacher-forced training, made by Seq2Seq.batch(). */
export interface Seq2SeqBatch {
  /** (S, B) time-major source ids, padded. */
  source: Int32Array;
  sourceLengths: Int32Array;
  S: number;
  /** (T, B) decoder inputs: EOS then the target (padded with EOS). */
  targetIn: Int32Array;
  /** (T·B) time-major rows: the target then EOS, −100 on padding (ignored by the loss). */
  targetOut: Int32Array;
  T: number;
  B: number;
  /** Target tokens the loss counts (EOS included). */
  tokens: number;
}

const OPTION_KEYS = ['sourceVocabSize', 'targetVocabSize', 'embeddingDim', 'hiddenSize', 'cell', 'encoderLayers', 'decoderLayers',
  'bidirectional', 'attention', 'inputFeeding', 'dropout', 'tieTargetEmbeddings'];
const DECODE_KEYS = ['mode', 'beamSize', 'maxLength', 'lengthPenalty', 'temperature', 'topK', 'topP', 'seed'];

function recurrent(cell: CellKind, o: { inputSize: number; hiddenSize: number; numLayers: number; dropout: number; bidirectional?: boolean }): RecurrentBase {
  if (cell === 'lstm') return new LSTM(o);
  if (cell === 'gru') return new GRU(o);
  return new RNN({ ...o, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

/** The source side: embedding and recurrent stack. */
class Encoder extends Module {
  readonly embedding: Embedding;
  readonly rnn: RecurrentBase;
  constructor(o: Required<Seq2SeqOptions>) {
    super();
    const D = o.bidirectional ? 2 : 1;
    this.embedding = this.registerModule('embedding', new Embedding({ numEmbeddings: o.sourceVocabSize, embeddingDim: o.embeddingDim }));
    this.rnn = this.registerModule('rnn', recurrent(o.cell, {
      inputSize: o.embeddingDim, hiddenSize: o.hiddenSize / D, numLayers: o.encoderLayers, dropout: o.dropout, bidirectional: o.bidirectional,
    }));
  }
}

/** The target side: embedding, recurrent stack, attention, the attentional layer and the output layer. */
class Decoder extends Module {
  readonly embedding: Embedding;
  readonly rnn: RecurrentBase;
  readonly attention: Attention | null;
  readonly combine: Linear | null;
  readonly out: Linear;
  constructor(o: Required<Seq2SeqOptions>) {
    super();
    const H = o.hiddenSize;
    this.embedding = this.registerModule('embedding', new Embedding({ numEmbeddings: o.targetVocabSize, embeddingDim: o.embeddingDim }));
    this.rnn = this.registerModule('rnn', recurrent(o.cell, {
      inputSize: o.embeddingDim + (o.inputFeeding ? H : 0), hiddenSize: H, numLayers: o.decoderLayers, dropout: o.dropout,
    }));
    this.attention = o.attention === 'none' ? null : this.registerModule('attention', new Attention({ kind: o.attention, queryDim: H, keyDim: H }));
    this.combine = o.attention === 'none' ? null : this.registerModule('combine', new Linear({ inFeatures: 2 * H, outFeatures: H, bias: false }));
    this.out = this.registerModule('out', new Linear({ inFeatures: H, outFeatures: o.targetVocabSize }, o.tieTargetEmbeddings ? this.embedding.weight : undefined));
  }
}

/** What encoding a batch gives the decoder. */
interface Encoded {
  B: number;
  /** (B, S, H) batch-major encoder outputs, projected keys. */
  prepared: PreparedMemory | null;
  lengths: Int32Array;
  /** The decoder's initial state. */
  state: RecurrentState;
}

/** The decoder's carry between steps. */
interface DecoderCarry {
  state: RecurrentState;
  /** (B, H): the previous attentional state (input feeding), or null before the first step. */
  feed: Tensor | null;
}

/**
 * A sequence-to-sequence model with attention. Parameter names: `encoder.embedding.weight`,
 * `encoder.rnn.weight_ih_l0` …, `bridge_h.weight`, `bridge_h.bias` (and `bridge_c.*` for
 * LSTM), `decoder.embedding.weight`, `decoder.rnn.*`, `decoder.attention.*`,
 * `decoder.combine.weight`, `decoder.out.weight`, `decoder.out.bias`.
 *
 * @example
 * const model = new Seq2Seq({ sourceVocabSize: src.size, targetVocabSize: tgt.size, hiddenSize: 256 });
 * const batch = model.batch([src.encode('hello')], [tgt.encode('HH AH L OW', )]);
 * model.loss(batch).backward();
 * const [best] = model.translate([src.encode('world')], { beamSize: 5 });
 */
export class Seq2Seq extends Module {
  readonly options: Required<Seq2SeqOptions>;
  readonly encoder: Encoder;
  readonly bridge_h: Linear;
  readonly bridge_c: Linear | null;
  readonly decoder: Decoder;

  constructor(options: Seq2SeqOptions) {
    super();
    const ctx = 'Seq2Seq';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with sourceVocabSize and targetVocabSize', options);
    const o = checkOptions<Seq2SeqOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, OPTION_KEYS);
    const attention = checkOneOf(ctx, 'attention', o.attention ?? 'general', ['none', 'dot', 'general', 'additive'] as const);
    const resolved: Required<Seq2SeqOptions> = {
      sourceVocabSize: checkInteger(ctx, 'sourceVocabSize', o.sourceVocabSize, 1),
      targetVocabSize: checkInteger(ctx, 'targetVocabSize', o.targetVocabSize, 1),
      embeddingDim: checkInteger(ctx, 'embeddingDim', o.embeddingDim ?? 128, 1),
      hiddenSize: checkInteger(ctx, 'hiddenSize', o.hiddenSize ?? 256, 1),
      cell: checkOneOf(ctx, 'cell', o.cell ?? 'lstm', ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const),
      encoderLayers: checkInteger(ctx, 'encoderLayers', o.encoderLayers ?? 1, 1, 64),
      decoderLayers: checkInteger(ctx, 'decoderLayers', o.decoderLayers ?? 1, 1, 64),
      bidirectional: checkBoolean(ctx, 'bidirectional', o.bidirectional ?? true),
      attention,
      inputFeeding: checkBoolean(ctx, 'inputFeeding', o.inputFeeding ?? attention !== 'none'),
      dropout: checkNumber(ctx, 'dropout', o.dropout ?? 0.2, { min: 0, max: 1, maxExclusive: true }),
      tieTargetEmbeddings: checkBoolean(ctx, 'tieTargetEmbeddings', o.tieTargetEmbeddings ?? false),
    };
    if (resolved.bidirectional && resolved.hiddenSize % 2 !== 0)
      throw new RangeError(`${ctx}: a bidirectional encoder splits hiddenSize between its two directions, so it must be even (received ${resolved.hiddenSize})`);
    if (resolved.inputFeeding && attention === 'none') throw new RangeError(`${ctx}: inputFeeding needs attention (it feeds the attentional state back)`);
    if (resolved.tieTargetEmbeddings && resolved.embeddingDim !== resolved.hiddenSize)
      throw new RangeError(`${ctx}: tieTargetEmbeddings needs embeddingDim (${resolved.embeddingDim}) equal to hiddenSize (${resolved.hiddenSize})`);
    this.options = Object.freeze(resolved) as Required<Seq2SeqOptions>;
    const H = resolved.hiddenSize, Ld = resolved.decoderLayers;
    this.encoder = this.registerModule('encoder', new Encoder(resolved));
    this.bridge_h = this.registerModule('bridge_h', new Linear({ inFeatures: H, outFeatures: Ld * H }));
    this.bridge_c = resolved.cell === 'lstm' ? this.registerModule('bridge_c', new Linear({ inFeatures: H, outFeatures: Ld * H })) : null;
    this.decoder = this.registerModule('decoder', new Decoder(resolved));
  }

  /**
   * Pads source and target sequences into one teacher-forcing batch: the decoder reads EOS
   * then the target, and learns to emit the target then EOS.
   */
  batch(sources: Int32Array[], targets: Int32Array[]): Seq2SeqBatch {
    const ctx = 'Seq2Seq.batch';
    if (!Array.isArray(sources)) throw typeError(ctx, 'sources', 'an array of Int32Arrays', sources);
    if (!Array.isArray(targets)) throw typeError(ctx, 'targets', 'an array of Int32Arrays', targets);
    if (sources.length !== targets.length || sources.length === 0)
      throw new RangeError(`${ctx}: sources and targets must be non-empty and of one length, received ${sources.length} and ${targets.length}`);
    this.checkIds(ctx, 'sources', sources, this.options.sourceVocabSize);
    this.checkIds(ctx, 'targets', targets, this.options.targetVocabSize, true);
    const src = padSequences(sources, { padValue: EOS });
    const B = sources.length;
    const T = Math.max(...targets.map((t) => t.length)) + 1;
    const targetIn = new Int32Array(T * B).fill(EOS);
    const targetOut = new Int32Array(T * B).fill(-100);
    let tokens = 0;
    targets.forEach((tgt, b) => {
      for (let t = 0; t < tgt.length; t++) {
        targetIn[(t + 1) * B + b] = tgt[t];
        targetOut[t * B + b] = tgt[t];
      }
      targetOut[tgt.length * B + b] = EOS;
      tokens += tgt.length + 1;
    });
    return { source: src.ids, sourceLengths: src.lengths, S: src.T, targetIn, targetOut, T, B, tokens };
  }

  private checkIds(ctx: string, name: string, seqs: Int32Array[], V: number, allowEmpty = false): void {
    seqs.forEach((s, i) => {
      checkInt32Array(ctx, `${name}[${i}]`, s);
      if (!allowEmpty && s.length === 0) throw new RangeError(`${ctx}: ${name}[${i}] is empty`);
      for (let k = 0; k < s.length; k++) if (s[k] < 0 || s[k] >= V) throw rangeError(ctx, `${name}[${i}][${k}]`, `a token id in [0, ${V})`, s[k]);
    });
  }

  /** Runs the encoder over a padded (S, B) batch and prepares the decoder's start. @internal */
  encode(source: Int32Array, S: number, B: number, lengths: Int32Array): Encoded {
    const o = this.options;
    const x = F.dropout(this.encoder.embedding.forward(source, [S, B]), o.dropout, this.training);
    const enc = this.encoder.rnn.forward(x, undefined, { lengths });
    const D = o.bidirectional ? 2 : 1, H = o.hiddenSize, Ld = o.decoderLayers;
    const Le = o.encoderLayers;
    // The top layer's final state(s), both directions side by side: (B, H).
    const top = (s: Tensor) => F.narrow(s, 0, (Le - 1) * D, D).transpose(0, 1).reshape([B, H]);
    const bridge = (lin: Linear, s: Tensor) => F.tanh(lin.forward(top(s))).reshape([B, Ld, H]).transpose(0, 1);
    const state: RecurrentState = { h: bridge(this.bridge_h, enc.h) };
    if (this.bridge_c && enc.c) state.c = bridge(this.bridge_c, enc.c);
    const memory = enc.output.transpose(0, 1); // (B, S, H)
    return { B, prepared: this.decoder.attention ? this.decoder.attention.prepare(memory) : null, lengths, state };
  }

  /**
   * The decoder over T steps of given inputs (T, B): attentional states (T, B, H) and the
   * carry after the last step. Without input feeding the recurrent stack runs the whole
   * sequence in one call; with it, one call per step.
   */
  private decode(enc: Encoded, inputs: Int32Array, T: number, carry: DecoderCarry): { hidden: Tensor; carry: DecoderCarry } {
    const o = this.options;
    const B = enc.B, H = o.hiddenSize;
    const dec = this.decoder;
    const emb = F.dropout(dec.embedding.forward(inputs, [T, B]), o.dropout, this.training);
    if (!o.inputFeeding) {
      const out = dec.rnn.forward(emb, carry.state);
      const hidden = this.attend(enc, out.output.transpose(0, 1)).transpose(0, 1); // (T, B, H)
      return { hidden, carry: { state: out.c ? { h: out.h, c: out.c } : { h: out.h }, feed: null } };
    }
    let state = carry.state;
    let feed = carry.feed ?? Tensor.wrap(new Float32Array(B * H), [B, H]);
    const steps: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const x = F.cat([F.narrow(emb, 0, t, 1), feed.reshape([1, B, H])], -1);
      const out = dec.rnn.forward(x, state);
      state = out.c ? { h: out.h, c: out.c } : { h: out.h };
      feed = this.attend(enc, out.output.transpose(0, 1)).reshape([B, H]);
      steps.push(feed);
    }
    return { hidden: F.stack(steps, 0), carry: { state, feed } };
  }

  /** Attention and the attentional layer over decoder outputs q (B, Tq, H) → (B, Tq, H). */
  private attend(enc: Encoded, q: Tensor): Tensor {
    const dec = this.decoder;
    if (!dec.attention || !enc.prepared) return q;
    const { context } = dec.attention.forward(q, enc.prepared, { lengths: enc.lengths });
    return F.tanh(dec.combine!.forward(F.cat([context, q], -1)));
  }

  /** The output layer over attentional states (..., H) → logits (rows, V). */
  private project(hidden: Tensor): Tensor {
    const H = this.options.hiddenSize;
    const h = F.dropout(hidden.reshape([hidden.size / H, H]), this.options.dropout, this.training);
    return this.decoder.out.forward(h);
  }

  /**
   * Teacher-forced logits of a batch: (T·B, targetVocabSize), time-major rows (t·B + b), the
   * decoder reading the gold previous tokens.
   */
  forward(batch: Seq2SeqBatch): Tensor {
    checkBatch('Seq2Seq.forward', batch, this.options);
    const enc = this.encode(batch.source, batch.S, batch.B, batch.sourceLengths);
    const { hidden } = this.decode(enc, batch.targetIn, batch.T, { state: enc.state, feed: null });
    return this.project(hidden);
  }

  /** The mean cross-entropy of a batch's target tokens (differentiable). */
  loss(batch: Seq2SeqBatch, opts?: { labelSmoothing?: number }): Tensor {
    const ctx = 'Seq2Seq.loss';
    const o = checkOptions<{ labelSmoothing: number }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['labelSmoothing']);
    const labelSmoothing = checkNumber(ctx, 'opts.labelSmoothing', o.labelSmoothing ?? 0, { min: 0, max: 1 });
    checkBatch(ctx, batch, this.options);
    return F.crossEntropy(this.forward(batch), batch.targetOut, { ignoreIndex: -100, labelSmoothing });
  }

  /**
   * Logits of every step when the decoder is run one step at a time on the given inputs, the
   * way decoding runs it (a check that decoding and training share their math). @internal
   */
  stepwiseLogits(batch: Seq2SeqBatch): Tensor {
    const enc = this.encode(batch.source, batch.S, batch.B, batch.sourceLengths);
    let carry: DecoderCarry = { state: enc.state, feed: null };
    const rows: Tensor[] = [];
    for (let t = 0; t < batch.T; t++) {
      const r = this.decode(enc, batch.targetIn.subarray(t * batch.B, (t + 1) * batch.B), 1, carry);
      carry = r.carry;
      rows.push(this.project(r.hidden));
    }
    return F.cat(rows, 0);
  }

  /**
   * Translates token sequences (no gradient; the model runs in eval mode and is restored):
   * beam search by default, greedy or sampling on request. Each output ends before EOS.
   */
  translate(sources: Int32Array[], opts?: DecodeOptions): Int32Array[] {
    const ctx = 'Seq2Seq.translate';
    if (!Array.isArray(sources) || sources.length === 0) throw typeError(ctx, 'sources', 'a non-empty array of Int32Arrays', sources);
    this.checkIds(ctx, 'sources', sources, this.options.sourceVocabSize);
    const plan = decodePlan(ctx, opts, sources, this.options.targetVocabSize);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const src = padSequences(sources, { padValue: EOS });
        const enc = this.encode(src.ids, src.T, src.B, src.lengths);
        return plan.mode === 'beam' ? this.beamSearch(enc, plan) : this.sampleOrGreedy(enc, plan);
      });
    } finally {
      this.train(wasTraining);
    }
  }

  /**
   * translate() on a worker thread of the model's own, for services: the event loop stays free
   * while a batch decodes. What decodes is the model as it is at the call (its weights are sent
   * to the worker when they changed since the last call), so training may go on meanwhile;
   * concurrent calls are answered in order. Arguments are checked here, before anything is
   * queued: a bad one rejects with the TypeError or RangeError translate() would throw.
   * Sampling without a seed draws one from the global generator (manualSeed makes it
   * reproducible).
   * @example const outputs = await model.translateAsync([src.encode('hello')], { beamSize: 5 });
   */
  translateAsync(sources: Int32Array[], opts?: DecodeOptions): Promise<Int32Array[]> {
    const ctx = 'Seq2Seq.translateAsync';
    let forwarded: DecodeOptions | undefined;
    try {
      if (!Array.isArray(sources) || sources.length === 0) throw typeError(ctx, 'sources', 'a non-empty array of Int32Arrays', sources);
      this.checkIds(ctx, 'sources', sources, this.options.sourceVocabSize);
      const plan = decodePlan(ctx, opts, sources, this.options.targetVocabSize);
      forwarded = plan.mode === 'sample' && opts?.seed === undefined ? { ...opts, seed: defaultGenerator.nextUint32() } : opts;
    } catch (err) {
      return Promise.reject(err);
    }
    return translateOnWorker(this, sources, forwarded);
  }

  /** One decoding step for rows reading `tokens` (B): log-probabilities (B, V) and the next carry. */
  private step(enc: Encoded, tokens: Int32Array, carry: DecoderCarry): { logp: Tensor; carry: DecoderCarry } {
    const r = this.decode(enc, tokens, 1, carry);
    return { logp: F.logSoftmax(this.project(r.hidden), -1), carry: r.carry };
  }

  private sampleOrGreedy(enc: Encoded, plan: DecodePlan): Int32Array[] {
    const B = enc.B, V = this.options.targetVocabSize;
    const out: number[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    let carry: DecoderCarry = { state: enc.state, feed: null };
    let tokens = new Int32Array(B).fill(EOS);
    for (let t = 0; t < plan.maxLength && done.some((d) => !d); t++) {
      const r = this.step(enc, tokens, carry);
      carry = r.carry;
      const next = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const row = r.logp.data.subarray(b * V, (b + 1) * V);
        next[b] = sampleToken(row, plan.mode === 'greedy' ? { greedy: true } : plan.sampling, plan.generator);
        if (!done[b]) {
          if (next[b] === EOS) done[b] = 1;
          else out[b].push(next[b]);
        }
      }
      tokens = next;
    }
    return out.map((o) => Int32Array.from(o));
  }

  /**
   * Beam search with the B·K beams as one batch (one recurrent step and one output GEMM per
   * step for all of them): each step extends every live beam by its best tokens, keeps the K
   * best continuations per source and sets aside those that end (EOS); a source is done when K
   * hypotheses have ended. Hypotheses are ranked by log-probability / length^lengthPenalty.
   */
  private beamSearch(encIn: Encoded, plan: DecodePlan): Int32Array[] {
    const K = plan.beamSize, V = this.options.targetVocabSize;
    const B = encIn.B, BK = B * K;
    // Every source's encoding repeated for its K beams.
    const expand = Int32Array.from({ length: BK }, (_, r) => Math.floor(r / K));
    const enc: Encoded = {
      B: BK,
      lengths: Int32Array.from(expand, (b) => encIn.lengths[b]),
      prepared: encIn.prepared
        ? { memory: F.indexSelect(encIn.prepared.memory, 0, expand), keys: F.indexSelect(encIn.prepared.keys, 0, expand) }
        : null,
      state: reorderState(encIn.state, expand),
    };
    let carry: DecoderCarry = { state: enc.state, feed: null };
    const scores = new Float64Array(BK).fill(-Infinity);
    for (let b = 0; b < B; b++) scores[b * K] = 0; // one live beam per source at the start
    let history: number[][] = Array.from({ length: BK }, () => []);
    const finished: Array<Array<{ tokens: number[]; score: number }>> = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    let tokens = new Int32Array(BK).fill(EOS);
    const rank = (logp: number, length: number) => logp / Math.pow(Math.max(1, length), plan.lengthPenalty);
    const width = Math.min(V, 2 * K); // per beam: enough candidates to keep K live ones after EOS
    for (let t = 0; t < plan.maxLength && done.some((d) => !d); t++) {
      const r = this.step(enc, tokens, carry);
      const top = topRows(r.logp.data, BK, V, width);
      const source = new Int32Array(BK), next = new Int32Array(BK).fill(EOS);
      const nextScores = new Float64Array(BK).fill(-Infinity);
      const nextHistory: number[][] = new Array(BK);
      for (let b = 0; b < B; b++) {
        const rowsOf = b * K;
        for (let k = 0; k < K; k++) {
          source[rowsOf + k] = rowsOf;
          nextHistory[rowsOf + k] = [];
        }
        if (done[b]) continue;
        const candidates: Array<{ score: number; row: number; token: number }> = [];
        for (let k = 0; k < K; k++) {
          const row = rowsOf + k;
          if (scores[row] === -Infinity) continue;
          for (let j = 0; j < width; j++) candidates.push({ score: scores[row] + top.values[row * width + j], row, token: top.indices[row * width + j] });
        }
        candidates.sort((p, q) => q.score - p.score);
        let kept = 0;
        for (const c of candidates) {
          if (kept === K) break;
          if (c.token === EOS) {
            if (finished[b].length < K) finished[b].push({ tokens: history[c.row], score: rank(c.score, history[c.row].length + 1) });
            continue;
          }
          const slot = rowsOf + kept++;
          source[slot] = c.row;
          next[slot] = c.token;
          nextScores[slot] = c.score;
          nextHistory[slot] = [...history[c.row], c.token];
        }
        if (finished[b].length >= K || kept === 0) done[b] = 1;
      }
      carry = { state: reorderState(r.carry.state, source), feed: r.carry.feed ? F.indexSelect(r.carry.feed, 0, source) : null };
      tokens = next;
      scores.set(nextScores);
      history = nextHistory;
    }
    // Beams still alive at maxLength are candidates too.
    for (let b = 0; b < B; b++)
      for (let k = 0; k < K; k++) {
        const row = b * K + k;
        if (scores[row] > -Infinity && !done[b]) finished[b].push({ tokens: history[row], score: rank(scores[row], history[row].length) });
      }
    return finished.map((f) => {
      let bestHyp: { tokens: number[]; score: number } | null = null;
      for (const h of f) if (!bestHyp || h.score > bestHyp.score) bestHyp = h;
      return Int32Array.from(bestHyp ? bestHyp.tokens : []);
    });
  }

  protected describe(): string {
    const o = this.options;
    return `Seq2Seq(${o.cell}, source ${o.sourceVocabSize}, target ${o.targetVocabSize}, hidden ${o.hiddenSize}, attention ${o.attention}${o.inputFeeding ? ', input feeding' : ''})`;
  }
}

/** The state's rows (dim 1 of each (L, rows, H) tensor) picked by `rows`. */
function reorderState(s: RecurrentState, rows: Int32Array): RecurrentState {
  const h = F.indexSelect(s.h, 1, rows);
  return s.c ? { h, c: F.indexSelect(s.c, 1, rows) } : { h };
}

/** The `k` largest values of each row with their columns. */
function topRows(data: Float32Array, rows: number, n: number, k: number): { values: Float32Array; indices: Int32Array } {
  const values = new Float32Array(rows * k), indices = new Int32Array(rows * k);
  native.topk(values, indices, data, rows, n, k);
  return { values, indices };
}

/** A batch's parts must fit together (as Seq2Seq.batch() makes them): a TypeError otherwise. */
function checkBatch(ctx: string, batch: unknown, o: Required<Seq2SeqOptions>): asserts batch is Seq2SeqBatch {
  const b = batch as Partial<Seq2SeqBatch> | null;
  const int = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  const ok =
    b !== null && typeof b === 'object' && int(b.S, 1) && int(b.T, 1) && int(b.B, 1) &&
    b.source instanceof Int32Array && b.source.length === b.S! * b.B! &&
    b.sourceLengths instanceof Int32Array && b.sourceLengths.length === b.B && b.sourceLengths.every((n) => n >= 1 && n <= b.S!) &&
    b.targetIn instanceof Int32Array && b.targetIn.length === b.T! * b.B! && b.targetIn.every((v) => v >= 0 && v < o.targetVocabSize) &&
    b.targetOut instanceof Int32Array && b.targetOut.length === b.T! * b.B! && b.targetOut.every((v) => v === -100 || (v >= 0 && v < o.targetVocabSize)) &&
    b.source.every((v) => v >= 0 && v < o.sourceVocabSize);
  if (!ok) throw typeError(ctx, 'batch', 'a batch made by Seq2Seq.batch()', batch);
}

interface DecodePlan {
  mode: 'greedy' | 'beam' | 'sample';
  beamSize: number;
  maxLength: number;
  lengthPenalty: number;
  sampling: { temperature?: number; topK?: number; topP?: number };
  generator: Generator;
}

function decodePlan(ctx: string, opts: DecodeOptions | undefined, sources: Int32Array[], V: number): DecodePlan {
  const o = checkOptions<DecodeOptions>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, DECODE_KEYS);
  const beamSize = checkInteger(ctx, 'beamSize', o.beamSize ?? 5, 1, 1024);
  const mode = checkOneOf(ctx, 'mode', o.mode ?? (beamSize > 1 ? 'beam' : 'greedy'), ['greedy', 'beam', 'sample'] as const);
  const longest = Math.max(...sources.map((s) => s.length));
  const sampling: DecodePlan['sampling'] = {};
  if (o.temperature !== undefined) sampling.temperature = checkNumber(ctx, 'temperature', o.temperature, { min: 0, minExclusive: true });
  if (o.topK !== undefined) sampling.topK = checkInteger(ctx, 'topK', o.topK, 1, V);
  if (o.topP !== undefined) sampling.topP = checkNumber(ctx, 'topP', o.topP, { min: 0, max: 1, minExclusive: true });
  return {
    mode,
    beamSize: mode === 'beam' ? beamSize : 1,
    maxLength: checkInteger(ctx, 'maxLength', o.maxLength ?? 2 * longest + 10, 1, 1 << 20),
    lengthPenalty: checkNumber(ctx, 'lengthPenalty', o.lengthPenalty ?? 1, { min: 0 }),
    sampling,
    generator: o.seed === undefined ? defaultGenerator : new Generator(checkInteger(ctx, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER)),
  };
}
