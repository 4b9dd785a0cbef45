// Numerical faults during training: a NaN or ±Infinity in the loss or a gradient is reported
// with its step, and the trainer stops (default) or skips the step (nonFinite: 'skip');
// detectAnomaly names the first module whose output or gradient was non-finite.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchInfo, fit, fitSync, LanguageModel, LanguageModelOptions, manualSeed, TrainingConfig, Vocabulary } from '../lib';

const TEXT = 'the early bird catches the worm. '.repeat(30);
const vocab = Vocabulary.fromText(TEXT);
const IDS = vocab.encode(TEXT);
const cfg = (extra: TrainingConfig = {}): TrainingConfig => ({ batchSize: 4, seqLength: 8, seed: 2, validationFraction: 0, maxBatches: 6, ...extra });

function model(extra: Partial<LanguageModelOptions> = {}): LanguageModel {
  manualSeed(1);
  return new LanguageModel({ vocabSize: vocab.size, hiddenSize: 8, ...extra });
}
const param = (lm: LanguageModel, name: string) => lm.namedParameters().find(([n]) => n === name)![1];
const weights = (lm: LanguageModel) => Object.fromEntries(Object.entries(lm.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));

/** Makes the gradient of `name` non-finite after the `k`-th backward pass (1-based). */
function poisonGradient(lm: LanguageModel, k: number, name = 'rnn.weight_hh_l0', value = Infinity): void {
  const backward = lm.backward.bind(lm);
  let calls = 0;
  lm.backward = (g) => {
    const out = backward(g);
    if (++calls === k) param(lm, name).grad[3] = value;
    return out;
  };
}
/** Makes the logits of the `k`-th forward pass in training mode hold a NaN (the weights stay finite). */
function poisonLoss(lm: LanguageModel, k: number): void {
  const forward = lm.forward.bind(lm);
  let calls = 0;
  lm.forward = (...args: Parameters<LanguageModel['forward']>) => {
    const out = forward(...args);
    if (lm.training && ++calls === k) out.logits.data[7] = NaN;
    return out;
  };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe("nonFinite: 'stop' (the default)", () => {
  it('a NaN loss stops with an Error naming the step; the model holds the weights of the step before', () => {
    const lm = model();
    poisonLoss(lm, 4);
    const steps: number[] = [];
    const err = thrown(() => fitSync(lm, IDS, cfg(), { onBatch: (b) => steps.push(b.step) }));
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(RangeError);
    expect(err.message).toMatch(/^fit: non-finite loss \(NaN\) at step 4 \(epoch 0, batch 4 of 31\); training stopped before that step's optimizer update \(nonFinite: 'stop'\), so the model holds the weights of the step before\. Pass nonFinite: 'skip' to skip such steps; pass detectAnomaly: true to name the module that produced it$/);
    expect(steps).toEqual([1, 2, 3]);
    const three = model();
    fitSync(three, IDS, cfg({ maxBatches: 3 }));
    expect(weights(lm)).toEqual(weights(three));
  });

  it("a non-finite gradient names the parameter and says the loss was finite", () => {
    const lm = model();
    poisonGradient(lm, 2, 'rnn.weight_hh_l0', -Infinity);
    expect(thrown(() => fitSync(lm, IDS, cfg())).message).toMatch(
      /^fit: non-finite gradient of rnn\.weight_hh_l0 \(the loss, [0-9.]+, is finite\) at step 2 \(epoch 0, batch 2 of 31\); training stopped/,
    );
    const lm2 = model({ numLayers: 2 });
    poisonGradient(lm2, 1, 'head.bias', NaN);
    expect(thrown(() => fitSync(lm2, IDS, cfg())).message).toMatch(/non-finite gradient of head\.bias .* at step 1 /);
  });

  it('is caught before clipping, which would spread it to every gradient', () => {
    const lm = model();
    poisonGradient(lm, 1, 'rnn.bias_hh_l0', NaN);
    expect(thrown(() => fitSync(lm, IDS, cfg({ clipGradNorm: 1 }))).message).toMatch(/non-finite gradient of rnn\.bias_hh_l0 /);
  });

  it('fit() rejects with the same Error and leaves the model as fitSync does', async () => {
    // overflowing weights: finite, but the rnn's output overflows (relu) from the first step
    const relu = model({ cell: 'rnn_relu' });
    param(relu, 'rnn.bias_ih_l0').data.fill(3e38);
    param(relu, 'rnn.bias_hh_l0').data.fill(3e38);
    const before = weights(relu);
    await expect(fit(relu, IDS, { ...cfg(), progress: false })).rejects.toThrow(/^fit: non-finite loss \(NaN\) at step 1 \(epoch 0, batch 1 of 31\); training stopped/);
    expect(weights(relu)).toEqual(before);
    // a fault later in the run: the weights trained until then come back from the worker
    const huge = cfg({ maxBatches: 100, optimizer: { type: 'SGD', lr: 1e38 } });
    const ref = model();
    const step = Number(/update of step (\d+)/.exec(thrown(() => fitSync(ref, IDS, huge)).message)![1]);
    expect(step).toBeGreaterThan(1);
    const lm = model();
    await expect(fit(lm, IDS, { ...huge, progress: false })).rejects.toThrow(`update of step ${step} `);
    expect(weights(lm)).toEqual(weights(ref));
  });

  it('weights that are non-finite stop the run even with skip', () => {
    const lm = model();
    param(lm, 'head.bias').data[2] = NaN;
    expect(thrown(() => fitSync(lm, IDS, cfg({ nonFinite: 'skip' }))).message).toMatch(
      /^fit: non-finite loss \(NaN\) at step 1 \(epoch 0, batch 1 of 31\): the weights of head\.bias are themselves non-finite, which skipping steps cannot repair; training stopped/,
    );
  });

  it('an optimizer update that overflows the weights (finite loss and gradients) stops the run, with skip too', () => {
    for (const nonFinite of ['stop', 'skip'] as const) {
      const lm = model();
      const seen: BatchInfo[] = [];
      const err = thrown(() => fitSync(lm, IDS, cfg({ maxBatches: 100, nonFinite, optimizer: { type: 'SGD', lr: 1e38 } }), { onBatch: (b) => seen.push(b) }));
      expect(err.message).toMatch(
        /^fit: the optimizer update of step (\d+) \(epoch 0, batch \1 of 31\) made the weights of \S+ non-finite \(learning rate 1e\+38\), though the loss and the gradients were finite; training stopped, and the model holds those weights$/,
      );
      expect(seen.length).toBe(Number(/step (\d+)/.exec(err.message)![1]) - 1);
    }
  });
});

describe("nonFinite: 'skip'", () => {
  it('skips the step (no optimizer update), reports it, counts it, and goes on', () => {
    const lm = model();
    poisonGradient(lm, 3);
    const seen: BatchInfo[] = [];
    const after: Array<Record<string, number[]>> = [];
    const r = fitSync(lm, IDS, cfg({ nonFinite: 'skip' }), { onBatch: (b) => (seen.push(b), after.push(weights(lm))) });
    expect(r.skippedSteps).toBe(1);
    expect(r.steps).toBe(6);
    expect(seen.map((b) => b.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen[2]).toMatchObject({ step: 3, skipped: true, nonFinite: 'gradient of rnn.weight_hh_l0' });
    expect(seen.filter((b) => b.skipped)).toHaveLength(1);
    expect('anomaly' in seen[2]).toBe(false);
    for (const p of lm.parameters()) expect(p.data.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(r.epochs[0].trainLoss)).toBe(true); // the skipped batch is not in the epoch's loss
    // no optimizer update at step 3; updates before and after it
    expect(after[2]).toEqual(after[1]);
    expect(after[1]).not.toEqual(after[0]);
    expect(after[3]).not.toEqual(after[2]);
  });

  it('a NaN loss is skipped too, with no backward pass', () => {
    const lm = model();
    poisonLoss(lm, 2);
    const seen: BatchInfo[] = [];
    let backwards = 0;
    const backward = lm.backward.bind(lm);
    lm.backward = (g) => (backwards++, backward(g));
    const r = fitSync(lm, IDS, cfg({ nonFinite: 'skip' }), { onBatch: (b) => seen.push(b) });
    expect(backwards).toBe(5);
    expect(r.skippedSteps).toBe(1);
    expect(seen[1]).toMatchObject({ step: 2, skipped: true, nonFinite: 'loss' });
    expect(Number.isNaN(seen[1].loss)).toBe(true);
    expect(seen[2].skipped).toBeUndefined();
  });

  it('fit() skips as fitSync does and reports through onBatch', async () => {
    const seen: BatchInfo[] = [];
    // an overflowing output layer: every step is non-finite, the weights stay finite
    const relu = model({ cell: 'rnn_relu' });
    param(relu, 'head.weight').data.fill(3e38);
    param(relu, 'head.bias').data.fill(3e38);
    const r = await fit(relu, IDS, { ...cfg({ nonFinite: 'skip', maxBatches: 3, detectAnomaly: true }), progress: false, onBatch: (b) => seen.push(b) });
    expect(r.skippedSteps).toBe(3);
    expect(seen.map((b) => [b.skipped, b.nonFinite])).toEqual([[true, 'loss'], [true, 'loss'], [true, 'loss']]);
    expect(seen[0].anomaly).toBe("the first non-finite output is head's (forward; embedding's and rnn's outputs are finite)");
  });

  it('the skipped count survives a checkpoint and a resume', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-68-'));
    try {
      const lm = model();
      poisonGradient(lm, 2);
      fitSync(lm, IDS, cfg({ nonFinite: 'skip', maxBatches: 4, checkpointDir: dir }));
      const r = fitSync(model(), IDS, cfg({ nonFinite: 'skip', maxBatches: 6, resumeFrom: dir }));
      expect(r.skippedSteps).toBe(1);
      expect(r.steps).toBe(6);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('detectAnomaly: the first module with a non-finite output or gradient', () => {
  const diagnosis = (lm: LanguageModel, extra: TrainingConfig = {}) => {
    const m = /detectAnomaly: (.*)$/.exec(thrown(() => fitSync(lm, IDS, cfg({ detectAnomaly: true, ...extra }))).message);
    return m && m[1];
  };

  it('embedding: a NaN in the row of a token the batch reads', () => {
    const lm = model();
    param(lm, 'embedding.weight').data[IDS[0] * 8 + 2] = NaN;
    expect(diagnosis(lm)).toBe("the first non-finite output is embedding's (forward)");
  });

  it('rnn: finite weights whose activations overflow (relu)', () => {
    const lm = model({ cell: 'rnn_relu' });
    param(lm, 'rnn.bias_ih_l0').data.fill(3e38);
    param(lm, 'rnn.bias_hh_l0').data.fill(3e38);
    expect(diagnosis(lm)).toBe("the first non-finite output is rnn's (forward; embedding's output is finite)");
  });

  it('head: finite weights whose logits overflow', () => {
    const lm = model({ cell: 'rnn_relu' });
    param(lm, 'head.weight').data.fill(3e38);
    param(lm, 'head.bias').data.fill(3e38);
    expect(diagnosis(lm)).toBe("the first non-finite output is head's (forward; embedding's and rnn's outputs are finite)");
  });

  it("backward: a finite forward pass whose head backward is not", () => {
    for (const dropout of [0, 0.3]) {
      const lm = model({ numLayers: 2, dropout });
      // the trainer's backward (the tape) gets a non-finite gradient; the module-by-module
      // re-run (explicit backward calls) finds it in head's
      poisonGradient(lm, 1, 'rnn.weight_ih_l0');
      const backward = lm.head.backward.bind(lm.head);
      lm.head.backward = (g) => {
        const d = backward(g);
        d.data[0] = NaN;
        return d;
      };
      expect(diagnosis(lm)).toBe("the forward pass is finite; the first non-finite gradient is head's (backward: gradient of its input)");
    }
  });

  it('a fault that a re-run does not reproduce is said to be so; the run stays bit-identical with skip', () => {
    const plain = model({ numLayers: 2, dropout: 0.3 });
    poisonGradient(plain, 3);
    const a: number[] = [];
    fitSync(plain, IDS, cfg({ nonFinite: 'skip' }), { onBatch: (b) => a.push(b.loss) });
    const diagnosed = model({ numLayers: 2, dropout: 0.3 });
    poisonGradient(diagnosed, 3);
    const b: BatchInfo[] = [];
    fitSync(diagnosed, IDS, cfg({ nonFinite: 'skip', detectAnomaly: true }), { onBatch: (x) => b.push(x) });
    expect(b[2].anomaly).toBe('the module-by-module re-run of the batch was finite throughout (the fault did not reproduce)');
    expect(b.map((x) => x.loss)).toEqual(a); // the diagnosis consumed no randomness (dropout masks)
    expect(weights(diagnosed)).toEqual(weights(plain));
  });
});

describe('options', () => {
  it('nonFinite and detectAnomaly are validated; unknown options get a suggestion (checkKnownOptions)', () => {
    const lm = model();
    expect(() => fitSync(lm, IDS, cfg({ nonFinite: 'ignore' as 'skip' }))).toThrow(RangeError);
    expect(() => fitSync(lm, IDS, cfg({ nonFinite: 'ignore' as 'skip' }))).toThrow('fit: expected one of "stop", "skip" for nonFinite but received "ignore" of type string');
    expect(() => fitSync(lm, IDS, cfg({ detectAnomaly: 1 as unknown as boolean }))).toThrow(TypeError);
    expect(() => fitSync(lm, IDS, cfg({ detectAnomaly: 1 as unknown as boolean }))).toThrow('fit: expected a boolean for detectAnomaly but received 1 of type number');
    expect(() => fitSync(lm, IDS, { ...cfg(), nonfinite: 'skip' } as TrainingConfig)).toThrow(RangeError);
    expect(() => fitSync(lm, IDS, { ...cfg(), nonfinite: 'skip' } as TrainingConfig)).toThrow('fit: unknown option "nonfinite" (did you mean "nonFinite"?); known options: epochs,');
    expect(() => fitSync(lm, IDS, cfg({ earlyStopping: { patince: 2 } as unknown as { patience: number } }))).toThrow(
      'fit: earlyStopping: unknown option "patince" (did you mean "patience"?); known options: patience, minDelta',
    );
    expect(() => fit(lm, IDS, { ...cfg(), onbatch: () => 0 } as never)).toThrow('fit: unknown option "onbatch" (did you mean "onBatch"?)');
  });
});
