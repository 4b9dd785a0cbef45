// fit(): the async training loop on a worker thread (dist/train/fit-worker.js, built by
// `npx tsc -p tsconfig.build.json`), its callbacks, stopping rules, optimizer and scheduler
// specs, validation, and its equality with fitSync().
import { BatchInfo, EpochInfo, evaluate, fit, fitSync, LanguageModel, LanguageModelOptions, manualSeed, Vocabulary } from '../lib';

// Jest runs this file in a vm context whose Float32Array is not the one that worker_threads
// messages are deserialized into, so lib/trainer.ts's `new Tensor(msg.weights[k].data, …)`
// fails its `instanceof Float32Array` check here (it works in plain Node). Until fit() copies
// the arrays into this realm, make the check realm-independent for this file only.
Object.defineProperty(Float32Array, Symbol.hasInstance, {
  value: (v: unknown) => Object.prototype.toString.call(v) === '[object Float32Array]',
});

const TEXT = 'the cat sat on the mat. '.repeat(60);
const vocab = Vocabulary.fromText(TEXT);
const IDS = vocab.encode(TEXT);
const V = vocab.size;

function model(extra: Partial<LanguageModelOptions> = {}, seed = 1): LanguageModel {
  manualSeed(seed);
  return new LanguageModel({ vocabSize: V, hiddenSize: 16, ...extra });
}

function snapshot(lm: LanguageModel): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(lm.stateDict())) out[k] = Array.from(t.data);
  return out;
}

/** Rows of the batchified stream and batches per epoch, as the loop computes them. */
function batchesPerEpoch(tokens: number, B: number, T: number): number {
  return Math.ceil((Math.floor(tokens / B) - 1) / T);
}

/** Settles as a rejection whether the call throws synchronously or rejects. */
function settle<T>(f: () => Promise<T>): Promise<T> {
  return Promise.resolve().then(f);
}

