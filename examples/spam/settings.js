'use strict';
// The spam example's model and training settings (the defaults of `rnn-native classify train`
// are the same), and how the split's texts become token ids. Shared by index.js,
// step-cost.js and twin.js (which hands them to the PyTorch twin, scripts/classifier_torch.py).
const rnn = require('../..');

const SETTINGS = {
  /** Lower-cased words and punctuation marks; words seen once in training become <unk>. */
  tokenization: 'wordpunct',
  minCount: 2,
  /** Each message's first tokens (the subject, then the body). */
  maxLength: 400,
  model: {
    embeddingDim: 64, hiddenSize: 64, numLayers: 1, cell: 'lstm', bidirectional: true, pooling: 'max', dropout: 0.3,
    normalizeEmbeddings: true, maxLength: 400,
  },
  batchSize: 32,
  lr: 2e-3,
  clip: 5,
  /** The perturbation norm per message for adversarial training. */
  epsilon: 2,
};

/** The vocabulary of the training messages and every part of the split as { sequences, labels } (spam = 1). */
function encodeSplit(split) {
  const vocabulary = rnn.Vocabulary.fromTexts(split.train.map((e) => e.text), { tokenization: SETTINGS.tokenization, lowercase: true, minCount: SETTINGS.minCount });
  const encode = (entries) => ({
    // A message with no text at all (an empty subject and body) reads as one <unk>.
    sequences: entries.map((e) => {
      const ids = vocabulary.encode(e.text, { maxLength: SETTINGS.maxLength });
      return ids.length > 0 ? ids : Int32Array.of(1);
    }),
    labels: Int32Array.from(entries, (e) => (e.label === 'spam' ? 1 : 0)),
  });
  return { vocabulary, train: encode(split.train), valid: encode(split.valid), test: encode(split.test) };
}

module.exports = { SETTINGS, encodeSplit };
