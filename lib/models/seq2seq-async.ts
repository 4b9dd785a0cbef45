/**
 * The main-thread side of Seq2Seq.translateAsync: one worker thread per model, started on the
 * first call, fed requests one at a time. Each request carries the model's weights only when
 * they changed since the worker last received them (compared byte for byte, which costs far
 * less than a decode), so a model that keeps training is decoded with the weights it had at
 * the call. The worker does not keep the process alive while idle, and ends when the model is
 * garbage-collected. (Internal to the package.)
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../core/worker-script';
import type { Tensor } from '../core/tensor';
import type { DecodeOptions } from './decode-options';
import type { TranslateReply, TranslateRequest } from './seq2seq-messages';

/** What the worker needs of a Seq2Seq: its options (to rebuild it) and its weights. */
interface Decodable {
  readonly options: object;
  stateDict(): Record<string, Tensor>;
}


interface Pending {
  resolve: (outputs: Int32Array[]) => void;
  reject: (err: Error) => void;
}

/** Rebuilds a worker's error with its own class (TypeError, RangeError, …) and message. */
function revive(e: { name: string; message: string; stack?: string }): Error {
  const Ctor = e.name === 'TypeError' ? TypeError : e.name === 'RangeError' ? RangeError : Error;
  const err = new Ctor(e.message);
  if (Ctor === Error && e.name !== 'Error') err.name = e.name;
  return err;
}

class TranslationWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** The weights the worker holds (name → bytes), to send only what changed. */
  private sent: Map<string, Buffer> | null = null;
  private dead: Error | null = null;

  constructor(model: Decodable) {
    this.worker = new Worker(workerScript('Seq2Seq.translateAsync', __dirname, 'models', 'seq2seq-worker'), { workerData: { options: model.options } });
    this.worker.unref();
    this.worker.on('message', (reply: TranslateReply) => this.settle(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`Seq2Seq.translateAsync: the translation worker exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.dead === null;
  }

  translate(model: Decodable, sources: Int32Array[], opts: DecodeOptions | undefined): Promise<Int32Array[]> {
    if (this.dead) return Promise.reject(this.dead);
    const req: TranslateRequest = { id: this.nextId++, sources, opts };
    const weights = this.changedWeights(model);
    if (weights) req.weights = weights;
    return new Promise<Int32Array[]>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref(); // keep the process alive until the answer
      // Sources are copied by the structured clone; fresh weight copies are moved, not copied again.
      this.worker.postMessage(req, weights ? Object.values(weights).map((w) => w.buffer as ArrayBuffer) : []);
    });
  }

  /** Copies of the weights when any differs from what the worker holds, else null. */
  private changedWeights(model: Decodable): Record<string, Float32Array> | null {
    const sd = model.stateDict();
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const same = this.sent !== null && Object.entries(sd).every(([name, t]) => {
      const held = this.sent!.get(name);
      return held !== undefined && held.equals(bytes(t.data));
    });
    if (same) return null;
    const copies: Record<string, Float32Array> = {};
    const sent = new Map<string, Buffer>();
    for (const [name, t] of Object.entries(sd)) {
      copies[name] = t.data.slice();
      sent.set(name, Buffer.from(bytes(t.data))); // our own copy: the worker's is transferred away
    }
    this.sent = sent;
    return copies;
  }

  private settle(reply: TranslateReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('outputs' in reply) p.resolve(reply.outputs);
    else p.reject(revive(reply.error));
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  terminate(): void {
    this.fail(new Error('Seq2Seq.translateAsync: the translation worker was stopped'));
    void this.worker.terminate();
  }
}

const workers = new WeakMap<Decodable, TranslationWorker>();
// A model dropped by its owner takes its worker with it.
const reaper = new FinalizationRegistry<TranslationWorker>((w) => w.terminate());

/** Decodes on the model's worker thread (started on first use, restarted if it died). */
export function translateOnWorker(model: Decodable, sources: Int32Array[], opts: DecodeOptions | undefined): Promise<Int32Array[]> {
  let w = workers.get(model);
  if (!w || !w.alive) {
    w = new TranslationWorker(model);
    workers.set(model, w);
    reaper.register(model, w);
  }
  return w.translate(model, sources, opts);
}
