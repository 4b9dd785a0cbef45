/**
 * Continuous batching for LanguageModel.generateAsync: concurrent requests on one model are
 * decoded together, one native step per token for the whole batch (one product of B rows
 * against the weights instead of B products of one row each). A request joins the running
 * batch at the next step once its prompt has been read and leaves it the moment it ends, so
 * short requests are not held back by long ones; each keeps its own options and gets exactly
 * the tokens it would get alone (the decode step's rows do not depend on each other:
 * native/kernels/row_dot.h).
 */
import { checkInteger, checkKnownOptions, checkNumber, checkOptions, typeError } from '../core/validate';
import { GenerationPlan, SPEC_WIDTH, writeSpec } from './generation';
import type { LMDecoder, RowState } from './lm-decoder';

export interface BatchingOptions {
  /** The most requests decoded together in one step (default 64). */
  maxBatch?: number;
  /**
   * How long an idle model waits for more requests before its first step, in milliseconds
   * (default 0: the requests made in the same turn of the event loop start together).
   * Requests arriving while a batch runs never wait: they join at the next step.
   */
  maxWaitMs?: number;
  /** The most requests waiting for a batch slot; beyond it generateAsync rejects at once with a QueueFullError (default 1024). */
  maxQueue?: number;
}

/** What a model's scheduler is doing, for monitoring. */
export interface BatchingStats {
  /** Requests waiting for a batch slot. */
  queued: number;
  /** Requests whose prompt is being read (they join the batch next). */
  prefilling: number;
  /** Requests in the decode batch. */
  running: number;
  /** Tokens produced per second over the last second. */
  tokensPerSecond: number;
  /** Since the scheduler started: tokens produced, decode steps run, requests finished (resolved), failed, aborted and refused. */
  tokens: number;
  steps: number;
  completed: number;
  failed: number;
  aborted: number;
  rejected: number;
  /** The settings in force. */
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
}

/**
 * The error a request gets when its model's queue is full (BatchingOptions.maxQueue):
 * nothing was queued; retry later (an HTTP service answers 503).
 */
export class QueueFullError extends Error {
  readonly code = 'RNN_QUEUE_FULL';
  constructor(message: string) {
    super(message);
    this.name = 'QueueFullError';
  }
}

interface Request {
  plan: GenerationPlan;
  out: number[];
  /** The next step's input token. */
  token: number;
  state: RowState | null;
  onToken: ((token: number, index: number) => void) | undefined;
  signal: AbortSignal | undefined;
  removeAbortListener: (() => void) | null;
  resolve: (tokens: Int32Array) => void;
  reject: (err: unknown) => void;
  /** Settled (finished, failed or aborted): the request no longer takes part. */
  settled: boolean;
}

const OPTION_KEYS = ['maxBatch', 'maxWaitMs', 'maxQueue'];
const WINDOW_MS = 1000;

/**
 * One model's batching scheduler (each LanguageModel makes its own on first use:
 * `model.scheduler`). Settings apply from the next step.
 *
 * @example
 * lm.scheduler.configure({ maxBatch: 32, maxQueue: 256 });
 * const outs = await Promise.all(prompts.map((prompt) => lm.generateAsync({ prompt, maxLength: 100, seed: 1 })));
 * console.log(lm.scheduler.stats()); // { queued: 0, running: 0, tokensPerSecond: …, … }
 */
export class GenerationScheduler {
  private maxBatch = 64;
  private maxWaitMs = 0;
  private maxQueue = 1024;
  private readonly queue: Request[] = [];
  private readonly ready: Request[] = [];
  private prefilling = 0;
  /** The decode batch: request b owns row b of every buffer below. */
  private readonly rows: Request[] = [];
  private capacity = 0;
  // (capacity, L, H) each; `cur` holds the state the next step reads, `nxt` receives the new one.
  private hCur = new Float32Array(0);
  private hNxt = new Float32Array(0);
  private cCur: Float32Array | null = null;
  private cNxt: Float32Array | null = null;
  private tokens = new Int32Array(0);  // (capacity)
  private specs = new Float64Array(0); // (capacity, 5)
  private next = new Int32Array(0);    // (capacity)
  private logits = new Float32Array(0); // (capacity, V)
  private looping = false;
  /** Wakes the loop when it waits for a prompt to be read. */
  private wake: (() => void) | null = null;
  private counts = { tokens: 0, steps: 0, completed: 0, failed: 0, aborted: 0, rejected: 0 };
  /** Recent steps (time in ms, tokens) for the rate, oldest first. */
  private recent: Array<[number, number]> = [];

  /** @internal */
  constructor(private readonly decoder: LMDecoder, private readonly ctx: string) {}

