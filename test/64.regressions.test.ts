// Regressions found in review: each failed before its fix.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fit, fitSync, LanguageModel, LSTM, manualSeed, Tensor, Vocabulary } from '../lib';

const ROOT = path.join(__dirname, '..');

describe('terminating a worker that uses the addon', () => {
  it('fit() rejects (and the process survives) when onBatch throws', () => {
    const script = `
      const { fit, LanguageModel, Vocabulary } = require(${JSON.stringify(ROOT)});
      const text = 'the cat sat on the mat. '.repeat(60);
      const vocab = Vocabulary.fromText(text), ids = vocab.encode(text);
      (async () => {
        for (let i = 0; i < 25; i++) {
          const lm = new LanguageModel({ vocabSize: vocab.size, hiddenSize: 16 });
          await fit(lm, ids, { epochs: 100000, batchSize: 4, seqLength: 8, progress: false,
            onBatch: () => { throw new Error('callback failed'); } }).catch((e) => { if (e.message !== 'callback failed') throw e; });
        }
        console.log('survived');
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).not.toContain("terminate called after throwing an instance of 'Napi::Error'");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('survived\n');
  });
});

describe('fit() hands the trained weights back across realms (jest, vm contexts)', () => {
  it('resolves', async () => {
    const text = 'the cat sat on the mat. '.repeat(20);
    const vocab = Vocabulary.fromText(text);
    const lm = new LanguageModel({ vocabSize: vocab.size, hiddenSize: 8 });
    const r = await fit(lm, vocab.encode(text), { batchSize: 4, seqLength: 8, maxBatches: 2, progress: false });
    expect(r.reason).toBe('max-batches');
  });
});

describe('resuming and early stopping', () => {
  const vocab = new Vocabulary(['<eos>', '<unk>', 'a', 'b']);
  const train = vocab.encode('ab'.repeat(200));
  const val = vocab.encode('aa'.repeat(50)); // training on 'abab' makes this worse each epoch
  const mk = () => {
    manualSeed(1);
    return new LanguageModel({ vocabSize: 4, hiddenSize: 8 });
  };
  const weights = (m: LanguageModel) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
  const bpe = Math.ceil((Math.floor(train.length / 4) - 1) / 10);
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-regression-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('a resumed run restores the best weights on early stopping, like an uninterrupted one', () => {
    const cfg = { epochs: 6, batchSize: 4, seqLength: 10, seed: 1, validationData: val, optimizer: { type: 'Adam' as const, lr: 1e-2 }, earlyStopping: { patience: 1 } };
    const a = mk();
    const ra = fitSync(a, train, cfg);
    expect(ra.reason).toBe('early-stopping');
    const dir = tmp();
    fitSync(mk(), train, { ...cfg, checkpointDir: dir, maxBatches: 2 * bpe });
    const c = mk();
    const rc = fitSync(c, train, { ...cfg, resumeFrom: dir });
    expect(rc.reason).toBe('early-stopping');
    expect(weights(c)).toEqual(weights(a));
  });

  it('stopping at maxBatches leaves no partial epoch in the resumed run\'s history or best loss', () => {
    const cfg = { epochs: 5, batchSize: 4, seqLength: 10, seed: 1, validationData: val, optimizer: { type: 'SGD' as const, lr: 0 }, earlyStopping: { patience: 0 } };
    const ra = fitSync(mk(), train, cfg);
    expect(ra.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    const dir = tmp();
    const stopped = fitSync(mk(), train, { ...cfg, checkpointDir: dir, maxBatches: 3 });
    expect(stopped.epochs.map((e) => [e.epoch, e.partial ?? false])).toEqual([[0, true]]);
    const rc = fitSync(mk(), train, { ...cfg, resumeFrom: dir });
    expect(rc.epochs.map((e) => [e.epoch, e.partial ?? false])).toEqual(ra.epochs.map((e) => [e.epoch, false]));
  });
});

describe('Vocabulary.decode(number[])', () => {
  it('rejects non-integer and out-of-range ids instead of coercing them', () => {
    const v = Vocabulary.fromText('ab');
    expect(() => v.decode([1.5])).toThrow(RangeError);
    expect(() => v.decode([2 ** 32 + 2])).toThrow(RangeError);
    expect(() => v.decode([NaN, 2])).toThrow(RangeError);
    expect(() => v.decode(['a' as never])).toThrow(TypeError);
  });
});

describe('LanguageModel#generate() options', () => {
  it('a misspelt option is a RangeError, as in the constructor and fit()', () => {
    const lm = new LanguageModel({ vocabSize: 5, hiddenSize: 4 });
    expect(() => lm.generate({ maxLength: 5, topk: 1 } as never)).toThrow(RangeError);
    expect(() => lm.generate({ maxLength: 5, temprature: 0.5 } as never)).toThrow(/unknown option "temprature"/);
  });
});

describe('CLI', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/rnn-native.js', ...args], { cwd: ROOT, encoding: 'utf8' });
  it('--help shows the --stop option on one line', () => {
    expect(cli('--help').stdout).toContain("--stop <text>           stop at this token (e.g. '\\n'; default: the end symbol)");
  });
  it('--stop with a token the vocabulary lacks is exit 2, not a silent <unk>', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-regression-'));
    try {
      fs.writeFileSync(path.join(dir, 't.txt'), 'abcabcabc '.repeat(30));
      const model = path.join(dir, 'm.safetensors');
      expect(cli('train', path.join(dir, 't.txt'), '--out', model, '--epochs', '1', '--hidden', '8', '--embedding', '8', '--batch-size', '4', '--seq-length', '8', '--quiet').status).toBe(0);
      expect(cli('generate', model, '--stop', 'Z', '--max-length', '10').status).toBe(2);
      expect(cli('generate', model, '--stop', 'ab', '--max-length', '10').status).toBe(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('training-mode forwards never followed by a backward, in a synchronous loop', () => {
  it('do not pile up memory: their activations are freed by the garbage collector, not after the event loop turns', () => {
    // Each forward keeps ~5 MB (T 50, B 32, H 128); 600 of them would hold ~3 GB if their
    // memory waited for a finalizer that only runs once the loop returns.
    const lstm = new LSTM({ inputSize: 64, hiddenSize: 128 });
    const x = Tensor.zeros([50, 32, 64]);
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 600; i++) {
      lstm.forward(x);
      if (i % 50 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect((peak - before) / 2 ** 20).toBeLessThan(1024);
  });
});
