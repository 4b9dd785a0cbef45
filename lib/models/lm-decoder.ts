/**
 * The native decode step of a LanguageModel (native/kernels/decode_step.h): embedding, every
 * recurrent layer and the output layer for B rows in one call, then each row's next token.
 * Rows are independent requests with their own token, state and sampling settings, and a
 * row's numbers do not depend on the other rows — which is what lets the batching scheduler
 * put requests together without changing what any of them gets. (Internal to the package.)
 *
 * Buffer shapes: tokens (B); state h, c (B, L, H), a row's layers side by side; logits (B, V);
 * specs (B, 5) (see generation.ts); next (B).
 */
import type { DecodeStepHandle } from '../../binding';
import { noGrad } from '../core/grad-mode';
import { native } from '../native/addon';
import { afterPreviousJobs } from '../native/async-queue';
import { CELL_KINDS } from '../nn/cell-kinds';
import { convertMatrix, FORMAT_CODE, Precision } from '../nn/precision';
import type { CellKind } from '../nn/cell-kinds';
import type { Embedding } from '../nn/embedding';
import type { Linear } from '../nn/linear';
import type { RecurrentBase } from '../nn/recurrent';
import type { Parameter } from '../core/tensor';

/** What the decoder reads of a LanguageModel (a structural type: language-model.ts imports this file). */
interface DecodedModel {
  readonly options: { readonly cell: CellKind; readonly numLayers: number; readonly embeddingDim: number; readonly hiddenSize: number; readonly vocabSize: number };
  readonly embedding: Embedding;
  readonly rnn: RecurrentBase;
  readonly head: Linear;
  readonly training: boolean;
  eval(): unknown;
  train(mode?: boolean): unknown;
}

/** A row's state after its prompt: h and c (LSTM) as (L, H). */
export interface RowState {
  h: Float32Array;
  c: Float32Array | null;
}

export class LMDecoder {
  readonly L: number;
  readonly H: number;
  readonly V: number;
  readonly lstm: boolean;
  /** Floats of one row's h (or c): L·H. */
  readonly rowSize: number;
  private handle: DecodeStepHandle;
  /** The weights in the decode precision (made when it was set), or null: the parameters themselves. */
  private converted: Array<Float32Array | Uint16Array | Int8Array | Int32Array | null> | null = null;
  private precisionInUse: Precision = 'float32';

  constructor(private readonly model: DecodedModel) {
    const o = model.options;
    this.L = o.numLayers;
    this.H = o.hiddenSize;
    this.V = o.vocabSize;
    this.lstm = o.cell === 'lstm';
    this.rowSize = this.L * this.H;
    this.handle = this.makeHandle('float32');
  }

  private makeHandle(p: Precision): DecodeStepHandle {
    const o = this.model.options;
    return new native.DecodeStep(CELL_KINDS[o.cell].code, o.numLayers, o.embeddingDim, o.hiddenSize, o.vocabSize, o.vocabSize, FORMAT_CODE[p]);
  }

  get precision(): Precision {
    return this.precisionInUse;
  }

  /** Converts the weights as they are now (bf16, int8), or goes back to the parameters themselves (float32). */
  setPrecision(p: Precision): void {
    this.precisionInUse = p;
    this.handle = this.makeHandle(p);
    if (p === 'float32') {
      this.converted = null;
      return;
    }
    const fp = this.weights();
    this.convertedFrom = fp;
    const out: Array<Float32Array | Uint16Array | Int8Array | Int32Array | null> = [fp[0]];
    const put = (w: Float32Array, N: number, K: number) => {
      const m = convertMatrix(p, w, N, K);
      out.push(m.w, m.scale, m.sum);
    };
    const GH = CELL_KINDS[this.model.options.cell].gates * this.H;
    for (let l = 0; l < this.L; l++) {
      const at = 1 + 8 * l;
      put(fp[at]!, GH, l === 0 ? this.model.options.embeddingDim : this.H);
      put(fp[at + 3]!, GH, this.H);
      out.push(fp[at + 6], fp[at + 7]);
    }
    const head = 1 + 8 * this.L;
    put(fp[head]!, this.V, this.H);
    out.push(fp[head + 3]);
    this.converted = out;
  }

