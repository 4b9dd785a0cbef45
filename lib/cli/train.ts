/**
 * `rnn-native train <text file> [options]`: trains a language model and saves it. Started by
 * `rnn-native launch` (WORLD_SIZE set), every rank joins the process group and trains its
 * share of each batch; rank 0 alone reports, saves and checkpoints. (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LanguageModel } from '../models/language-model';
import { saveLanguageModel } from '../io/model-file';
import { manualSeed } from '../core/random';
import { MAX_ELEMENTS } from '../core/validate';
import { fit } from '../train/fit';
import type { TrainingConfig } from '../train/fit-sync';
import { Vocabulary } from '../data/vocabulary';
import { CliError, integer, number, oneOf, Options, parseWithOne } from './args';
import { checkDirectory, checkWritable, fileError, readText } from './files';
import { HELP } from './help';
import { untilInterrupted } from './interrupt';
import { bits, lossSummary, Reporter } from './report';
import { destroyProcessGroup, getRank, getWorldSize, initProcessGroup } from '../distributed/process-group';

export const TRAIN_OPTIONS: Options = {
  out: { type: 'string' }, tokens: { type: 'string' }, cell: { type: 'string' },
  hidden: { type: 'string' }, embedding: { type: 'string' }, layers: { type: 'string' }, dropout: { type: 'string' },
  tie: { type: 'boolean' }, epochs: { type: 'string' }, 'max-seconds': { type: 'string' }, patience: { type: 'string' },
  'batch-size': { type: 'string' }, 'seq-length': { type: 'string' }, lr: { type: 'string' }, 'weight-decay': { type: 'string' },
  clip: { type: 'string' }, validation: { type: 'string' }, 'checkpoint-dir': { type: 'string' }, resume: { type: 'boolean' },
  seed: { type: 'string' }, quiet: { type: 'boolean' },
};

/**
 * The epoch limit when the run is bounded by --max-seconds or --patience only. The training
 * loop counts epochs and allocates nothing per epoch up front, so a large limit costs nothing.
 */
