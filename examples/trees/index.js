#!/usr/bin/env node
// Expression trees that generalise in depth: arithmetic mod 10 over digits with +, − and ×
// (grammar and sampling in ./expressions.js), trained on expressions of depth ≤ 4 and tested
// on held-out expressions of depth 1–8. Three models read the same expressions:
//   TreeLSTM  Embedding → NaryTreeLSTM(arity 2) over the expression's tree → Linear on the root
//   TreeRNN   Embedding → TreeRNN (tanh, arity 2) over the tree → Linear on the root
//   BiLSTM    Embedding → bidirectional LSTM over the bracketed token string
//             "( + ( * 3 4 ) 5 )" → Linear on both directions' final states
// Every model is trained with the loss at the root (the expression's value) only.
//
//   npm run example:trees                 # the full run (about 2.5 minutes on 2 cores)
//   npm run example:trees -- --quick      # a small, fast run (smoke test)
'use strict';
const { parseArgs } = require('node:util');
const rnn = require('../..');
const { OPS, prng, dataset } = require('./expressions');

const { functional: F } = rnn;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '7' },
    epochs: { type: 'string' },
    hidden: { type: 'string' },
    'train-per-depth': { type: 'string' },
    'test-per-depth': { type: 'string' },
    models: { type: 'string', default: 'treelstm,treernn,bilstm' },
    json: { type: 'string' },
  },
});

const quick = args.quick;
const cfg = {
  seed: Number(args.seed),
  hidden: Number(args.hidden || (quick ? 32 : 128)),
  embedding: 32,
  epochs: Number(args.epochs || (quick ? 1 : 16)),
  batchSize: 64,
  lr: 2e-3,
  clip: 1,
  trainDepths: [1, 2, 3, 4],
  testDepths: [1, 2, 3, 4, 5, 6, 7, 8],
  trainPerDepth: Number(args['train-per-depth'] || (quick ? 300 : 8000)),
  testPerDepth: Number(args['test-per-depth'] || (quick ? 50 : 1000)),
};

// ---- vocabularies: the tree models read digits and operators; the sequence model also brackets
const TREE_VOCAB = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ...OPS];
const SEQ_VOCAB = [...TREE_VOCAB, '(', ')'];
const treeId = new Map(TREE_VOCAB.map((t, i) => [t, i]));
const seqId = new Map(SEQ_VOCAB.map((t, i) => [t, i]));

// ---- models ------------------------------------------------------------------------------

/** Embedding → a tree layer over the batch → Linear on each tree's root state. */
class TreeClassifier extends rnn.Module {
  constructor(kind, { embedding, hidden }) {
    super();
    this.kind = kind;
    this.embedding = this.registerModule('embedding', new rnn.Embedding({ numEmbeddings: TREE_VOCAB.length, embeddingDim: embedding }));
    this.tree = this.registerModule(
      'tree',
      kind === 'treelstm'
        ? new rnn.NaryTreeLSTM({ inputSize: embedding, hiddenSize: hidden, arity: 2 })
        : new rnn.TreeRNN({ inputSize: embedding, hiddenSize: hidden, arity: 2 }),
    );
    this.head = this.registerModule('head', new rnn.Linear({ inFeatures: hidden, outFeatures: 10 }));
  }
  forward(examples) {
    const batch = rnn.Tree.batch(examples.map((e) => e.tree));
    const x = this.embedding.forward(batch.labelIds((label) => treeId.get(String(label))), [batch.size]);
    const { root } = this.tree.forward(x, batch.children); // root.h: one row per tree, in batch order
    return this.head.forward(root.h);
  }
}

/** Embedding → bidirectional LSTM over the token string → Linear on both final states. */
class SequenceClassifier extends rnn.Module {
  constructor({ embedding, hidden }) {
    super();
    this.kind = 'bilstm';
    this.hidden = hidden;
    this.embedding = this.registerModule('embedding', new rnn.Embedding({ numEmbeddings: SEQ_VOCAB.length, embeddingDim: embedding }));
    this.lstm = this.registerModule('lstm', new rnn.LSTM({ inputSize: embedding, hiddenSize: hidden, bidirectional: true }));
    this.head = this.registerModule('head', new rnn.Linear({ inFeatures: 2 * hidden, outFeatures: 10 }));
  }
  forward(examples) {
    const { ids, lengths, T, B } = rnn.padSequences(examples.map((e) => Int32Array.from(e.tokens, (t) => seqId.get(t))));
    const x = this.embedding.forward(ids, [T, B]);
    const { h } = this.lstm.forward(x, undefined, { lengths }); // h (2, B, H): each direction's final state
    return this.head.forward(h.transpose(0, 1).reshape([B, 2 * this.hidden]));
  }
}

// ---- training and evaluation ----------------------------------------------------------------

