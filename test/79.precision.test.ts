// Lower-precision inference (bf16, int8 dynamic quantization) against float32, with the
// tolerances docs/serving.md documents: relative error of outputs and logits (the largest
// absolute difference over the largest absolute float32 value) ≤ 2 % for bf16, ≤ 4 % for int8
// on models with PyTorch's initialisation; int8 is the same on every kernel; batches still
// equal solo runs; training stays float32.
import { GRU, LanguageModel, loadLanguageModel, LSTM, manualSeed, noGrad, RNN, saveLanguageModel, Seq2Seq, Tensor } from '../lib';
import { native } from '../lib/native/addon';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TOLERANCE = { bf16: 0.02, int8: 0.04 } as const;

/** max |a − b| / max |b|. */
function relError(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

const filled = (shape: number[], seed: number) =>
  new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + seed)), shape);

describe.each(['bf16', 'int8'] as const)('%s inference', (precision) => {
  it.each([
    ['LSTM, 2 layers', () => new LSTM({ inputSize: 40, hiddenSize: 64, numLayers: 2 })],
    ['GRU, bidirectional', () => new GRU({ inputSize: 24, hiddenSize: 48, bidirectional: true })],
    ['RNN relu, batch first', () => new RNN({ inputSize: 16, hiddenSize: 33, nonlinearity: 'relu', batchFirst: true })],
    ['LSTM H 256 (two kernel threads)', () => new LSTM({ inputSize: 256, hiddenSize: 256 })],
  ])('%s: eval forward and forwardAsync within tolerance of float32, with state and lengths', async (_n, make) => {
    manualSeed(11);
    const layer = make().eval();
    const [T, B] = [9, 3];
    const x = filled(layer.batchFirst ? [B, T, layer.inputSize] : [T, B, layer.inputSize], 1);
    const L = layer.numLayers * layer.directions;
    const state = { h: filled([L, B, layer.hiddenSize], 2), ...(layer instanceof LSTM ? { c: filled([L, B, layer.hiddenSize], 3) } : {}) };
    const lengths = Int32Array.of(9, 4, 6);
    const ref = layer.forward(x, state as never, { lengths });
    layer.setPrecision(precision);
    expect(layer.precision).toBe(precision);
    const low = layer.forward(x, state as never, { lengths });
    const err = relError(low.output.data, ref.output.data);
    expect(err).toBeLessThan(TOLERANCE[precision]);
    expect(err).toBeGreaterThan(0); // it really ran in another precision
    expect(relError(low.h.data, ref.h.data)).toBeLessThan(TOLERANCE[precision]);
    const asyncOut = await layer.forwardAsync(x, state as never, { lengths });
    expect(Buffer.from(asyncOut.output.data.buffer).equals(Buffer.from(low.output.data.buffer))).toBe(true);
    // past a row's length the outputs are zero, as in float32 (a ReLU may also give an exact
    // zero inside a row, where a rounded pre-activation can fall on either side: not compared)
    const width = layer.directions * layer.hiddenSize;
    let padded = 0;
    for (let b = 0; b < B; b++)
      for (let t = lengths[b]; t < T; t++) {
        const at = (layer.batchFirst ? b * T + t : t * B + b) * width;
        for (let j = 0; j < width; j++) {
          expect(low.output.data[at + j]).toBe(0);
          padded++;
        }
      }
    expect(padded).toBe((T - 4 + T - 6) * width);
    layer.setPrecision('float32');
    expect(Array.from(layer.forward(x, state as never, { lengths }).output.data)).toEqual(Array.from(ref.output.data));
  });

  it('training forwards and backward stay float32 while a precision is set', () => {
    manualSeed(12);
    const a = new LSTM({ inputSize: 8, hiddenSize: 16 });
    const b = new LSTM({ inputSize: 8, hiddenSize: 16 });
    b.loadStateDict(a.stateDict());
    b.setPrecision(precision);
    const x = filled([5, 2, 8], 4);
    expect(Array.from(b.forward(x).output.data)).toEqual(Array.from(a.forward(x).output.data)); // training mode
    const g = filled([5, 2, 16], 5);
    expect(Array.from(b.backward(g).gradInput.data)).toEqual(Array.from(a.backward(g).gradInput.data));
  });

  it('LanguageModel: generation logits within tolerance; batched equals solo; loadStateDict converts again', async () => {
    manualSeed(13);
    const lm = new LanguageModel({ vocabSize: 40, hiddenSize: 96, numLayers: 2 }).eval();
    const ids = Int32Array.of(3, 9, 0, 16, 4, 22, 39);
    const ref = lm.forward(ids, ids.length, 1).logits.data;
    lm.setPrecision(precision);
    expect(lm.precision).toBe(precision);
    const dec = lm.decoder;
    const n = dec.rowSize;
    let [h, c, h2, c2] = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const got = new Float32Array(ref.length);
    for (let t = 0; t < ids.length; t++) {
      dec.run(1, ids.subarray(t, t + 1), h, c, h2, c2, got.subarray(t * 40, (t + 1) * 40), null, null);
      [h, h2, c, c2] = [h2, h, c2, c];
    }
    expect(relError(got, ref)).toBeLessThan(TOLERANCE[precision]);
    const reqs = [1, 2, 3, 4, 5].map((k) => ({ prompt: ids.subarray(0, k), maxLength: 30, seed: k, endToken: -1 }));
    const solo = reqs.map((o) => Array.from(lm.generate(o)));
    const batched = await Promise.all(reqs.map((o) => lm.generateAsync(o)));
    batched.forEach((b, k) => expect(Array.from(b)).toEqual(solo[k]));
    // new weights through loadStateDict are converted again
    const other = new LanguageModel({ vocabSize: 40, hiddenSize: 96, numLayers: 2 });
    const want = other.setPrecision(precision).generate({ maxLength: 20, seed: 9 });
    lm.loadStateDict(other.stateDict());
    expect(Array.from(lm.generate({ maxLength: 20, seed: 9 }))).toEqual(Array.from(want));
  });
});

