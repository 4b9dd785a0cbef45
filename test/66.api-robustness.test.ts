// Seeded random misuse of the public API: every failure must be a TypeError or RangeError
// (an Error for a malformed file, as the contract says), never a crash, a hang or another kind
// of exception. Complements the hand-written validation tests with combinations nobody wrote.
import * as rnn from '../lib';

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** The misuse cases, drawing their arguments from a generator seeded with `seed`. */
function makeCases(seed: number): { cases: Array<() => unknown>; pick: <T>(a: readonly T[]) => T } {
  const rand = lcg(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const weird = (): unknown =>
    pick<unknown>([
      undefined, null, NaN, -1, 0, 1, 2, 3, 1.5, 1e9, -1e9, Infinity, 2 ** 31, 2 ** 53, '3', {}, [], [2, 3], true,
      new Float32Array(0), new Float32Array(7), new Float64Array(6), new Int32Array(4).fill(-1), Int32Array.of(0, 1, 99),
      new rnn.Tensor(new Float32Array(6), [2, 3]), new rnn.Tensor(new Float32Array(24), [2, 3, 4]), Symbol('x'),
    ]);
  const size = () => pick([0, 1, 2, 3, 4, -1, 1.5, NaN]); // no giant layers: those are legal, just slow
  const any = (v: unknown) => v as never;
  const cases: Array<() => unknown> = [
    () => new rnn.LSTM({ inputSize: size(), hiddenSize: size(), numLayers: pick([1, 2, 0, -1, 1e6]), bidirectional: any(pick([true, false, 1])) }),
    () => new rnn.GRU(any(weird())),
    () => new rnn.LSTM({ inputSize: 4, hiddenSize: 3 }).forward(any(weird()), any(weird()), any(weird())),
    () =>
      new rnn.GRU({ inputSize: 4, hiddenSize: 3, batchFirst: true }).forward(new rnn.Tensor(new Float32Array(24), [2, 3, 4]), { h: any(weird()) }, {
        lengths: any(pick([Int32Array.of(3, 9), Int32Array.of(0, 1), new Int32Array(2), weird()])),
      }),
    () => {
      const l = new rnn.RNN({ inputSize: 4, hiddenSize: 3 });
      l.forward(new rnn.Tensor(new Float32Array(24), [2, 3, 4]));
      return l.backward(any(weird()), any(weird()));
    },
    () => new rnn.LSTM({ inputSize: 4, hiddenSize: 3 }).forwardAsync(any(weird()), any(weird())),
    () => new rnn.Linear({ inFeatures: size(), outFeatures: size() }).forward(any(weird())),
    () => new rnn.Linear({ inFeatures: 3, outFeatures: 2 }).forwardAsync(any(weird())),
    () => new rnn.Embedding({ numEmbeddings: 5, embeddingDim: 2 }).forward(any(weird()), any(weird())),
    () => new rnn.Embedding({ numEmbeddings: 5, embeddingDim: 2 }).forward(Int32Array.of(1, 2, pick([5, -1, 4])), [3]),
    () => rnn.crossEntropy(any(weird()), any(weird()), any(weird())),
    () =>
      rnn.crossEntropy(new rnn.Tensor(new Float32Array(6), [2, 3]), pick([Int32Array.of(0, 3), Int32Array.of(-5, 1), Int32Array.of(0), new Int32Array(2)]), {
        ignoreIndex: any(weird()),
      }),
    () => rnn.clipGradNorm(any(weird()), any(weird()), any(weird())),
    () => new rnn.Adam(any(weird()), any(weird())),
    () => new rnn.SGD(new rnn.Linear({ inFeatures: 2, outFeatures: 2 }).parameters(), { lr: any(weird()), momentum: any(weird()) }).step(),
    () => rnn.loadSafetensors(any(pick([new Uint8Array(0), new Uint8Array(12), Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32), weird()]))),
    () => new rnn.LanguageModel({ vocabSize: 5, hiddenSize: 4, embeddingDim: 3 }).forward(any(weird()), any(weird()), any(weird())),
    () => new rnn.LanguageModel({ vocabSize: 5, hiddenSize: 4, embeddingDim: 3 }).forward(pick([Int32Array.of(0, 1, 2, 3, 4, 5), Int32Array.of(-1, 1, 2, 3, 4, 0)]), 3, 2),
    () => new rnn.LanguageModel({ vocabSize: 5, hiddenSize: 4, embeddingDim: 3 }).generate(any(weird())),
    () => new rnn.LanguageModel({ vocabSize: 5, hiddenSize: 4, embeddingDim: 3 }).generateAsync({ maxLength: any(weird()), prompt: any(weird()), topK: any(weird()) }),
    () => rnn.setNumThreads(any(weird())),
  ];
  return { cases, pick };
}

