// The process test/43.kill.test.ts kills: saves model files or training checkpoints in a loop
// until SIGKILL arrives. Usage: node kill-child.js <model|checkpoint> <folder> <first generation>
// Prints "ready" once set up, then "saved <generation>" after each complete model save, or
// "step <n>" after each checkpointed batch. Also checks what the killed ones left, in a fresh
// process (building models is far slower under jest's module sandbox):
//   node kill-child.js verify-model <folder>       prints the generation the file holds
//   node kill-child.js verify-checkpoint <folder>  resumes one step, prints "resumed <step>"
'use strict';
const path = require('node:path');
const lib = require(path.join(__dirname, '..', '..'));

const [mode, dir, first] = process.argv.slice(2);
const text = 'the quick brown fox jumps over the lazy dog. '.repeat(400);
const config = { epochs: 1000, batchSize: 4, seqLength: 4, seed: 1, validationFraction: 0 };
if (mode === 'verify-model') {
  const { model } = lib.loadLanguageModel(path.join(dir, 'model.safetensors'), { requireVocabulary: false });
  const gen = model.parameters()[0].data[0];
  for (const p of model.parameters()) if (!p.data.every((v) => v === gen)) throw new Error('a mix of two saves');
  process.stdout.write(`${gen}\n`);
} else if (mode === 'verify-checkpoint') {
  const vocab = lib.Vocabulary.fromText(text);
  const name = JSON.parse(require('node:fs').readFileSync(path.join(dir, 'latest.json'), 'utf8')).checkpoint;
  const step = Number(/^step-(\d+)/.exec(name)[1]);
  const lm = new lib.LanguageModel({ vocabSize: vocab.size, hiddenSize: 384 });
  const save = first === 'save' ? { checkpointDir: dir } : {};
  const r = lib.fitSync(lm, vocab.encode(text), { ...config, resumeFrom: dir, maxBatches: step + 1, ...save });
  process.stdout.write(`resumed ${step} ${r.steps}\n`);
} else if (mode === 'model') {
  // ~25 MB per file: the save is most of each iteration, so kills land inside it
  const lm = new lib.LanguageModel({ vocabSize: 4096, hiddenSize: 512, embeddingDim: 512 });
  const params = lm.parameters();
  const file = path.join(dir, 'model.safetensors');
  process.stdout.write('ready\n');
  for (let gen = Number(first); ; gen++) {
    for (const p of params) p.data.fill(gen); // a whole file holds one value everywhere
    lib.saveLanguageModel(file, lm);
    process.stdout.write(`saved ${gen}\n`);
  }
} else if (mode === 'checkpoint') {
  const vocab = lib.Vocabulary.fromText(text);
  lib.manualSeed(1);
  const lm = new lib.LanguageModel({ vocabSize: vocab.size, hiddenSize: 384 });
  process.stdout.write('ready\n');
  const resume = require('node:fs').existsSync(path.join(dir, 'latest.json'));
  lib.fitSync(lm, vocab.encode(text), { ...config, checkpointDir: dir, checkpointEvery: 1, ...(resume ? { resumeFrom: dir } : {}) }, {
    onBatch: (b) => process.stdout.write(`step ${b.step}\n`),
  });
}