describe('int8 is exact integer arithmetic', () => {
  afterEach(() => native.rowDotForcePortable(false));

  it('gives the same bits on the CPU\'s kernel and the portable one', () => {
    manualSeed(14);
    const lm = new LanguageModel({ vocabSize: 30, hiddenSize: 70, embeddingDim: 37, numLayers: 2, cell: 'gru' }).setPrecision('int8');
    const opts = { prompt: Int32Array.of(1, 2, 3), maxLength: 40, seed: 3, endToken: -1 };
    const fast = Array.from(lm.generate(opts));
    const layer = new LSTM({ inputSize: 37, hiddenSize: 70 }).eval().setPrecision('int8');
    const x = filled([6, 5, 37], 6);
    const fastOut = layer.forward(x).output.data.slice();
    native.rowDotForcePortable(true);
    expect(native.rowDotIsa(2)).toBe('portable');
    expect(Array.from(lm.generate(opts))).toEqual(fast);
    expect(Buffer.from(layer.forward(x).output.data.buffer).equals(Buffer.from(fastOut.buffer))).toBe(true);
  });
});

describe('setPrecision and loadLanguageModel({ precision })', () => {
  it('checks the precision and loads a model in one', () => {
    const lm = new LanguageModel({ vocabSize: 12, hiddenSize: 8 });
    expect(() => lm.setPrecision('fp16' as never)).toThrow(new RangeError('LanguageModel.setPrecision: expected one of "float32", "bf16", "int8" for precision but received "fp16" of type string'));
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4 }).setPrecision(8 as never)).toThrow(TypeError);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-79-'));
    try {
      const file = path.join(dir, 'lm.safetensors');
      saveLanguageModel(file, lm);
      const { model } = loadLanguageModel(file, { requireVocabulary: false, precision: 'int8' });
      expect(model.precision).toBe('int8');
      expect(model.rnn.precision).toBe('int8');
      expect(Array.from(model.generate({ maxLength: 15, seed: 2 }))).toEqual(Array.from(lm.setPrecision('int8').generate({ maxLength: 15, seed: 2 })));
      expect(() => loadLanguageModel(file, { requireVocabulary: false, precision: 'half' as never })).toThrow(/loadLanguageModel: expected one of "float32", "bf16", "int8" for precision/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Seq2Seq precision', () => {
  it.each(['bf16', 'int8'] as const)('%s: decoding logits within tolerance; translateAsync decodes in the precision set', async (precision) => {
    manualSeed(15);
    const m = new Seq2Seq({ sourceVocabSize: 20, targetVocabSize: 22, embeddingDim: 16, hiddenSize: 32, dropout: 0 }).eval();
    const sources = Array.from({ length: 12 }, (_, k) => Int32Array.from({ length: 3 + (k % 5) }, (_, i) => 1 + ((i * 7 + k) % 19)));
    const targets = sources.map((s) => s.slice().reverse());
    const batch = m.batch(sources, targets);
    const ref = noGrad(() => m.stepwiseLogits(batch)).data;
    m.setPrecision(precision);
    expect(m.precision).toBe(precision);
    const low = noGrad(() => m.stepwiseLogits(batch)).data;
    const err = relError(low, ref);
    expect(err).toBeLessThan(TOLERANCE[precision]);
    expect(err).toBeGreaterThan(0);
    const plain = (outs: Int32Array[]) => outs.map((o) => Array.from(o));
    const sync = plain(m.translate(sources, { beamSize: 3 }));
    expect(plain(await m.translateAsync(sources, { beamSize: 3 }))).toEqual(sync);
    m.setPrecision('float32');
    expect(plain(await m.translateAsync(sources, { beamSize: 3 }))).toEqual(plain(m.translate(sources, { beamSize: 3 })));
  });
});
