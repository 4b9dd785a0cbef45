// Seq2Seq.translateAsync merges concurrent requests that can share a batch (greedy, or beam
// search with the same beam size and length penalty, decoded with the same weights) into one
// decode on the model's worker: each request still gets what translate() gives it alone,
// with its own length limit; sampling requests and requests made with other weights go alone.
import { manualSeed, Seq2Seq, DecodeOptions } from '../lib';
import { translationCounts } from '../lib/models/seq2seq-async';

function model(seed = 1): Seq2Seq {
  manualSeed(seed);
  return new Seq2Seq({ sourceVocabSize: 20, targetVocabSize: 22, embeddingDim: 16, hiddenSize: 32, dropout: 0 });
}

const source = (k: number) => Int32Array.from({ length: 2 + (k % 8) }, (_, i) => 1 + ((i * 5 + k * 3) % 19));
const plain = (outs: Int32Array[]) => outs.map((o) => Array.from(o));

describe('Seq2Seq#translateAsync() batching', () => {
  it('concurrent compatible requests decode as one batch and get exactly what each gets alone', async () => {
    const m = model(3);
    const cases: Array<[Int32Array[], DecodeOptions]> = [];
    for (let k = 0; k < 30; k++) {
      const sources = k % 7 === 3 ? [source(k), source(k + 11)] : [source(k)];
      const opts: DecodeOptions =
        k % 4 === 0 ? { mode: 'greedy' } :
        k % 4 === 1 ? { beamSize: 3 } :
        k % 4 === 2 ? { beamSize: 3, maxLength: 2 + (k % 5) } : // same batch as plain beam 3, its own limit
        { mode: 'sample', seed: k, temperature: 0.8 };
      cases.push([sources, opts]);
    }
    const alone = cases.map(([s, o]) => plain(m.translate(s, o)));
    const got = await Promise.all(cases.map(([s, o]) => m.translateAsync(s, o)));
    got.forEach((g, k) => expect(plain(g)).toEqual(alone[k]));
    const { jobs, requests } = translationCounts(m);
    expect(requests).toBe(30);
    // The first request goes alone (the worker was idle); the rest wait and merge: one greedy
    // batch, one beam-3 batch, and the sampling requests one by one (7 or 8 of them).
    expect(jobs).toBeLessThanOrEqual(1 + 2 + 8);
    expect(jobs).toBeGreaterThanOrEqual(1 + 2 + 7);
  });

  it('requests made before and after the weights changed are not merged, and each decodes with its own weights', async () => {
    const m = model(4);
    const src = [source(2)];
    const before = plain(m.translate(src, { mode: 'greedy', maxLength: 5 }));
    const first = m.translateAsync(src, { mode: 'greedy', maxLength: 5 }); // the worker takes this one at once
    const p1 = m.translateAsync(src, { mode: 'greedy', maxLength: 5 });
    const bias = m.decoder.out.bias!.data;
    const saved = bias.slice();
    bias.fill(0);
    bias[7] = 60; // token 7 always wins from here on
    const p2 = m.translateAsync(src, { mode: 'greedy', maxLength: 5 });
    const p3 = m.translateAsync(src, { mode: 'greedy', maxLength: 5 });
    const [a, b, c, d] = await Promise.all([first, p1, p2, p3]);
    expect(plain(a)).toEqual(before);
    expect(plain(b)).toEqual(before);
    expect(plain(c)).toEqual([[7, 7, 7, 7, 7]]);
    expect(plain(d)).toEqual([[7, 7, 7, 7, 7]]);
    expect(translationCounts(m)).toEqual({ jobs: 3, requests: 4 }); // first; p1; p2 with p3
    bias.set(saved);
  });

  it('a large merged group is split so that no batch takes more than 64 sources', async () => {
    const m = model(5);
    const reqs = Array.from({ length: 50 }, (_, k) => [source(k), source(k + 1)]); // 100 sources after the first
    const alone = reqs.map((s) => plain(m.translate(s, { mode: 'greedy', maxLength: 6 })));
    const got = await Promise.all(reqs.map((s) => m.translateAsync(s, { mode: 'greedy', maxLength: 6 })));
    got.forEach((g, k) => expect(plain(g)).toEqual(alone[k]));
    expect(translationCounts(m)).toEqual({ jobs: 3, requests: 50 }); // 1 alone, then 32 requests (64 sources), then 17
  });
});