describe('random misuse of the public API', () => {
  const threads = rnn.getNumThreads();
  afterAll(() => rnn.setNumThreads(threads)); // a case may have changed it
  it.each([1, 2])('seed %i: only TypeError / RangeError (Error for a malformed file)', async (seed) => {
    const { cases, pick } = makeCases(seed);
    let typed = 0;
    const other: string[] = [];
    for (let i = 0; i < 600; i++) {
      try {
        const r = pick(cases)();
        if (r && typeof (r as Promise<unknown>).then === 'function') await r;
      } catch (e) {
        if (e instanceof TypeError || e instanceof RangeError) typed++;
        else if (e instanceof Error && e.message.startsWith('loadSafetensors:')) typed++;
        else other.push(String(e));
      }
    }
    expect(other).toEqual([]);
    expect(typed).toBeGreaterThan(400); // the cases mostly misuse the API
  });
});

describe('hostile values in messages and state dicts', () => {
  it('a cyclic, very deep or revoked value still gives the usual error, shown briefly', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    let deep: unknown = [1];
    for (let i = 0; i < 100000; i++) deep = [deep];
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    const hostile = new Proxy({}, { get() { throw new Error('getter'); } });
    for (const [value, shown] of [[cyclic, '[[[[…] (length 1)]]]'], [deep, '[[[[…] (length 1)]]]'], [proxy, '[unprintable value]'], [hostile, '[unprintable value]']] as const)
      expect(() => new rnn.LSTM({ inputSize: value as unknown as number, hiddenSize: 2 })).toThrow(
        new TypeError(`LSTM: expected an integer in [1, 2147483647] for inputSize but received ${shown} of type ${value === cyclic || value === deep ? 'array' : 'object'}`),
      );
  });

  it('an optimizer state dict cannot reach a prototype or change an option\'s type', () => {
    const p = new rnn.Parameter(new Float32Array(3), [3]);
    const opt = new rnn.Adam([p], { lr: 0.5 });
    const polluted = JSON.parse('{"state":{},"paramGroups":[{"params":[0],"__proto__":{"lr":9}}]}');
    expect(() => opt.loadStateDict(polluted)).toThrow(new RangeError('Adam.loadStateDict: stateDict.paramGroups[0] has a key "__proto__", which no optimizer writes'));
    const inState = JSON.parse('{"state":{"0":{"__proto__":1}},"paramGroups":[{"params":[0]}]}');
    expect(() => opt.loadStateDict(inState)).toThrow(RangeError);
    expect(() => opt.loadStateDict({ state: {}, paramGroups: [{ params: [0], lr: '1' as unknown as number }] })).toThrow(TypeError);
    expect(() => opt.loadStateDict({ state: {}, paramGroups: [{ params: [0], amsgrad: 1 }] })).toThrow(
      new TypeError('Adam.loadStateDict: expected a boolean (as the optimizer\'s own amsgrad) for stateDict.paramGroups[0].amsgrad but received 1 of type number'),
    );
    expect(Object.getPrototypeOf(opt.paramGroups[0])).toBe(Object.prototype);
    expect(opt.paramGroups[0].lr).toBe(0.5); // nothing applied by a refused state dict
    opt.loadStateDict(opt.stateDict()); // its own round trip still works
  });

  it('clipGradNorm names an unknown option', () => {
    expect(() => rnn.clipGradNorm([], 1, { norm_type: 1 } as never)).toThrow(
      new RangeError('clipGradNorm: unknown option "norm_type" (did you mean "normType"?); known options: normType, errorIfNonfinite'),
    );
  });
});
