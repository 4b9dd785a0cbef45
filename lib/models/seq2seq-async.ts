/**
 * The main-thread side of Seq2Seq.translateAsync: one worker thread per model, started on the
 * first call. Requests wait here while the worker is busy; when it is free, the oldest
 * request goes, together with every waiting request that can share its batch (greedy or beam
 * search with the same settings, decoded with the same weights): concurrent requests become
 * one batch instead of a queue of small ones. Weights travel with a batch only when they
 * changed since the worker last received them (compared byte for byte at each call, which
 * costs far less than a decode), so a model that keeps training is decoded with the weights it
 * had at the call. The worker does not keep the process alive while idle, and ends when the
 * model is garbage-collected. (Internal to the package.)
 */
import { Worker } from 'node:worker_threads';
import { reviveWorkerError, workerScript } from '../core/worker-script';
import type { Tensor } from '../core/tensor';
import type { Precision } from '../nn/precision';
import type { DecodeOptions } from './decode-options';
import type { TranslateJob, TranslateReply } from './seq2seq-messages';

/** Requests with equal keys may share a batch; maxLength is the request's own (explicit or default) limit. */
export interface MergeKey {
  key: string;
  maxLength: number;
}

/** The most sources one merged batch takes (a single larger request still goes whole). */
const MAX_MERGED_SOURCES = 64;

/** What the worker needs of a Seq2Seq: its options (to rebuild it), its weights and its inference precision. */
interface Decodable {
  readonly options: object;
  readonly precision: Precision;
  stateDict(): Record<string, Tensor>;
}

interface Part {
  sources: Int32Array[];
  opts: DecodeOptions | undefined;
  merge: MergeKey | null;
  /** The weights version and the precision the request was made with (both decide what can share a batch). */
  version: number;
  precision: Precision;
  resolve: (outputs: Int32Array[]) => void;
  reject: (err: Error) => void;
}

class TranslationWorker {
  private readonly worker: Worker;
  private readonly waiting: Part[] = [];
  private inFlight: { id: number; parts: Part[] } | null = null;
  private nextId = 1;
  /** The newest weights (name → bytes) and their version; the worker's version; copies not yet sent. */
  private latest: Map<string, Buffer> | null = null;
  private latestVersion = 0;
  private workerVersion = 0;
  private readonly unsent = new Map<number, Record<string, Float32Array>>();
  private dead: Error | null = null;
  /** Jobs sent and requests answered (merged jobs answer several). */
  readonly counts = { jobs: 0, requests: 0 };

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

  translate(model: Decodable, sources: Int32Array[], opts: DecodeOptions | undefined, merge: MergeKey | null): Promise<Int32Array[]> {
    if (this.dead) return Promise.reject(this.dead);
    const version = this.noteWeights(model);
    return new Promise<Int32Array[]>((resolve, reject) => {
      this.waiting.push({ sources, opts, merge, version, precision: model.precision, resolve, reject });
      this.worker.ref(); // keep the process alive until the answers
      this.pump();
    });
  }

  /** The version of the model's weights now: a new one (with copies to send) when they changed. */
  private noteWeights(model: Decodable): number {
    const sd = model.stateDict();
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const same = this.latest !== null && Object.entries(sd).every(([name, t]) => {
      const held = this.latest!.get(name);
      return held !== undefined && held.equals(bytes(t.data));
    });
    if (same) return this.latestVersion;
    const copies: Record<string, Float32Array> = {};
    const latest = new Map<string, Buffer>();
    for (const [name, t] of Object.entries(sd)) {
      copies[name] = t.data.slice();
      latest.set(name, Buffer.from(bytes(t.data))); // our own copy: the worker's is transferred away
    }
    this.latest = latest;
    this.unsent.set(++this.latestVersion, copies);
    return this.latestVersion;
  }

  /** Sends the next batch when the worker is free: the oldest request and those that can share its batch. */
  private pump(): void {
    if (this.inFlight || this.dead || this.waiting.length === 0) return;
    const head = this.waiting[0];
    const parts: Part[] = [];
    let count = 0;
    for (let i = 0; i < this.waiting.length; ) {
      const p = this.waiting[i];
      const fits = p === head || (head.merge !== null && p.merge?.key === head.merge.key && p.version === head.version &&
        p.precision === head.precision && count + p.sources.length <= MAX_MERGED_SOURCES);
      if (fits) {
        parts.push(p);
        count += p.sources.length;
        this.waiting.splice(i, 1);
      } else {
        i++;
      }
    }
    const job: TranslateJob = {
      id: this.nextId++,
      parts: parts.map((p) => ({ sources: p.sources, opts: p.opts, maxLength: p.merge ? p.merge.maxLength : null })),
      precision: head.precision,
    };
    // Versions only grow in call order, and the oldest request goes first: the worker never needs an older one again.
    if (head.version !== this.workerVersion) {
      job.weights = this.unsent.get(head.version);
      for (const v of [...this.unsent.keys()]) if (v <= head.version) this.unsent.delete(v);
      this.workerVersion = head.version;
    }
    this.inFlight = { id: job.id, parts };
    this.counts.jobs++;
    this.counts.requests += parts.length;
    // Sources are copied by the structured clone; fresh weight copies are moved, not copied again.
    this.worker.postMessage(job, job.weights ? Object.values(job.weights).map((w) => w.buffer as ArrayBuffer) : []);
  }

  private settle(reply: TranslateReply): void {
    const job = this.inFlight;
    if (!job || job.id !== reply.id) return;
    this.inFlight = null;
    if ('outputs' in reply) job.parts.forEach((p, i) => p.resolve(reply.outputs[i]));
    else {
      const err = reviveWorkerError(reply.error);
      for (const p of job.parts) p.reject(err);
    }
    this.pump();
    if (!this.inFlight) this.worker.unref(); // idle: let the process exit
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    const parts = [...(this.inFlight?.parts ?? []), ...this.waiting];
    this.inFlight = null;
    this.waiting.length = 0;
    for (const p of parts) p.reject(err);
  }

  terminate(): void {
    this.fail(new Error('Seq2Seq.translateAsync: the translation worker was stopped'));
    void this.worker.terminate();
  }
}

const workers = new WeakMap<Decodable, TranslationWorker>();
// A model dropped by its owner takes its worker with it.
const reaper = new FinalizationRegistry<TranslationWorker>((w) => w.terminate());

/** How many jobs the model's worker was sent for how many requests (for tests and monitoring). @internal */
export function translationCounts(model: Decodable): { jobs: number; requests: number } {
  const w = workers.get(model);
  return w ? { ...w.counts } : { jobs: 0, requests: 0 };
}

/** Decodes on the model's worker thread (started on first use, restarted if it died). */
export function translateOnWorker(model: Decodable, sources: Int32Array[], opts: DecodeOptions | undefined, merge: MergeKey | null): Promise<Int32Array[]> {
  let w = workers.get(model);
  if (!w || !w.alive) {
    w = new TranslationWorker(model);
    workers.set(model, w);
    reaper.register(model, w);
  }
  return w.translate(model, sources, opts, merge);
}