  /** Changes the settings (each optional); they apply from the next step. Returns this. */
  configure(options: BatchingOptions): this {
    const ctx = 'GenerationScheduler.configure';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object { maxBatch?, maxWaitMs?, maxQueue? }', options);
    const o = checkOptions<BatchingOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, OPTION_KEYS);
    const maxBatch = o.maxBatch === undefined ? this.maxBatch : checkInteger(ctx, 'maxBatch', o.maxBatch, 1, 4096);
    const maxWaitMs = o.maxWaitMs === undefined ? this.maxWaitMs : checkNumber(ctx, 'maxWaitMs', o.maxWaitMs, { min: 0, max: 60_000 });
    const maxQueue = o.maxQueue === undefined ? this.maxQueue : checkInteger(ctx, 'maxQueue', o.maxQueue, 0, 1 << 24);
    this.maxBatch = maxBatch;
    this.maxWaitMs = maxWaitMs;
    this.maxQueue = maxQueue;
    return this;
  }

  /** A snapshot of the queue, the batch and the throughput. */
  stats(): BatchingStats {
    return {
      queued: this.queue.length,
      prefilling: this.prefilling,
      running: this.rows.filter((r) => !r.settled).length + this.ready.length,
      tokensPerSecond: this.rate(),
      ...this.counts,
      maxBatch: this.maxBatch,
      maxWaitMs: this.maxWaitMs,
      maxQueue: this.maxQueue,
    };
  }

  /**
   * Queues a checked request; resolves with its tokens. Rejects at once with a
   * QueueFullError when maxQueue requests are already waiting, or with the signal's reason
   * when it is (or becomes) aborted.
   * @internal
   */
  submit(plan: GenerationPlan, signal: AbortSignal | undefined, onToken: Request['onToken']): Promise<Int32Array> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    // Requests queued in this turn of the event loop may still find a free slot; only those beyond count against maxQueue.
    const waiting = this.queue.length - Math.max(0, this.maxBatch - this.occupied());
    if (waiting >= this.maxQueue) {
      this.counts.rejected++;
      return Promise.reject(new QueueFullError(
        `${this.ctx}: the queue is full (${this.queue.length} requests waiting for one of ${this.maxBatch} batch slots, maxQueue ${this.maxQueue}); retry later or raise maxQueue with scheduler.configure()`));
    }
    return new Promise<Int32Array>((resolve, reject) => {
      const req: Request = {
        plan, out: [], token: plan.prompt[plan.prompt.length - 1], state: null, onToken, signal,
        removeAbortListener: null, resolve, reject, settled: false,
      };
      if (plan.maxLength === 0) {
        this.counts.completed++;
        resolve(new Int32Array(0));
        return;
      }
      if (signal) {
        const onAbort = () => this.abort(req);
        signal.addEventListener('abort', onAbort, { once: true });
        req.removeAbortListener = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(req);
      this.start();
    });
  }

  /** Rows taken or promised: the batch, requests about to join and prompts being read. */
  private occupied(): number {
    return this.rows.length + this.ready.length + this.prefilling;
  }

  private start(): void {
    if (this.looping) {
      this.wake?.();
      return;
    }
    this.looping = true;
    const begin = () => void this.loop();
    if (this.maxWaitMs > 0) setTimeout(begin, this.maxWaitMs);
    else setImmediate(begin);
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.dropSettled();
        this.admit();
        this.join();
        if (this.rows.length > 0) {
          await this.step();
          continue;
        }
        if (this.prefilling === 0 && this.queue.length === 0 && this.ready.length === 0) break;
        await new Promise<void>((resolve) => (this.wake = resolve)); // a prompt finishes, or a request arrives
        this.wake = null;
      }
    } finally {
      this.looping = false;
    }
  }

  /** Moves queued requests into free slots and starts reading their prompts. */
  private admit(): void {
    while (this.queue.length > 0 && this.occupied() < this.maxBatch) {
      const req = this.queue.shift()!;
      if (req.settled) continue;
      if (req.plan.prompt.length === 1) {
        req.state = this.decoder.prefill(req.plan.prompt); // zeros: no kernel call
        this.ready.push(req);
        continue;
      }
      this.prefilling++;
      this.decoder.prefillAsync(req.plan.prompt).then(
        (state) => {
          this.prefilling--;
          if (!req.settled) {
            req.state = state;
            this.ready.push(req);
          }
          this.wake?.();
        },
        (err) => {
          this.prefilling--;
          this.fail(req, err);
          this.wake?.();
        },
      );
    }
  }

  /** Requests whose prompt has been read take the next rows. */
  private join(): void {
    if (this.ready.length === 0) return;
    this.reserve(this.rows.length + this.ready.length);
    const n = this.decoder.rowSize;
    for (const req of this.ready.splice(0)) {
      if (req.settled) continue;
      const b = this.rows.length;
      this.hCur.set(req.state!.h, b * n);
      if (this.cCur) this.cCur.set(req.state!.c!, b * n);
      req.state = null;
      this.rows.push(req);
    }
  }

  /** Grows the buffers to hold `rows` rows, keeping the batch's state. */
  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const cap = Math.max(rows, Math.min(2 * this.capacity, this.maxBatch), 4);
    const n = this.decoder.rowSize, V = this.decoder.V;
    const grow = (old: Float32Array) => {
      const a = new Float32Array(cap * n);
      a.set(old.subarray(0, this.rows.length * n));
      return a;
    };
    this.hCur = grow(this.hCur);
    this.hNxt = new Float32Array(cap * n);
    if (this.decoder.lstm) {
      this.cCur = grow(this.cCur ?? new Float32Array(0));
      this.cNxt = new Float32Array(cap * n);
    }
    this.tokens = new Int32Array(cap);
    this.specs = new Float64Array(cap * SPEC_WIDTH);
    this.next = new Int32Array(cap);
    this.logits = new Float32Array(cap * V);
    this.capacity = cap;
  }

  /** One token for every row of the batch. */
  private async step(): Promise<void> {
    const B = this.rows.length, n = this.decoder.rowSize;
    for (let b = 0; b < B; b++) {
      this.tokens[b] = this.rows[b].token;
      writeSpec(this.specs, b, this.rows[b].plan);
    }
    try {
      await this.decoder.runAsync(
        B, this.tokens.subarray(0, B), this.hCur.subarray(0, B * n), this.cCur ? this.cCur.subarray(0, B * n) : null,
        this.hNxt.subarray(0, B * n), this.cNxt ? this.cNxt.subarray(0, B * n) : null, this.logits.subarray(0, B * this.decoder.V),
        this.specs.subarray(0, B * SPEC_WIDTH), this.next.subarray(0, B),
      );
    } catch (err) {
      for (const req of this.rows) this.fail(req, err);
      return;
    }
    [this.hCur, this.hNxt] = [this.hNxt, this.hCur];
    [this.cCur, this.cNxt] = [this.cNxt, this.cCur];
    let produced = 0;
    for (let b = 0; b < B; b++) {
      const req = this.rows[b];
      if (req.settled) continue; // aborted while the step ran: its token is dropped
      const tok = this.next[b];
      req.out.push(tok);
      req.token = tok;
      produced++;
      if (req.onToken) {
        try {
          req.onToken(tok, req.out.length - 1);
        } catch (err) {
          this.fail(req, err);
          continue;
        }
      }
      if (tok === req.plan.endToken || req.out.length >= req.plan.maxLength) this.finish(req);
    }
    this.counts.tokens += produced;
    this.counts.steps++;
    this.recent.push([Date.now(), produced]);
    this.trimRecent(Date.now());
  }

  /** Removes settled requests from the batch: the last row moves into each freed one. */
  private dropSettled(): void {
    const n = this.decoder.rowSize;
    for (let b = this.rows.length - 1; b >= 0; b--) {
      if (!this.rows[b].settled) continue;
      const last = this.rows.length - 1;
      if (b !== last) {
        this.hCur.copyWithin(b * n, last * n, (last + 1) * n);
        this.cCur?.copyWithin(b * n, last * n, (last + 1) * n);
        this.rows[b] = this.rows[last];
      }
      this.rows.pop();
    }
  }

  private finish(req: Request): void {
    if (req.settled) return;
    req.settled = true;
    req.removeAbortListener?.();
    this.counts.completed++;
    req.resolve(Int32Array.from(req.out));
  }

  private fail(req: Request, err: unknown): void {
    if (req.settled) return;
    req.settled = true;
    req.removeAbortListener?.();
    this.counts.failed++;
    req.reject(err);
  }

  /** Rejects at once; a queued request leaves the queue now, a running one its row at the next step. */
  private abort(req: Request): void {
    if (req.settled) return;
    req.settled = true;
    req.removeAbortListener = null;
    this.counts.aborted++;
    const at = this.queue.indexOf(req);
    if (at >= 0) this.queue.splice(at, 1);
    req.reject(abortReason(req.signal!));
    this.wake?.();
  }

  private trimRecent(now: number): void {
    while (this.recent.length > 0 && this.recent[0][0] < now - WINDOW_MS) this.recent.shift();
  }

  private rate(): number {
    this.trimRecent(Date.now());
    if (this.recent.length < 2) return 0;
    const span = this.recent[this.recent.length - 1][0] - this.recent[0][0];
    if (span <= 0) return 0;
    let tokens = 0;
    for (let i = 1; i < this.recent.length; i++) tokens += this.recent[i][1];
    return (tokens * 1000) / span;
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason !== undefined ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}
