/**
 * The command-line tool: `rnn-native train <text file> [options]` and
 * `rnn-native generate <model> [options]`. @internal
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { LanguageModel } from '../models/language-model';
import { loadLanguageModel, saveLanguageModel } from '../io/model-file';
import { manualSeed } from '../core/random';
import { fit } from '../train/fit';
import { Vocabulary } from '../data/vocabulary';

const HELP = `rnn-native: train recurrent language models and generate text

Usage:
  rnn-native train <text file> [options]     train a language model on a text file
  rnn-native generate <model> [options]      generate text from a trained model
  rnn-native --help | --version

train options:
  --out <file>            where to save the model (default: model.safetensors)
  --tokens char|word      character- or word-level vocabulary (default: char)
  --cell lstm|gru|rnn_tanh|rnn_relu   recurrent cell (default: lstm)
  --hidden <n>            hidden size (default: 256)
  --embedding <n>         embedding size (default: 64)
  --layers <n>            stacked layers (default: 1)
  --dropout <p>           dropout between layers (default: 0)
  --tie                   tie embedding and output weights (needs --embedding = --hidden)
  --epochs <n>            passes over the text (default: 1)
  --batch-size <n>        parallel streams per batch (default: 32)
  --seq-length <n>        BPTT length (default: 64)
  --lr <x>                Adam learning rate (default: 0.002)
  --weight-decay <x>      AdamW weight decay (default: 0, plain Adam)
  --clip <x>              clip the gradient norm (default: 1; 0 disables)
  --validation <f>        fraction of the text held out (default: 0.05)
  --patience <n>          early stopping after n epochs without improvement
  --max-seconds <n>       stop after this many seconds
  --checkpoint-dir <dir>  write checkpoints here (every epoch and every 500 batches)
  --resume                continue from the latest checkpoint in --checkpoint-dir
  --seed <n>              random seed (default: 1)
  --quiet                 no progress bar

generate options:
  --prompt <text>         text to start from (default: the end symbol)
  --max-length <n>        tokens to generate (default: 200)
  --temperature <x>       sampling temperature (default: 1)
  --top-k <n>             sample from the k most likely tokens
  --top-p <x>             nucleus sampling threshold
  --greedy                always take the most likely token
  --samples <n>           how many samples (default: 1)
  --seed <n>              random seed (default: 1)
  --stop <text>           stop at this token (e.g. '\\n'; default: the end symbol)
`;

function fail(message: string): number {
  process.stderr.write(`rnn-native: ${message}\nRun 'rnn-native --help' for usage.\n`);
  return 2;
}

function number(value: string | undefined, name: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new RangeError(`--${name} must be ${integer ? 'an integer' : 'a number'}, received ${JSON.stringify(value)}`);
  return n;
}

async function train(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: 'model.safetensors' }, tokens: { type: 'string', default: 'char' },
      cell: { type: 'string', default: 'lstm' }, hidden: { type: 'string' }, embedding: { type: 'string' },
      layers: { type: 'string' }, dropout: { type: 'string' }, tie: { type: 'boolean', default: false },
      epochs: { type: 'string' }, 'batch-size': { type: 'string' }, 'seq-length': { type: 'string' },
      lr: { type: 'string' }, 'weight-decay': { type: 'string' }, clip: { type: 'string' }, validation: { type: 'string' },
      patience: { type: 'string' }, 'max-seconds': { type: 'string' }, 'checkpoint-dir': { type: 'string' },
      resume: { type: 'boolean', default: false }, seed: { type: 'string' }, quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) return fail('train needs exactly one text file');
  const text = fs.readFileSync(positionals[0], 'utf8');
  const tokenization = values.tokens === 'word' ? 'word' : values.tokens === 'char' ? 'char' : null;
  if (!tokenization) return fail(`--tokens must be char or word, received ${values.tokens}`);
  const vocab = Vocabulary.fromText(text, tokenization);
  const ids = vocab.encode(text);
  manualSeed(number(values.seed, 'seed', 1, true));
  const hidden = number(values.hidden, 'hidden', 256, true);
  const model = new LanguageModel({
    vocabSize: vocab.size, hiddenSize: hidden, embeddingDim: number(values.embedding, 'embedding', values.tie ? hidden : 64, true),
    numLayers: number(values.layers, 'layers', 1, true), cell: values.cell as 'lstm', dropout: number(values.dropout, 'dropout', 0),
    tieWeights: values.tie,
  });
  const weightDecay = number(values['weight-decay'], 'weight-decay', 0);
  const clip = number(values.clip, 'clip', 1);
  const patience = values.patience === undefined ? undefined : number(values.patience, 'patience', 0, true);
  if (values.resume && !values['checkpoint-dir']) return fail('--resume needs --checkpoint-dir');
  process.stderr.write(`${ids.length} tokens, vocabulary of ${vocab.size}; training ${model.parameters().reduce((n, p) => n + p.size, 0)} parameters\n`);
  const result = await fit(model, ids, {
    epochs: number(values.epochs, 'epochs', 1, true), batchSize: number(values['batch-size'], 'batch-size', 32, true),
    seqLength: number(values['seq-length'], 'seq-length', 64, true),
    optimizer: weightDecay > 0 ? { type: 'AdamW', lr: number(values.lr, 'lr', 2e-3), weightDecay } : { type: 'Adam', lr: number(values.lr, 'lr', 2e-3) },
    ...(clip > 0 ? { clipGradNorm: clip } : {}),
    validationFraction: number(values.validation, 'validation', 0.05),
    ...(patience !== undefined ? { earlyStopping: { patience } } : {}),
    ...(values['max-seconds'] !== undefined ? { maxSeconds: number(values['max-seconds'], 'max-seconds', 0) } : {}),
    ...(values['checkpoint-dir'] ? { checkpointDir: values['checkpoint-dir'], checkpointEvery: 500 } : {}),
    ...(values.resume ? { resumeFrom: values['checkpoint-dir'] } : {}),
    progress: !values.quiet && Boolean(process.stderr.isTTY),
    onEpoch: values.quiet || process.stderr.isTTY ? undefined : (e) => process.stderr.write(`epoch ${e.epoch + 1}: val loss ${e.valLoss.toFixed(4)}\n`),
  });
  saveLanguageModel(values.out!, model, vocab);
  const last = result.epochs[result.epochs.length - 1];
  process.stdout.write(`saved ${values.out} after ${result.steps} batches (${result.reason})${last ? `, validation loss ${last.valLoss.toFixed(4)}` : ''}\n`);
  return 0;
}

function generate(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prompt: { type: 'string' }, 'max-length': { type: 'string' }, temperature: { type: 'string' },
      'top-k': { type: 'string' }, 'top-p': { type: 'string' }, greedy: { type: 'boolean', default: false },
      samples: { type: 'string' }, seed: { type: 'string' }, stop: { type: 'string' },
    },
  });
  if (positionals.length !== 1) return fail('generate needs exactly one model file');
  const { model, vocabulary } = loadLanguageModel(positionals[0]);
  if (!vocabulary) return fail(`${positionals[0]} has no vocabulary; it was not saved by 'rnn-native train'`);
  const prompt = values.prompt === undefined ? undefined : vocabulary.encode(values.prompt);
  const samples = number(values.samples, 'samples', 1, true);
  const seed = number(values.seed, 'seed', 1, true);
  let stop = 0;
  if (values.stop !== undefined) {
    const ids = vocabulary.encode(values.stop.replace(/\\n/g, '\n'));
    if (ids.length !== 1 || ids[0] === 1)
      return fail(`--stop must be one token of the model's vocabulary, received ${JSON.stringify(values.stop)}`);
    stop = ids[0];
  }
  for (let i = 0; i < samples; i++) {
    const out = model.generate({
      maxLength: number(values['max-length'], 'max-length', 200, true), seed: seed + i, endToken: stop,
      ...(prompt && prompt.length ? { prompt } : {}), greedy: values.greedy,
      ...(values.temperature !== undefined ? { temperature: number(values.temperature, 'temperature', 1) } : {}),
      ...(values['top-k'] !== undefined ? { topK: number(values['top-k'], 'top-k', 1, true) } : {}),
      ...(values['top-p'] !== undefined ? { topP: number(values['top-p'], 'top-p', 1) } : {}),
    });
    const body = out.length > 0 && out[out.length - 1] === stop ? out.subarray(0, out.length - 1) : out;
    process.stdout.write(`${values.prompt ?? ''}${vocabulary.decode(body)}\n`);
  }
  return 0;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-v') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
      return 0;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return 0;
    }
    if (command === 'train') return await train(rest);
    if (command === 'generate') return generate(rest);
    return fail(`unknown command ${JSON.stringify(command)}`);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}
