/**
 * The main-thread side of SequenceClassifier.predictProbaAsync / predictAsync: one worker
 * thread per model, started on the first call, fed requests in order. A request carries the
 * model's weights only when they changed since the worker last received them (compared byte
 * for byte, far cheaper than a forward), so a model that keeps training is run with the
 * weights it had at the call. The worker does not keep the process alive while idle and ends
 * when the model is garbage-collected. (Internal to the package.)
 */
import { Worker } from 'node:worker_threads';
import { Tensor } from '../core/tensor';
import { reviveWorkerError, workerScript } from '../core/worker-script';
import type { PredictReply, PredictRequest } from './classifier-messages';

/** What the worker needs of a SequenceClassifier: its options (to rebuild it) and its weights. */
interface Predictor {
  readonly options: object;
  stateDict(): Record<string, Tensor>;
}

class PredictionWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (p: Tensor) => void; reject: (err: Error) => void; rows: number }>();
  private nextId = 1;
  /** The weights the worker holds (name → bytes), to send only what changed. */
  private sent: Map<string, Buffer> | null = null;
  private dead: Error | null = null;

  constructor(model: Predictor) {
    this.worker = new Worker(workerScript('SequenceClassifier.predictProbaAsync', __dirname, 'models', 'classifier-worker'), { workerData: { options: model.options } });
    this.worker.unref();
    this.worker.on('message', (reply: PredictReply) => this.settle(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`SequenceClassifier.predictProbaAsync: the prediction worker exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.dead === null;
  }

  predict(model: Predictor, sequences: Int32Array[]): Promise<Tensor> {
    if (this.dead) return Promise.reject(this.dead);
    const req: PredictRequest = { id: this.nextId++, sequences };
    const weights = this.changedWeights(model);
    if (weights) req.weights = weights;
    return new Promise<Tensor>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject, rows: sequences.length });
      if (this.pending.size === 1) this.worker.ref(); // keep the process alive until the answer
      this.worker.postMessage(req, weights ? Object.values(weights).map((w) => w.buffer as ArrayBuffer) : []);
    });
  }

  /** Copies of the weights when any differs from what the worker holds, else null. */
  private changedWeights(model: Predictor): Record<string, Float32Array> | null {
    const sd = model.stateDict();
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const same = this.sent !== null && Object.entries(sd).every(([name, t]) => this.sent!.get(name)?.equals(bytes(t.data)) === true);
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

  private settle(reply: PredictReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('probabilities' in reply) p.resolve(new Tensor(reply.probabilities, [p.rows, reply.probabilities.length / p.rows]));
    else p.reject(reviveWorkerError(reply.error));
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  terminate(): void {
    this.fail(new Error('SequenceClassifier.predictProbaAsync: the prediction worker was stopped'));
    void this.worker.terminate();
  }
}

const workers = new WeakMap<Predictor, PredictionWorker>();
// A model dropped by its owner takes its worker with it.
const reaper = new FinalizationRegistry<PredictionWorker>((w) => w.terminate());

/** Class probabilities (N, C) computed on the model's worker thread (started on first use, restarted if it died). */
export function predictOnWorker(model: Predictor, sequences: Int32Array[]): Promise<Tensor> {
  let w = workers.get(model);
  if (!w || !w.alive) {
    w = new PredictionWorker(model);
    workers.set(model, w);
    reaper.register(model, w);
  }
  return w.predict(model, sequences);
}