export const UNBOUNDED_EPOCHS = 1e9;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function train(args: string[], others: Record<string, string>): Promise<number> {
  const parsed = parseWithOne('train', 'one text file', args, TRAIN_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;

  // Every option is checked before any work starts.
  const tokenization = oneOf(v, 'tokens', ['char', 'word'] as const, 'char');
  const cell = oneOf(v, 'cell', ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const, 'lstm');
  const size = { min: 1, max: MAX_ELEMENTS };
  const tie = v.tie === true;
  const hidden = integer(v, 'hidden', size) ?? 256;
  const embedding = integer(v, 'embedding', size) ?? (tie ? hidden : 64);
  if (tie && embedding !== hidden)
    throw new CliError(`--tie needs --embedding equal to --hidden, received --embedding ${embedding} and --hidden ${hidden}`);
  const layers = integer(v, 'layers', size) ?? 1;
  const dropout = number(v, 'dropout', { min: 0, max: 1 }) ?? 0;
  const epochsGiven = integer(v, 'epochs', size);
  const maxSeconds = number(v, 'max-seconds', { min: 0, minExclusive: true });
  const patience = integer(v, 'patience', { min: 0, max: MAX_ELEMENTS });
  const batchSize = integer(v, 'batch-size', size) ?? 32;
  const seqLength = integer(v, 'seq-length', size) ?? 64;
  const lr = number(v, 'lr', { min: 0, minExclusive: true }) ?? 2e-3;
  const weightDecay = number(v, 'weight-decay', { min: 0 }) ?? 0;
  const clip = number(v, 'clip', { min: 0 }) ?? 1;
  const validation = number(v, 'validation', { min: 0, max: 1, maxExclusive: true }) ?? 0.05;
  const seed = integer(v, 'seed', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 1;
  const checkpointDir = v['checkpoint-dir'] as string | undefined;
  const out = (v.out as string | undefined) ?? 'model.safetensors';
  if (v.resume && checkpointDir === undefined) throw new CliError('--resume needs --checkpoint-dir', true);
  if (patience !== undefined && validation === 0)
    throw new CliError('--patience needs validation text to watch, but --validation 0 holds none out');
  if (checkpointDir !== undefined) checkDirectory('--checkpoint-dir', checkpointDir);
  if (v.resume && !fs.existsSync(path.join(checkpointDir!, 'latest.json')))
    throw new CliError(`--resume: there is no checkpoint in ${checkpointDir} to resume from (no latest.json); run once without --resume to start one`);
  checkWritable('--out', out);
  const epochs = epochsGiven ?? (maxSeconds !== undefined || patience !== undefined ? UNBOUNDED_EPOCHS : 1);

  // The text: enough of it for one batch, else a message saying how much is needed.
  const text = readText(file);
  const unitName = tokenization === 'char' ? 'character' : 'word';
  if (text.length === 0) throw new CliError(`${file} is empty: there is no text to train on`);
  const vocab = Vocabulary.fromText(text, tokenization);
  const ids = vocab.encode(text);
  if (ids.length === 0) throw new CliError(`${file} holds no ${unitName}s to train on`);
  const trainLength = validation > 0 ? Math.floor(ids.length * (1 - validation)) : ids.length;
  if (Math.floor(trainLength / batchSize) < 2) {
    const held = validation > 0 ? ` once --validation ${validation} is held out` : '';
    const fix = trainLength >= 2 ? `use --batch-size ${Math.floor(trainLength / 2)} or less, or a longer text` : 'use a longer text';
    throw new CliError(
      `${file} is too short to train on with --batch-size ${batchSize}: it leaves ${plural(trainLength, unitName)} for training${held}, ` +
        `and a batch needs at least ${2 * batchSize} (2 × --batch-size); ${fix}`,
    );
  }
  const unit = `bits/${tokenization}`;

  // A rank of a data-parallel job (rnn-native launch): --batch-size is each rank's share.
  const grouped = process.env.WORLD_SIZE !== undefined;
  if (grouped) await initProcessGroup();
  const lead = !grouped || getRank() === 0;
  manualSeed(seed);
  const model = new LanguageModel({ vocabSize: vocab.size, hiddenSize: hidden, embeddingDim: embedding, numLayers: layers, cell, dropout, tieWeights: tie });
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  const ranks = grouped ? ` on ${getWorldSize()} ranks × batch ${batchSize}` : '';
  if (lead) process.stderr.write(`${file}: ${plural(ids.length, unitName)}, vocabulary of ${vocab.size}; training ${parameters.toLocaleString('en-US')} parameters${ranks}\n`);

  const quiet = v.quiet === true || !lead;
  const reporter = new Reporter({
    unit, epochs: epochsGiven ?? (epochs === 1 ? 1 : null), maxSeconds, live: !quiet && Boolean(process.stderr.isTTY), stream: process.stderr,
  });
  const config: TrainingConfig = {
    epochs, batchSize, seqLength, validationFraction: validation,
    optimizer: weightDecay > 0 ? { type: 'AdamW', lr, weightDecay } : { type: 'Adam', lr },
    ...(clip > 0 ? { clipGradNorm: clip } : {}),
    ...(patience !== undefined ? { earlyStopping: { patience } } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    ...(checkpointDir !== undefined ? { checkpointDir, checkpointEvery: 500 } : {}),
    ...(v.resume ? { resumeFrom: checkpointDir } : {}),
  };

  // Ctrl-C stops after the current batch and the model is saved; a second one quits at once.
  const result = await untilInterrupted(reporter, (signal) =>
    fit(model, ids, {
      ...config, progress: false, signal,
      onBatch: (b) => reporter.batch(b),
      onEpoch: quiet ? undefined : (e) => reporter.epoch(e),
    }),
  );
  if (grouped) await destroyProcessGroup();
  if (!lead) return result.reason === 'aborted' ? 130 : 0; // every rank holds the same weights: rank 0 saves them

  try {
    saveLanguageModel(out, model, vocab);
  } catch (err) {
    throw fileError('write', out, err);
  }
  const interrupted = result.reason === 'aborted';
  const last = result.epochs[result.epochs.length - 1];
  let loss = '';
  if (result.reason === 'early-stopping' && Number.isFinite(result.bestValLoss))
    loss = `: best val ${bits(result.bestValLoss).toFixed(3)} ${unit}, perplexity ${Math.exp(result.bestValLoss).toFixed(2)}`;
  else if (last && !interrupted) loss = `: ${lossSummary(last, unit)}`;
  const batches = result.steps === 1 ? '1 batch' : `${result.steps} batches`;
  process.stdout.write(`saved ${out} after ${batches} (${interrupted ? 'interrupted' : result.reason})${loss}\n`);
  return interrupted ? 130 : 0;
}
