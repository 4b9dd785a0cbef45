/**
 * `rnn-native classify train <train.tsv> --save <model>`: trains a sequence classifier on
 * labelled texts and saves it with its vocabulary and labels. The defaults are the settings
 * examples/spam measured on the SpamAssassin corpus: given only the files and a time budget,
 * a user gets that model. (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Generator, manualSeed } from '../core/random';
import { MAX_ELEMENTS } from '../core/validate';
import { Vocabulary } from '../data/vocabulary';
import { saveSequenceClassifier } from '../io/classifier-file';
import { SequenceClassifier } from '../models/sequence-classifier';
import { evaluateClassifier } from '../train/adversarial';
import type { TrainingConfig } from '../train/config';
import { fit } from '../train/fit';
import type { ClassifierData } from '../train/tasks/classifier';
import { CliError, integer, number, oneOf, Options, parseWithOne } from './args';
import { reportLines, TrainingReporter } from './classify-report';
import { checkDirectory, checkReadable, checkWritable, fileError } from './files';
import { HELP } from './help';
import { untilInterrupted } from './interrupt';
import { DEFAULT_EPSILON, LabelledTexts, optionalNumber, readLabelled } from './labelled';
import { UNBOUNDED_EPOCHS } from './train';

export const CLASSIFY_TRAIN_OPTIONS: Options = {
  save: { type: 'string' }, valid: { type: 'string' }, validation: { type: 'string' }, tokens: { type: 'string' },
  'min-count': { type: 'string' }, 'max-length': { type: 'string' }, cell: { type: 'string' }, embedding: { type: 'string' },
  hidden: { type: 'string' }, layers: { type: 'string' }, bidirectional: { type: 'boolean' }, unidirectional: { type: 'boolean' },
  pooling: { type: 'string' }, dropout: { type: 'string' }, 'class-weights': { type: 'string' }, adversarial: { type: 'string' },
  batch: { type: 'string' }, lr: { type: 'string' }, clip: { type: 'string' }, epochs: { type: 'string' }, 'max-seconds': { type: 'string' },
  patience: { type: 'string' }, 'checkpoint-dir': { type: 'string' }, resume: { type: 'boolean' }, seed: { type: 'string' }, quiet: { type: 'boolean' },
};

/** Epochs when neither --epochs nor a time budget or --patience bounds the run. */
const DEFAULT_EPOCHS = 10;
/** Texts are cut to this many tokens unless --max-length says otherwise (per tokenization). */
const DEFAULT_MAX_LENGTH = { word: 400, char: 1000 } as const;

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** Holds out `fraction` of the texts, chosen by a seeded shuffle (a sorted file must not lose its tail). */
function holdOut(data: LabelledTexts, fraction: number, seed: number): { train: LabelledTexts; validation: LabelledTexts | null } {
  const N = data.texts.length;
  const held = Math.floor(N * fraction);
  if (held === 0) return { train: data, validation: null };
  const g = new Generator(seed);
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(g.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pick = (idx: number[]): LabelledTexts => ({ labels: idx.map((i) => data.labels[i]), texts: idx.map((i) => data.texts[i]), lines: idx.map((i) => data.lines[i]) });
  return { train: pick(order.slice(held).sort((a, b) => a - b)), validation: pick(order.slice(0, held).sort((a, b) => a - b)) };
}

export async function classifyTrain(rawArgs: string[], others: Record<string, string>): Promise<number> {
  const args = optionalNumber(rawArgs, 'adversarial', DEFAULT_EPSILON);
  const parsed = parseWithOne('classify train', 'one file of labelled texts', args, CLASSIFY_TRAIN_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;

  // Every option is checked before any work starts.
  if (v.save === undefined) throw new CliError('classify train needs --save <file>: where to write the trained model', true);
  const out = String(v.save);
  const validFile = v.valid as string | undefined;
  const tokens = oneOf(v, 'tokens', ['word', 'char'] as const, 'word');
  const cell = oneOf(v, 'cell', ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const, 'lstm');
  const pooling = oneOf(v, 'pooling', ['last', 'mean', 'max', 'attention'] as const, 'max');
  const classWeighting = oneOf(v, 'class-weights', ['none', 'balanced'] as const, 'none');
  const size = { min: 1, max: MAX_ELEMENTS };
  const minCount = integer(v, 'min-count', size) ?? (tokens === 'word' ? 2 : 1);
  const maxLength = integer(v, 'max-length', size) ?? DEFAULT_MAX_LENGTH[tokens];
  const embedding = integer(v, 'embedding', size) ?? 64;
  const hidden = integer(v, 'hidden', size) ?? 64;
  const layers = integer(v, 'layers', { min: 1, max: 64 }) ?? 1;
  if (v.bidirectional && v.unidirectional) throw new CliError('--bidirectional and --unidirectional contradict each other; give one', true);
  const bidirectional = v.unidirectional !== true;
  const dropout = number(v, 'dropout', { min: 0, max: 1, maxExclusive: true }) ?? 0.3;
  const epsilon = number(v, 'adversarial', { min: 0, minExclusive: true });
  const batchSize = integer(v, 'batch', size) ?? 32;
  const lr = number(v, 'lr', { min: 0, minExclusive: true }) ?? 2e-3;
  const clip = number(v, 'clip', { min: 0 }) ?? 5;
  const epochsGiven = integer(v, 'epochs', size);
  const maxSeconds = number(v, 'max-seconds', { min: 0, minExclusive: true });
  const patience = integer(v, 'patience', { min: 0, max: MAX_ELEMENTS });
  const validationFraction = number(v, 'validation', { min: 0, max: 1, maxExclusive: true }) ?? 0.1;
  const seed = integer(v, 'seed', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 1;
  const checkpointDir = v['checkpoint-dir'] as string | undefined;
  if (validFile !== undefined && v.validation !== undefined) throw new CliError('--valid and --validation both choose the validation texts; give one', true);
  if (v.resume && checkpointDir === undefined) throw new CliError('--resume needs --checkpoint-dir', true);
  if (checkpointDir !== undefined) checkDirectory('--checkpoint-dir', checkpointDir);
  if (v.resume && !fs.existsSync(path.join(checkpointDir!, 'latest.json')))
    throw new CliError(`--resume: there is no checkpoint in ${checkpointDir} to resume from (no latest.json); run once without --resume to start one`);
  checkWritable('--save', out);
  if (validFile !== undefined) checkReadable(validFile);
  const epochs = epochsGiven ?? (maxSeconds !== undefined || patience !== undefined ? UNBOUNDED_EPOCHS : DEFAULT_EPOCHS);

  // The texts, their labels (sorted) and the vocabulary (of the training texts only).
  const all = readLabelled(file);
  const split = validFile !== undefined ? { train: all, validation: readLabelled(validFile) } : holdOut(all, validationFraction, seed);
  if (patience !== undefined && split.validation === null)
    throw new CliError(`--patience needs validation texts to watch: give --valid, or a --validation fraction that holds out at least one of the ${all.texts.length} texts`);
  const labels = [...new Set(split.train.labels)].sort();
  if (labels.length < 2) throw new CliError(`${file}: every text has the label ${JSON.stringify(labels[0])}; a classifier needs at least two classes`);
  const ids = (d: LabelledTexts, where: string): Int32Array => {
    const index = new Map(labels.map((l, i) => [l, i]));
    return Int32Array.from(d.labels, (l, k) => {
      const id = index.get(l);
      if (id === undefined) throw new CliError(`${where}:${d.lines[k]}: the label ${JSON.stringify(l)} does not occur in the training texts (${labels.map((x) => JSON.stringify(x)).join(', ')})`);
      return id;
    });
  };
  const vocabulary = Vocabulary.fromTexts(split.train.texts, tokens === 'word' ? { tokenization: 'wordpunct', lowercase: true, minCount } : { tokenization: 'char', minCount });
  const encode = (d: LabelledTexts, where: string): ClassifierData => ({
    sequences: d.texts.map((t, k) => {
      const x = vocabulary.encode(t, { maxLength });
      if (x.length === 0) throw new CliError(`${where}:${d.lines[k]}: the text has no tokens (only spaces?)`);
      return x;
    }),
    labels: ids(d, where),
  });
  const train = encode(split.train, file);
  const validation = split.validation && encode(split.validation, validFile ?? file);
  let classWeights: number[] | null = null;
  if (classWeighting === 'balanced') {
    // scikit-learn's "balanced": N / (C · count_c), so every class weighs as much in all.
    const counts = labels.map((_, c) => (train.labels as Int32Array).filter((y) => y === c).length);
    classWeights = counts.map((n) => train.sequences.length / (labels.length * n));
  }

  manualSeed(seed);
  const model = new SequenceClassifier({
    vocabSize: vocabulary.size, numClasses: labels.length, embeddingDim: embedding, hiddenSize: hidden, numLayers: layers, cell, bidirectional,
    pooling, dropout, classWeights, normalizeEmbeddings: true, maxLength,
  });
  model.setTokenFrequencies(vocabulary.counts!);
  const held = validation ? `${plural(validation.sequences.length, 'text')} for validation${validFile ? ` from ${validFile}` : ''}` : 'no validation';
  process.stderr.write(
    `${file}: ${plural(train.sequences.length, 'text')} for training, ${held}; ${labels.length} classes (${labels.join(', ')}); ` +
      `a vocabulary of ${plural(vocabulary.size, tokens === 'word' ? 'word' : 'character')}; training ${model.numParameters({ trainableOnly: true }).toLocaleString('en-US')} parameters` +
      `${epsilon !== undefined ? `, adversarially (ε ${epsilon})` : ''}\n`,
  );

  const quiet = v.quiet === true;
  const reporter = new TrainingReporter({ epochs: epochsGiven ?? (epochs === UNBOUNDED_EPOCHS ? null : epochs), maxSeconds, live: !quiet && Boolean(process.stderr.isTTY), stream: process.stderr });
  const config: TrainingConfig = {
    epochs, batchSize, seed, optimizer: { type: 'Adam', lr }, validationFraction: 0,
    ...(clip > 0 ? { clipGradNorm: clip } : {}),
    // Halve the learning rate when the validation loss stops improving; keep the best epoch.
    ...(validation ? { scheduler: { type: 'ReduceLROnPlateau', factor: 0.5, patience: 1 }, restoreBest: true } : {}),
    ...(patience !== undefined ? { earlyStopping: { patience } } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    ...(epsilon !== undefined ? { adversarial: { method: 'at', epsilon } } : {}),
    ...(checkpointDir !== undefined ? { checkpointDir, checkpointEvery: 500 } : {}),
    ...(v.resume ? { resumeFrom: checkpointDir } : {}),
  };

  // Ctrl-C: stop after the current batch and save; a second one quits at once.
  const result = await untilInterrupted(reporter, (signal) =>
    fit(model, train, {
      ...config, ...(validation ? { validationData: validation } : {}), progress: false, signal,
      onBatch: (b) => reporter.batch(b),
      onEpoch: quiet ? undefined : (e) => reporter.epoch(e),
    }));

  try {
    saveSequenceClassifier(out, model, { vocabulary, labels });
  } catch (err) {
    throw fileError('write', out, err);
  }
  const interrupted = result.reason === 'aborted';
  let summary = '';
  if (validation && !interrupted) {
    const r = evaluateClassifier(model, validation, { labels });
    if (!quiet) process.stderr.write(`${reportLines(r, labels, 'validation').join('\n')}\n`);
    summary = `: val accuracy ${(100 * r.accuracy).toFixed(2)}%, macro F1 ${(100 * r.macroF1).toFixed(2)}%`;
  }
  const batches = result.steps === 1 ? '1 batch' : `${result.steps.toLocaleString('en-US')} batches`;
  process.stdout.write(`saved ${out} after ${batches} (${interrupted ? 'interrupted' : result.reason})${summary}\n`);
  return interrupted ? 130 : 0;
}
