/**
 * `rnn-native seq2seq train <pairs.tsv> --save <model>`: trains an encoder–decoder with
 * attention on tab-separated pairs and saves it with its two vocabularies. The defaults are
 * the settings that reach published quality on CMUdict grapheme-to-phoneme conversion
 * (examples/g2p-cmudict). (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Generator, manualSeed } from '../core/random';
import { MAX_ELEMENTS } from '../core/validate';
import { saveSeq2Seq } from '../io/seq2seq-file';
import { Seq2Seq } from '../models/seq2seq';
import { fit } from '../train/fit';
import type { TrainingConfig } from '../train/config';
import type { Seq2SeqData } from '../train/tasks/seq2seq';
import { CliError, integer, number, oneOf, Options, parseWithOne } from './args';
import { checkDirectory, checkReadable, checkWritable, fileError } from './files';
import { HELP } from './help';
import { untilInterrupted } from './interrupt';
import { readPairs, TextPairs, vocabularyOf } from './pairs';
import { bits, Reporter } from './report';
import { UNBOUNDED_EPOCHS } from './train';
import type { Vocabulary } from '../data/vocabulary';

export const SEQ2SEQ_TRAIN_OPTIONS: Options = {
  save: { type: 'string' }, valid: { type: 'string' }, validation: { type: 'string' },
  'source-tokens': { type: 'string' }, 'target-tokens': { type: 'string' }, cell: { type: 'string' },
  embedding: { type: 'string' }, hidden: { type: 'string' }, 'encoder-layers': { type: 'string' }, 'decoder-layers': { type: 'string' },
  attention: { type: 'string' }, dropout: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, clip: { type: 'string' },
  epochs: { type: 'string' }, 'max-seconds': { type: 'string' }, patience: { type: 'string' },
  'checkpoint-dir': { type: 'string' }, resume: { type: 'boolean' }, seed: { type: 'string' }, quiet: { type: 'boolean' },
};

/** Epochs when neither --epochs nor a time budget or --patience bounds the run. */
const DEFAULT_EPOCHS = 10;
/** Validation pairs decoded greedily at the end for the exact-match rate (enough for ±1.5 %). */
const EXACT_MATCH_PAIRS = 1000;

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** Holds out `fraction` of the pairs, chosen by a seeded shuffle (a sorted file must not lose its tail). */
function holdOut(pairs: TextPairs, fraction: number, seed: number): { train: TextPairs; validation: TextPairs | null } {
  const N = pairs.sources.length;
  const held = Math.floor(N * fraction);
  if (held === 0) return { train: pairs, validation: null };
  const g = new Generator(seed);
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(g.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pick = (idx: number[]): TextPairs => ({
    sources: idx.map((i) => pairs.sources[i]), targets: idx.map((i) => pairs.targets[i]), lines: idx.map((i) => pairs.lines[i]),
  });
  const validation = order.slice(0, held).sort((a, b) => a - b);
  const train = order.slice(held).sort((a, b) => a - b);
  return { train: pick(train), validation: pick(validation) };
}

function encodePairs(p: TextPairs, source: Vocabulary, target: Vocabulary): Seq2SeqData {
  return { sources: p.sources.map((s) => source.encode(s)), targets: p.targets.map((t) => target.encode(t)) };
}

export async function seq2seqTrain(args: string[], others: Record<string, string>): Promise<number> {
  const parsed = parseWithOne('seq2seq train', 'one file of pairs', args, SEQ2SEQ_TRAIN_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;

  // Every option is checked before any work starts.
  if (v.save === undefined) throw new CliError('seq2seq train needs --save <file>: where to write the trained model', true);
  const out = String(v.save);
  const validFile = v.valid as string | undefined;
  const sourceTokens = oneOf(v, 'source-tokens', ['char', 'space'] as const, 'char');
  const targetTokens = oneOf(v, 'target-tokens', ['char', 'space'] as const, 'char');
  const cell = oneOf(v, 'cell', ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const, 'lstm');
  const attention = oneOf(v, 'attention', ['none', 'dot', 'general', 'additive'] as const, 'general');
  const size = { min: 1, max: MAX_ELEMENTS };
  const embedding = integer(v, 'embedding', size) ?? 128;
  const hidden = integer(v, 'hidden', size) ?? 256;
  if (hidden % 2 !== 0) throw new CliError(`--hidden must be even (the bidirectional encoder gives each direction half), received ${hidden}`);
  const encoderLayers = integer(v, 'encoder-layers', { min: 1, max: 64 }) ?? 2;
  const decoderLayers = integer(v, 'decoder-layers', { min: 1, max: 64 }) ?? 1;
  const dropout = number(v, 'dropout', { min: 0, max: 1, maxExclusive: true }) ?? 0.2;
  const batchSize = integer(v, 'batch', size) ?? 64;
  const lr = number(v, 'lr', { min: 0, minExclusive: true }) ?? 2e-3;
  const clip = number(v, 'clip', { min: 0 }) ?? 5;
  const epochsGiven = integer(v, 'epochs', size);
  const maxSeconds = number(v, 'max-seconds', { min: 0, minExclusive: true });
  const patience = integer(v, 'patience', { min: 0, max: MAX_ELEMENTS });
  const validationFraction = number(v, 'validation', { min: 0, max: 1, maxExclusive: true }) ?? 0.05;
  const seed = integer(v, 'seed', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 1;
  const checkpointDir = v['checkpoint-dir'] as string | undefined;
  if (validFile !== undefined && v.validation !== undefined)
    throw new CliError('--valid and --validation both choose the validation pairs; give one', true);
  if (v.resume && checkpointDir === undefined) throw new CliError('--resume needs --checkpoint-dir', true);
  if (checkpointDir !== undefined) checkDirectory('--checkpoint-dir', checkpointDir);
  if (v.resume && !fs.existsSync(path.join(checkpointDir!, 'latest.json')))
    throw new CliError(`--resume: there is no checkpoint in ${checkpointDir} to resume from (no latest.json); run once without --resume to start one`);
  checkWritable('--save', out);
  if (validFile !== undefined) checkReadable(validFile);
  const epochs = epochsGiven ?? (maxSeconds !== undefined || patience !== undefined ? UNBOUNDED_EPOCHS : DEFAULT_EPOCHS);

  // The pairs and their vocabularies (from the training pairs: what validation adds is unknown).
  const all = readPairs(file, sourceTokens, targetTokens);
  const split = validFile !== undefined
    ? { train: all, validation: readPairs(validFile, sourceTokens, targetTokens) }
    : holdOut(all, validationFraction, seed);
  if (patience !== undefined && split.validation === null)
    throw new CliError(`--patience needs validation pairs to watch: give --valid, or a --validation fraction that holds out at least one of the ${all.sources.length} pairs`);
  const sourceVocabulary = vocabularyOf(split.train.sources, sourceTokens);
  const targetVocabulary = vocabularyOf(split.train.targets, targetTokens);
  const train = encodePairs(split.train, sourceVocabulary, targetVocabulary);
  const validation = split.validation && encodePairs(split.validation, sourceVocabulary, targetVocabulary);

  manualSeed(seed);
  const model = new Seq2Seq({
    sourceVocabSize: sourceVocabulary.size, targetVocabSize: targetVocabulary.size, embeddingDim: embedding, hiddenSize: hidden,
    cell, encoderLayers, decoderLayers, bidirectional: true, attention, inputFeeding: attention !== 'none', dropout,
  });
  const held = validation ? `${plural(validation.sources.length, 'pair')} for validation${validFile ? ` from ${validFile}` : ''}` : 'no validation';
  process.stderr.write(
    `${file}: ${plural(train.sources.length, 'pair')} for training, ${held}; vocabularies of ${sourceVocabulary.size} and ${targetVocabulary.size}; ` +
      `training ${model.numParameters().toLocaleString('en-US')} parameters\n`,
  );

  const quiet = v.quiet === true;
  const unit = 'bits/token';
  const reporter = new Reporter({
    unit, epochs: epochsGiven ?? (epochs === UNBOUNDED_EPOCHS ? null : epochs), maxSeconds,
    live: !quiet && Boolean(process.stderr.isTTY), stream: process.stderr, validationNoun: 'pairs',
  });
  const config: TrainingConfig = {
    epochs, batchSize, seed, optimizer: { type: 'Adam', lr }, validationFraction: 0,
    ...(clip > 0 ? { clipGradNorm: clip } : {}),
    // The validation loss is measured three times an epoch. With a time budget the learning
    // rate anneals on a cosine to lr/100 over it (examples/g2p-cmudict's schedule); without
    // one it halves when two measurements in a row have not improved on the best.
    ...(validation ? { validateEvery: Math.max(50, Math.ceil(train.sources.length / batchSize / 3)) } : {}),
    ...(maxSeconds !== undefined
      ? { scheduler: { type: 'CosineAnnealingLR', tMax: 100, etaMin: lr / 100, interval: 'budget' as const } }
      : validation
        ? { scheduler: { type: 'ReduceLROnPlateau', factor: 0.5, patience: 2 } }
        : {}),
    ...(patience !== undefined ? { earlyStopping: { patience } } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    ...(checkpointDir !== undefined ? { checkpointDir, checkpointEvery: 500 } : {}),
    ...(v.resume ? { resumeFrom: checkpointDir } : {}),
  };

  // Ctrl-C stops after the current batch and the model is saved; a second one quits at once.
  const result = await untilInterrupted(reporter, (signal) =>
    fit(model, train, {
      ...config, ...(validation ? { validationData: validation } : {}), progress: false, signal,
      onBatch: (b) => reporter.batch(b),
      onEpoch: quiet ? undefined : (e) => reporter.epoch(e),
    }),
  );

  try {
    saveSeq2Seq(out, model, { source: sourceVocabulary, target: targetVocabulary });
  } catch (err) {
    throw fileError('write', out, err);
  }
  const interrupted = result.reason === 'aborted';
  const last = result.epochs[result.epochs.length - 1];
  let summary = '';
  if (result.reason === 'early-stopping' && Number.isFinite(result.bestValLoss)) summary = `: best val ${bits(result.bestValLoss).toFixed(3)} ${unit}`;
  else if (last && Number.isFinite(last.valLoss) && !interrupted) summary = `: val ${bits(last.valLoss).toFixed(3)} ${unit}`;
  if (validation && !interrupted) summary += `${summary ? ', ' : ': '}${exactMatch(model, validation)}`;
  const batches = result.steps === 1 ? '1 batch' : `${result.steps.toLocaleString('en-US')} batches`;
  process.stdout.write(`saved ${out} after ${batches} (${interrupted ? 'interrupted' : result.reason})${summary}\n`);
  return interrupted ? 130 : 0;
}

/** `exact match 71.3 % (greedy, 1,000 validation pairs)`: the share of outputs right token for token. */
function exactMatch(model: Seq2Seq, validation: Seq2SeqData): string {
  const n = Math.min(EXACT_MATCH_PAIRS, validation.sources.length);
  let right = 0;
  for (let i = 0; i < n; i += 64) {
    const sources = validation.sources.slice(i, Math.min(n, i + 64));
    model.translate(sources, { mode: 'greedy' }).forEach((o, k) => {
      const t = validation.targets[i + k];
      if (o.length === t.length && o.every((x, j) => x === t[j])) right++;
    });
  }
  return `exact match ${((100 * right) / n).toFixed(1)}% (greedy, ${plural(n, 'validation pair')})`;
}