  /** The weights a step reads: the converted copies, or the parameters. */
  private stepWeights(): Array<Float32Array | Uint16Array | Int8Array | Int32Array | null> {
    if (!this.converted) return this.weights();
    // The converted list passes the float32 table and biases through: if the parameters'
    // arrays were replaced since (a ParameterArena), it takes the new ones.
    const fp = this.weights();
    if (fp !== this.convertedFrom) {
      const out = this.converted;
      out[0] = fp[0];
      for (let l = 0; l < this.L; l++) {
        const at = 1 + 8 * l;
        out[at + 6] = fp[at + 6];
        out[at + 7] = fp[at + 7];
      }
      const head = 1 + 8 * this.L;
      out[head + 3] = fp[head + 3];
      this.convertedFrom = fp;
    }
    return this.converted;
  }
  /** The float32 list the converted one was made from (or last patched with). */
  private convertedFrom: Array<Float32Array | null> | null = null;

  /** [table, per layer w_ih, null, null, w_hh, null, null, b_ih, b_hh, head w, null, null, head b]: the parameters themselves (float32). */
  private weights(): Array<Float32Array | null> {
    // Cached: rebuilt only if a parameter's array was replaced (a ParameterArena, the float64
    // checks; loadStateDict copies into them).
    const src = (this.sources ??= this.collectSources());
    const cached = this.fp32;
    if (cached) {
      let same = true;
      for (let i = 0; same && i < src.length; i++) same = cached[i] === (src[i] ? src[i]!.data : null);
      if (same) return cached;
    }
    return (this.fp32 = src.map((p) => (p ? p.data : null)));
  }
  private fp32: Array<Float32Array | null> | null = null;
  /** The parameters behind weights(), in its order (a model's parameters are fixed once it is built). */
  private sources: Array<Parameter | null> | null = null;

  private collectSources(): Array<Parameter | null> {
    const m = this.model;
    const p = new Map(m.rnn.namedParameters());
    const out: Array<Parameter | null> = [m.embedding.weight];
    for (let l = 0; l < this.L; l++)
      out.push(p.get(`weight_ih_l${l}`)!, null, null, p.get(`weight_hh_l${l}`)!, null, null, p.get(`bias_ih_l${l}`) ?? null, p.get(`bias_hh_l${l}`) ?? null);
    out.push(m.head.weight, null, null, m.head.bias ?? null);
    return out;
  }

  /** One step for B rows, on the calling thread. specs and next may both be null (logits only). */
  run(B: number, tokens: Int32Array, hIn: Float32Array, cIn: Float32Array | null, hOut: Float32Array, cOut: Float32Array | null,
    logits: Float32Array, specs: Float64Array | null, next: Int32Array | null): void {
    this.handle.run(B, tokens, this.stepWeights(), hIn, cIn, hOut, cOut, logits, specs, next);
  }

  /** `run` on a libuv worker thread, after every earlier async kernel call. The arrays must stay untouched until it settles. */
  runAsync(B: number, tokens: Int32Array, hIn: Float32Array, cIn: Float32Array | null, hOut: Float32Array, cOut: Float32Array | null,
    logits: Float32Array, specs: Float64Array | null, next: Int32Array | null): Promise<void> {
    const handle = this.handle, weights = this.stepWeights(); // the precision in force at the call
    return afterPreviousJobs(() => handle.runAsync(B, tokens, weights, hIn, cIn, hOut, cOut, logits, specs, next));
  }

  /**
   * The state after all but the last prompt token (the last one is the first decode step's
   * input): zeros for a one-token prompt, else one recurrent forward over the others.
   */
  prefill(prompt: Int32Array): RowState {
    if (prompt.length === 1) return this.zeros();
    const m = this.model;
    const wasTraining = m.training;
    m.eval();
    try {
      const out = noGrad(() => m.rnn.forward(m.embedding.forward(prompt.subarray(0, prompt.length - 1), [prompt.length - 1, 1])));
      return { h: out.h.data, c: out.c ? out.c.data : null };
    } finally {
      m.train(wasTraining);
    }
  }

  /** `prefill` with the recurrent forward on a libuv worker thread (the same numbers: forwardAsync equals forward in eval mode). */
  async prefillAsync(prompt: Int32Array): Promise<RowState> {
    if (prompt.length === 1) return this.zeros();
    const m = this.model;
    const x = noGrad(() => m.embedding.forward(prompt.subarray(0, prompt.length - 1), [prompt.length - 1, 1]));
    const out = await m.rnn.forwardAsync(x);
    return { h: out.h.data, c: out.c ? out.c.data : null };
  }

  private zeros(): RowState {
    return { h: new Float32Array(this.rowSize), c: this.lstm ? new Float32Array(this.rowSize) : null };
  }
}