describe('fit()', () => {
  it('trains: the loss of a learnable text falls, and the model holds the trained weights', async () => {
    const lm = model();
    const before = snapshot(lm);
    const val = vocab.encode('the mat sat on the cat. '.repeat(4));
    const initialVal = evaluate(lm, val, 4, 16);
    const losses: number[] = [];
    const result = await fit(lm, IDS, {
      epochs: 3, batchSize: 4, seqLength: 16, optimizer: { type: 'Adam', lr: 1e-2 }, validationData: val, progress: false, seed: 3,
      onBatch: (b) => losses.push(b.loss),
    });
    expect(result.reason).toBe('completed');
    expect(result.epochs).toHaveLength(3);
    const head = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(head).toBeGreaterThan(0.8 * Math.log(V)); // starts near chance
    expect(tail).toBeLessThan(0.5 * head);
    const lastVal = result.epochs[2].valLoss;
    expect(lastVal).toBeLessThan(0.5 * initialVal);
    expect(result.epochs[2].valLoss).toBeLessThan(result.epochs[0].valLoss);
    // the promise settled with the worker's weights copied into this model
    expect(snapshot(lm)).not.toEqual(before);
    expect(evaluate(lm, val, 4, 16)).toBe(lastVal);
  });

  it('reports sane values to onBatch, onEpoch and onValidation', async () => {
    const lm = model();
    const batches: BatchInfo[] = [];
    const epochs: EpochInfo[] = [];
    const validations: Array<{ step: number; epoch: number; valLoss: number; perplexity: number; bitsPerToken: number }> = [];
    const B = 4, T = 16;
    const result = await fit(lm, IDS, {
      epochs: 2, batchSize: B, seqLength: T, optimizer: { type: 'SGD', lr: 0.05 }, clipGradNorm: 5, validationFraction: 0.1,
      validateEvery: 7, progress: false,
      onBatch: (b) => batches.push(b), onEpoch: (e) => epochs.push(e), onValidation: (v) => validations.push(v),
    });
    const trainTokens = Math.floor(IDS.length * 0.9);
    const perEpoch = batchesPerEpoch(trainTokens, B, T);
    expect(batches).toHaveLength(2 * perEpoch);
    batches.forEach((b, i) => {
      expect(b.step).toBe(i + 1);
      expect(b.epoch).toBe(i < perEpoch ? 0 : 1);
      expect(b.batch).toBe((i % perEpoch) + 1);
      expect(b.batchesPerEpoch).toBe(perEpoch);
      expect(b.lr).toBe(0.05);
      expect(b.loss).toBeGreaterThan(0);
      expect(Number.isFinite(b.loss)).toBe(true);
      expect(b.tokensPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(b.tokensPerSecond)).toBe(true);
      expect(b.gradNorm).toBeGreaterThan(0);
    });
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1]);
    for (const e of epochs) {
      expect(e.perplexity).toBeCloseTo(Math.exp(e.valLoss), 10);
      expect(e.bitsPerToken).toBeCloseTo(e.valLoss / Math.LN2, 10);
      expect(e.lr).toBe(0.05);
      expect(e.seconds).toBeGreaterThanOrEqual(0);
      expect(e.trainLoss).toBeGreaterThan(0);
      expect(e.partial).toBeUndefined();
    }
    // trainLoss is the token-weighted mean of the epoch's batch losses (all batches but the last are full)
    const ep0 = batches.filter((b) => b.epoch === 0).map((b) => b.loss);
    expect(epochs[0].trainLoss).toBeGreaterThan(Math.min(...ep0));
    expect(epochs[0].trainLoss).toBeLessThan(Math.max(...ep0));
    expect(validations.map((v) => v.step)).toEqual(batches.filter((b) => b.step % 7 === 0).map((b) => b.step));
    for (const v of validations) {
      expect(v.perplexity).toBeCloseTo(Math.exp(v.valLoss), 10);
      expect(Number.isFinite(v.valLoss)).toBe(true);
      expect(v.epoch).toBe(v.step <= perEpoch ? 0 : 1);
    }
    expect(result.epochs).toEqual(epochs);
    expect(result.steps).toBe(batches.length);
    expect(result).toMatchObject({ stoppedEarly: false, aborted: false, reason: 'completed' });
    expect(result.bestValLoss).toBe(Math.min(...epochs.map((e) => e.valLoss)));
  });

  it('keeps the event loop free while it trains (a 5 ms timer keeps firing), and stops at maxSeconds', async () => {
    const lm = model({ hiddenSize: 32 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = Date.now();
    let result;
    try {
      result = await fit(lm, IDS, { epochs: 100000, batchSize: 8, seqLength: 32, maxSeconds: 1.2, progress: false });
    } finally {
      clearInterval(timer);
    }
    const elapsed = Date.now() - started;
    expect(result.reason).toBe('max-seconds');
    expect(elapsed).toBeGreaterThanOrEqual(1150);
    expect(elapsed).toBeLessThan(15000);
    expect(ticks).toBeGreaterThan(0.5 * (elapsed / 5));
    expect(result.epochs[result.epochs.length - 1].partial).toBe(true);
    expect(result.steps).toBeGreaterThan(0);
    for (const t of Object.values(lm.stateDict())) expect(t.data.every(Number.isFinite)).toBe(true);
  });

  it('stops on an AbortSignal after the current batch; the model keeps what the worker trained', async () => {
    const lm = model();
    const before = snapshot(lm);
    const controller = new AbortController();
    let seen = 0;
    const config = { epochs: 100000, batchSize: 4, seqLength: 8, seed: 21, optimizer: { type: 'Adam' as const, lr: 5e-3 } };
    const result = await fit(lm, IDS, {
      ...config, progress: false, signal: controller.signal,
      onBatch: () => {
        if (++seen === 3) controller.abort();
      },
    });
    expect(result.reason).toBe('aborted');
    expect(result.aborted).toBe(true);
    expect(result.stoppedEarly).toBe(false);
    expect(result.steps).toBeGreaterThanOrEqual(3);
    expect(seen).toBe(result.steps); // every batch the worker ran was reported
    const after = snapshot(lm);
    expect(after).not.toEqual(before);
    for (const v of Object.values(after)) expect(v.every(Number.isFinite)).toBe(true);
    // exactly the weights of the same run stopped after that many batches
    const ref = model();
    fitSync(ref, IDS, { ...config, maxBatches: result.steps });
    expect(after).toEqual(snapshot(ref));
  });

  it('rejects at once when the signal is already aborted, leaving the model alone', async () => {
    const lm = model();
    const before = snapshot(lm);
    const controller = new AbortController();
    controller.abort();
    let batches = 0;
    await expect(fit(lm, IDS, { batchSize: 4, seqLength: 8, signal: controller.signal, onBatch: () => batches++, progress: false }))
      .rejects.toMatchObject({ name: 'AbortError' });
    const custom = new AbortController();
    custom.abort(new Error('stop it'));
    await expect(fit(lm, IDS, { batchSize: 4, seqLength: 8, signal: custom.signal, progress: false })).rejects.toThrow('stop it');
    expect(batches).toBe(0);
    expect(snapshot(lm)).toEqual(before);
  });

  it('stops after maxBatches batches', async () => {
    const lm = model();
    let batches = 0;
    const epochs: EpochInfo[] = [];
    const result = await fit(lm, IDS, {
      epochs: 50, batchSize: 4, seqLength: 8, maxBatches: 13, progress: false, onBatch: () => batches++, onEpoch: (e) => epochs.push(e),
    });
    expect(result.reason).toBe('max-batches');
    expect(result.steps).toBe(13);
    expect(batches).toBe(13);
    const perEpoch = batchesPerEpoch(Math.floor(IDS.length * 0.95), 4, 8);
    expect(perEpoch).toBeGreaterThan(13); // stopped inside the first epoch
    expect(epochs).toHaveLength(1);
    expect(epochs[0]).toMatchObject({ epoch: 0, partial: true });
    expect(Number.isFinite(epochs[0].valLoss)).toBe(true);
  });

  it('early stopping with patience 0 stops after epoch 2 when the validation loss cannot improve', async () => {
    const lm = model();
    const before = snapshot(lm);
    const result = await fit(lm, IDS, {
      epochs: 10, batchSize: 4, seqLength: 32, optimizer: { type: 'SGD', lr: 0 }, earlyStopping: { patience: 0 }, progress: false,
    });
    expect(result.reason).toBe('early-stopping');
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(result.epochs[1].valLoss).toBe(result.epochs[0].valLoss);
    expect(result.bestValLoss).toBe(result.epochs[0].valLoss);
    expect(snapshot(lm)).toEqual(before);
    // patience 1: one more epoch
    const again = await fit(model(), IDS, {
      epochs: 10, batchSize: 4, seqLength: 32, optimizer: { type: 'SGD', lr: 0 }, earlyStopping: { patience: 1 }, progress: false,
    });
    expect(again.epochs).toHaveLength(3);
  });

  it('builds parameter groups by name or name prefix', async () => {
    const lm = model();
    const before = snapshot(lm);
    await fit(lm, IDS, {
      batchSize: 4, seqLength: 16, maxBatches: 5, progress: false,
      optimizer: { type: 'AdamW', lr: 1e-2, groups: [{ params: ['rnn', 'head.bias'], lr: 0, weightDecay: 0 }] },
    });
    const after = snapshot(lm);
    for (const name of Object.keys(before)) {
      const frozen = name.startsWith('rnn.') || name === 'head.bias';
      expect([name, after[name].every((v, i) => v === before[name][i])]).toEqual([name, frozen]);
    }
    // the brief's form: one group with its own weight decay, the rest with the defaults
    const other = model();
    const r = await fit(other, IDS, {
      batchSize: 4, seqLength: 16, maxBatches: 3, progress: false,
      optimizer: { type: 'AdamW', groups: [{ params: ['embedding'], weightDecay: 0 }] },
    });
    expect(r.steps).toBe(3);
  });

  it('rejects a group pattern that matches no parameter with a RangeError', async () => {
    const run = (params: string[]) => settle(() => fit(model(), IDS, {
      batchSize: 4, seqLength: 16, maxBatches: 2, progress: false, optimizer: { type: 'Adam', groups: [{ params }] },
    }));
    await expect(run(['decoder'])).rejects.toThrow(RangeError);
    await expect(run(['decoder'])).rejects.toThrow('fit: optimizer.groups[0].params matches no parameter (names: embedding.weight, rnn.weight_ih_l0');
    // a prefix must end at a dot: 'rnn.weight' is not a prefix of 'rnn.weight_ih_l0'
    await expect(run(['rnn.weight'])).rejects.toThrow('matches no parameter');
  });

  it('steps a scheduler per batch or per epoch: StepLR(stepSize 1, gamma 0.5) halves the lr', async () => {
    const perBatch: number[] = [];
    await fit(model(), IDS, {
      batchSize: 4, seqLength: 16, maxBatches: 6, progress: false, optimizer: { type: 'SGD', lr: 0.1 },
      scheduler: { type: 'StepLR', stepSize: 1, gamma: 0.5, interval: 'batch' }, onBatch: (b) => perBatch.push(b.lr),
    });
    expect(perBatch).toEqual([0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125]);
    const lrs: Array<[number, number]> = [];
    const epochLr: number[] = [];
    await fit(model(), IDS, {
      epochs: 3, batchSize: 8, seqLength: 64, progress: false, optimizer: { type: 'SGD', lr: 0.1 },
      scheduler: { type: 'StepLR', stepSize: 1, gamma: 0.5, interval: 'epoch' },
      onBatch: (b) => lrs.push([b.epoch, b.lr]), onEpoch: (e) => epochLr.push(e.lr),
    });
    for (const [epoch, lr] of lrs) expect(lr).toBe(0.1 * 0.5 ** epoch);
    expect(new Set(lrs.map(([e]) => e))).toEqual(new Set([0, 1, 2]));
    expect(epochLr).toEqual([0.1, 0.05, 0.025]); // reported before the epoch's scheduler step
  });

  it("steps a scheduler by the time budget (interval 'budget'): p % of maxSeconds elapsed, p steps", () => {
    // fitSync runs on this thread, so the loop's clock can be driven: every batch takes 7 s of a 100 s budget.
    let now = 1_000_000;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const seen: Array<[number, number]> = [];
      const result = fitSync(model(), IDS, {
        epochs: 1000, batchSize: 4, seqLength: 16, maxSeconds: 100, optimizer: { type: 'SGD', lr: 0.1 },
        scheduler: { type: 'LinearLR', startFactor: 1, endFactor: 0.01, totalIters: 100, interval: 'budget' },
      }, {
        onBatch: (b) => {
          seen.push([b.step, b.lr]);
          now += 7000;
        },
      });
      // the clock reads 7(k − 1) s when batch k (1-based) ends and steps the scheduler to that
      // percent, so batch k trains at LinearLR's lr after 7(k − 2) steps; 15 batches fit in 100 s
      expect(result.steps).toBe(15);
      expect(result.reason).toBe('max-seconds');
      seen.forEach(([step, lr]) => expect(lr).toBeCloseTo(0.1 * (1 - (0.99 * 7 * Math.max(0, step - 2)) / 100), 10));
    } finally {
      spy.mockRestore();
    }
    expect(() => fitSync(model(), IDS, { scheduler: { type: 'CosineAnnealingLR', tMax: 100, interval: 'budget' } })).toThrow(
      new RangeError("fit: scheduler.interval 'budget' steps the scheduler by the share of maxSeconds elapsed; pass maxSeconds too, received none"),
    );
    expect(() => fitSync(model(), IDS, { maxSeconds: 1, scheduler: { type: 'ReduceLROnPlateau', interval: 'budget' } })).toThrow(RangeError);
  });

  it('validates its arguments with TypeError / RangeError naming the option', async () => {
    const lm = model();
    const before = snapshot(lm);
    const cases: Array<[() => Promise<unknown>, ErrorConstructor, string]> = [
      [() => fit({} as LanguageModel, IDS), TypeError, 'fit: expected a model the trainer knows (language-model, seq2seq, sequence-classifier) for model'],
      [() => fit(lm, [1, 2, 3] as unknown as Int32Array), TypeError, 'fit: expected an Int32Array for train but received [1, 2, 3]'],
      [() => fit(lm, IDS, 'fast' as unknown as object), TypeError, 'fit: expected an options object for options'],
      [() => fit(lm, IDS, { epochs: '2' as unknown as number }), TypeError, 'fit: expected an integer in [1, 2147483647] for epochs but received "2"'],
      [() => fit(lm, IDS, { epochs: 0 }), RangeError, 'for epochs but received 0'],
      [() => fit(lm, IDS, { batchSize: 2.5 }), RangeError, 'for batchSize but received 2.5'],
      [() => fit(lm, IDS, { seqLength: -1 }), RangeError, 'for seqLength but received -1'],
      [() => fit(lm, IDS, { validationFraction: 1 }), RangeError, 'for validationFraction but received 1'],
      [() => fit(lm, IDS, { clipGradNorm: 0 }), RangeError, 'for clipGradNorm but received 0'],
      [() => fit(lm, IDS, { maxSeconds: -1 }), RangeError, 'for maxSeconds but received -1'],
      [() => fit(lm, IDS, { maxBatches: 0 }), RangeError, 'for maxBatches but received 0'],
      [() => fit(lm, IDS, { seed: -1 }), RangeError, 'for seed but received -1'],
      [() => fit(lm, IDS, { checkpointDir: 5 as unknown as string }), TypeError, 'expected a directory path for checkpointDir'],
      [() => fit(lm, IDS, { earlyStopping: { patience: -1 } }), RangeError, 'for earlyStopping.patience but received -1'],
      [() => fit(lm, IDS, { epoch: 2 } as object), RangeError, 'fit: unknown option "epoch"'],
      [() => fit(lm, IDS, { optimizer: { type: 'Nadam' as 'Adam' } }), RangeError, 'for optimizer.type but received "Nadam"'],
      [() => fit(lm, IDS, { scheduler: { type: 'WarmupLR' } }), RangeError, 'fit: scheduler.type must be one of'],
      [() => fit(lm, IDS, { scheduler: { type: 'StepLR', stepSize: 1, interval: 'step' as 'batch' } }), RangeError, 'for scheduler.interval but received "step"'],
      [() => fit(lm, IDS, { onBatch: 'log' as unknown as () => void }), TypeError, 'fit: expected a function for onBatch'],
      [() => fit(lm, IDS, { signal: {} as AbortSignal }), TypeError, 'fit: expected an AbortSignal for signal'],
      [() => fit(lm, IDS, { validationData: [1] as unknown as Int32Array }), TypeError, 'expected an Int32Array for validationData'],
      // found by the training loop on the worker thread: rejected with the right class and message
      [() => fit(lm, Int32Array.from([...IDS.subarray(0, 100), V, ...IDS.subarray(100)]), { batchSize: 4, progress: false }), RangeError,
        `fit: train[100] is ${V}, outside the vocabulary [0, ${V})`],
      [() => fit(lm, Int32Array.from([-1, ...IDS]), { batchSize: 4, progress: false }), RangeError, 'fit: train[0] is -1, outside the vocabulary'],
      [() => fit(lm, IDS, { batchSize: 4, validationData: Int32Array.of(1, 2, 99), progress: false }), RangeError, 'fit: validationData[2] is 99, outside the vocabulary'],
      [() => fit(lm, IDS.subarray(0, 40), { batchSize: 32, progress: false }), RangeError, 'fit: train holds 38 tokens, too few for batchSize 32 (need at least 64)'],
      [() => fit(lm, IDS, { batchSize: 4, maxBatches: 1, optimizer: { type: 'Adam', lr: -1 }, progress: false }), RangeError, 'for options.lr but received -1'],
    ];
    for (const [f, Ctor, msg] of cases) {
      const err = await settle(f).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Ctor);
      expect((err as Error).message).toContain(msg);
    }
    expect(snapshot(lm)).toEqual(before);
  });

  it('gives bit for bit the weights and losses of fitSync with the same seed and config', async () => {
    const opts: Partial<LanguageModelOptions> = { numLayers: 2, dropout: 0.3, cell: 'gru' };
    const config = {
      epochs: 2, batchSize: 4, seqLength: 12, seed: 1234, clipGradNorm: 1,
      optimizer: { type: 'Adam' as const, lr: 5e-3 }, scheduler: { type: 'CosineAnnealingLR', tMax: 40 },
    };
    const a = model(opts, 9);
    const la: number[] = [];
    const ra = await fit(a, IDS, { ...config, progress: false, onBatch: (b) => la.push(b.loss) });
    const b = model(opts, 9);
    const lb: number[] = [];
    const rb = fitSync(b, IDS, config, { onBatch: (x) => lb.push(x.loss) });
    expect(la).toEqual(lb);
    expect(snapshot(a)).toEqual(snapshot(b));
    expect(ra.epochs.map((e) => e.valLoss)).toEqual(rb.epochs.map((e) => e.valLoss));
    // and the seed matters (dropout draws from it)
    const c = model(opts, 9);
    fitSync(c, IDS, { ...config, seed: 4321, maxBatches: 3 });
    const d = model(opts, 9);
    fitSync(d, IDS, { ...config, maxBatches: 3 });
    expect(snapshot(c)).not.toEqual(snapshot(d));
  });
});

describe('fitSync()', () => {
  it('throws synchronously on bad arguments', () => {
    const lm = model();
    expect(() => fitSync(lm, IDS, { batchSize: 0 })).toThrow(new RangeError('fit: expected an integer in [1, 2147483647] for batchSize but received 0 of type number'));
    expect(() => fitSync(lm, Int32Array.of(1, 2, 3), { batchSize: 2 })).toThrow('too few for batchSize 2');
    expect(() => fitSync(lm, Int32Array.of(1, 2, 300, 4, 5), { batchSize: 1 })).toThrow(RangeError);
    expect(() => fitSync(null as unknown as LanguageModel, IDS)).toThrow(TypeError);
  });
});