function train(model, data, generator) {
  const params = model.parameters();
  const opt = new rnn.Adam(params, { lr: cfg.lr });
  const steps = cfg.epochs * Math.ceil(data.length / cfg.batchSize);
  const sched = new rnn.CosineAnnealingLR(opt, { tMax: steps, etaMin: cfg.lr / 20 });
  const started = Date.now();
  // Batches of expressions of similar length (less padding for the sequence model, fewer
  // levels per batch for the tree models), shuffled every epoch.
  const lengths = Int32Array.from(data, (e) => e.tokens.length);
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    let lossSum = 0, batches = 0;
    for (const batch of rnn.batchIndices(lengths, { batchSize: cfg.batchSize, bucketSize: 20, generator })) {
      const examples = Array.from(batch, (i) => data[i]);
      const targets = Int32Array.from(examples, (e) => e.value);
      const loss = F.crossEntropy(model.forward(examples), targets);
      model.zeroGrad();
      loss.backward();
      rnn.clipGradNorm(params, cfg.clip);
      opt.step();
      sched.step();
      lossSum += loss.item();
      batches++;
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`  ${model.kind.padEnd(8)} epoch ${epoch}/${cfg.epochs}  loss ${(lossSum / batches).toFixed(4)}  ${seconds.toFixed(0)} s`);
  }
  return (Date.now() - started) / 1000;
}

function accuracyByDepth(model, test) {
  model.eval();
  const byDepth = new Map();
  rnn.noGrad(() => {
    for (let i = 0; i < test.length; i += 256) {
      const examples = test.slice(i, i + 256);
      const predicted = rnn.argmax(model.forward(examples));
      examples.forEach((e, k) => {
        const s = byDepth.get(e.depth) || { right: 0, total: 0 };
        s.right += predicted[k] === e.value ? 1 : 0;
        s.total++;
        byDepth.set(e.depth, s);
      });
    }
  });
  model.train();
  return new Map([...byDepth].map(([d, s]) => [d, s.right / s.total]));
}

function main() {
  const t0 = Date.now();
  console.log(`rnn-native ${rnn.version.package} on ${rnn.version.openblas}, ${rnn.getNumThreads()} threads`);
  const rand = prng(cfg.seed);
  const test = dataset(rand, cfg.testDepths, cfg.testPerDepth);
  const held = new Set(test.map((e) => e.text));
  const trainSet = dataset(rand, cfg.trainDepths, cfg.trainPerDepth, held);
  const meanSize = (d) => {
    const s = test.filter((e) => e.depth === d);
    return s.reduce((n, e) => n + e.tree.size, 0) / s.length;
  };
  console.log(`data: ${trainSet.length} training expressions of depth ${cfg.trainDepths.join(', ')}; ` +
    `${test.length} test expressions, ${cfg.testPerDepth} per depth ${cfg.testDepths[0]}–${cfg.testDepths[cfg.testDepths.length - 1]} ` +
    `(values balanced; from depth 3 on none appears in training; mean nodes per tree ${cfg.testDepths.map((d) => meanSize(d).toFixed(0)).join(', ')})`);
  console.log(`e.g. ${test[test.length - 1].text.slice(0, 100)}… = ${test[test.length - 1].value}`);

  const results = [];
  for (const kind of args.models.split(',')) {
    rnn.manualSeed(cfg.seed);
    const model = kind === 'bilstm' ? new SequenceClassifier(cfg) : new TreeClassifier(kind, cfg);
    console.log(`${kind}: ${model.numParameters().toLocaleString('en-US')} parameters, ${cfg.epochs} epochs, batch ${cfg.batchSize}, Adam ${cfg.lr} (cosine)`);
    const seconds = train(model, trainSet, new rnn.Generator(cfg.seed + 1));
    const acc = accuracyByDepth(model, test);
    results.push({ kind, seconds, accuracy: cfg.testDepths.map((d) => acc.get(d)) });
  }

  const names = { treelstm: 'TreeLSTM (N-ary, arity 2)', treernn: 'TreeRNN (tanh)', bilstm: 'BiLSTM on tokens' };
  const header = ['depth', ...results.map((r) => names[r.kind] || r.kind)];
  const rows = cfg.testDepths.map((d, i) => [`${d}${cfg.trainDepths.includes(d) ? '' : ' (unseen)'}`, ...results.map((r) => `${(100 * r.accuracy[i]).toFixed(1)}%`)]);
  rows.push(['training time', ...results.map((r) => `${r.seconds.toFixed(0)} s`)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\nheld-out accuracy by depth (chance 10%):\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${rows.map(line).join('\n')}`);
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (args.json) require('node:fs').writeFileSync(args.json, JSON.stringify({ cfg, results }, null, 1));
}

main();
