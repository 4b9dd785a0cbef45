// The Attention module in float64 against central differences (PyTorch's gradcheck): each
// kind, with and without a length mask, through forward(memory) and through prepare(); the
// gradient reaches the query, the memory and every parameter, and nothing flows to or from
// masked memory positions. (Its PyTorch parity is in test/28, inside whole Seq2Seq steps.)
import { Attention, AttentionKind, functional as F, manualSeed, Tensor } from '../lib';
import { Generator } from '../lib/core/random';
import { rand64, toFloat64 } from './helpers/float64';
import { dot, expectGradcheck, reportGradcheckErrors } from './helpers/gradcheck-expect';

afterAll(() => reportGradcheckErrors(6));

const B = 3, S = 4, Tq = 2;
const LENGTHS = Int32Array.of(4, 2, 1);
const DIMS: Record<AttentionKind, { queryDim: number; keyDim: number; attentionDim?: number }> = {
  dot: { queryDim: 4, keyDim: 4 },
  general: { queryDim: 3, keyDim: 5 },
  additive: { queryDim: 3, keyDim: 5, attentionDim: 4 },
};

function setup(kind: AttentionKind, seed: number) {
  manualSeed(seed);
  const attn = toFloat64(new Attention({ kind, ...DIMS[kind] }));
  const g = new Generator(seed);
  for (const p of attn.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = (2 * g.uniform() - 1) * 0.8;
  const { queryDim, keyDim } = DIMS[kind];
  const query = rand64(g, [B, Tq, queryDim], 1, true);
  const memory = rand64(g, [B, S, keyDim], 1, true);
  const wc = rand64(g, [B, Tq, keyDim]), ww = rand64(g, [B, Tq, S]);
  return { attn, query, memory, wc, ww };
}

describe.each(['dot', 'general', 'additive'] as const)('Attention (%s): gradcheck (float64)', (kind) => {
  it.each([
    ['without a mask', undefined],
    ['with lengths', LENGTHS],
  ] as const)('context and weights %s: query, memory and parameters', (_name, lengths) => {
    const { attn, query, memory, wc, ww } = setup(kind, 3);
    const opts = lengths ? { lengths } : undefined;
    const loss = () => {
      const { context, weights } = attn.forward(query, memory, opts);
      return F.add(dot(context, wc), dot(weights, ww));
    };
    expectGradcheck(`Attention ${kind} ${_name}`, loss, [query, memory, ...attn.parameters()]);
  });

  it('through prepare(): the same gradients as forward(memory)', () => {
    const a = setup(kind, 5), b = setup(kind, 5);
    const la = () => dot(a.attn.forward(a.query, a.memory, { lengths: LENGTHS }).context, a.wc);
    const lb = () => dot(b.attn.forward(b.query, b.attn.prepare(b.memory), { lengths: LENGTHS }).context, b.wc);
    expectGradcheck(`Attention ${kind} prepared`, lb, [b.query, b.memory, ...b.attn.parameters()]);
    la().backward();
    for (const [x, y] of [[a.query, b.query], [a.memory, b.memory]] as Array<[Tensor, Tensor]>)
      for (let i = 0; i < x.size; i++) expect(Math.abs(x.grad![i] - y.grad![i])).toBeLessThan(1e-6);
  });

  it('masked positions get zero weight, and the memory past each length gets zero gradient', () => {
    const { attn, query, memory, wc } = setup(kind, 7);
    const { context, weights } = attn.forward(query, memory, { lengths: LENGTHS });
    dot(context, wc).backward();
    const keyDim = DIMS[kind].keyDim;
    for (let b = 0; b < B; b++)
      for (let s = LENGTHS[b]; s < S; s++) {
        for (let t = 0; t < Tq; t++) expect(weights.data[(b * Tq + t) * S + s]).toBe(0);
        for (let k = 0; k < keyDim; k++) expect(memory.grad![(b * S + s) * keyDim + k]).toBe(0);
      }
    // and every row of weights sums to one over the valid positions
    for (let r = 0; r < B * Tq; r++) {
      let sum = 0;
      for (let s = 0; s < S; s++) sum += weights.data[r * S + s];
      expect(sum).toBeCloseTo(1, 12);
    }
  });
});
