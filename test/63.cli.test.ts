// The command-line tool, bin/rnn-native.js → dist/cli/main.js (built by `npx tsc -p tsconfig.build.json`),
// run as a child process: exit codes, one-line messages for every mistake a user can make, losses
// in bits, runs bounded by time, Ctrl-C, training a model file and sampling from it.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LanguageModel, loadLanguageModel, saveLanguageModel, saveSafetensors, Tensor, Vocabulary } from '../lib';
import { evaluate } from '../lib/train/fit-sync';
import { Reporter } from '../lib/cli/report';

const ROOT = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-63-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/rnn-native.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(30);
const textFile = path.join(dir, 'fox.txt');
fs.writeFileSync(textFile, TEXT);
const modelFile = path.join(dir, 'fox.safetensors');
const TRAIN = ['--epochs', '1', '--hidden', '16', '--embedding', '8', '--batch-size', '4', '--seq-length', '16', '--quiet'];

let trained: { status: number | null; stdout: string; stderr: string };
beforeAll(() => {
  trained = cli('train', textFile, '--out', modelFile, ...TRAIN);
});

/** What `generate` prints for one sample: the prompt, then the text up to (without) the stop token. */
function expected(opts: { seed: number; maxLength: number; stop?: number; prompt?: string; greedy?: boolean; temperature?: number }): string {
  const { model, vocabulary } = loadLanguageModel(modelFile);
  const stop = opts.stop ?? 0;
  const ids = model.generate({
    maxLength: opts.maxLength, seed: opts.seed, endToken: stop, greedy: opts.greedy ?? false,
    ...(opts.prompt ? { prompt: vocabulary!.encode(opts.prompt) } : {}),
    ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
  });
  const body = ids.length > 0 && ids[ids.length - 1] === stop ? ids.subarray(0, ids.length - 1) : ids;
  return `${opts.prompt ?? ''}${vocabulary!.decode(body)}\n`;
}

/** One line on stderr, `rnn-native: …`, with no stack trace (and the --help pointer for usage mistakes). */
function expectCleanError(r: { status: number | null; stdout: string; stderr: string }, message: string, opts: { usage?: boolean; status?: number } = {}): void {
  expect(r.status).toBe(opts.status ?? 2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`rnn-native: ${message}\n${opts.usage ? "Run 'rnn-native --help' for usage.\n" : ''}`);
}

describe('rnn-native --help / --version / usage errors', () => {
  it('--help prints the usage and exits 0', () => {
    for (const args of [['--help'], ['-h'], ['help'], ['train', '--help'], ['generate', 'whatever', '-h'], ['train', 'x', '--hidden', '-h']]) {
      const r = cli(...args);
      expect([args, r.status]).toEqual([args, 0]);
      expect(r.stdout).toContain('rnn-native train <text file> [options]');
      expect(r.stdout).toContain('rnn-native generate <model> [options]');
      expect(r.stdout).toContain('--max-length <n>');
      expect(r.stderr).toBe('');
    }
  });

  it('--help says that --max-seconds alone trains until the time is up, and what the units are', () => {
    const r = cli('--help');
    expect(r.stdout).toMatch(/--max-seconds <x> +stop after this many seconds and save the model; without\n +--epochs, train until the time is up/);
    expect(r.stdout).toMatch(/--epochs <n> +passes over the text \(default: 1, or no limit when --max-seconds/);
    expect(r.stdout).toContain('bits per character (bits per word with --tokens word)');
  });

  it('--version prints the package version', () => {
    const r = cli('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('no arguments: usage and exit 2', () => {
    const r = cli();
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('Usage:');
  });

  it('an unknown command: exit 2, with a suggestion when it looks like a typo', () => {
    expectCleanError(cli('frobnicate'), 'unknown command "frobnicate"', { usage: true });
    expectCleanError(cli('trian', textFile), 'unknown command "trian" (did you mean train?)', { usage: true });
    expectCleanError(cli('generat', modelFile), 'unknown command "generat" (did you mean generate?)', { usage: true });
    expectCleanError(cli('--hidden', '8'), '--hidden is not a command; the first argument is the command: train, generate, seq2seq, classify or launch', { usage: true });
  });

  it('an unknown option: "did you mean", or the command it belongs to; exit 2', () => {
    const out = ['--out', path.join(dir, 'never.safetensors')];
    expectCleanError(cli('train', textFile, '--hiden', '8', ...out), 'unknown option --hiden (did you mean --hidden?)', { usage: true });
    expectCleanError(cli('train', textFile, '--hiden=8', ...out), 'unknown option --hiden (did you mean --hidden?)', { usage: true });
    expectCleanError(cli('train', textFile, '--batchsize', '8', ...out), 'unknown option --batchsize (did you mean --batch-size?)', { usage: true });
    expectCleanError(cli('train', textFile, '--frobnicate', ...out), 'unknown option --frobnicate', { usage: true });
    expectCleanError(cli('train', textFile, '-x', ...out), 'unknown option -x (options start with --; a file name that starts with - goes after --)', { usage: true });
    expectCleanError(cli('train', '-notes.txt', ...out), 'unknown option -notes.txt (options start with --; a file name that starts with - goes after --)', { usage: true });
    expectCleanError(cli('train', ...out, '--', '-notes.txt'), `cannot read -notes.txt: no such file`);
    expectCleanError(cli('train', textFile, '--temperature', '0.5', ...out), "--temperature is an option of 'generate', not of 'train'", { usage: true });
    expectCleanError(cli('generate', modelFile, '--temprature', '0.5'), 'unknown option --temprature (did you mean --temperature?)', { usage: true });
    expectCleanError(cli('generate', modelFile, '--epochs', '2'), "--epochs is an option of 'train', not of 'generate'", { usage: true });
    expect(fs.existsSync(out[1])).toBe(false);
  });

  it('a missing value, or a value given to a flag: exit 2 naming the option', () => {
    const out = ['--out', path.join(dir, 'never.safetensors')];
    expectCleanError(cli('train', textFile, ...out, '--hidden'), '--hidden needs a value', { usage: true });
    expectCleanError(cli('train', textFile, '--hidden', '--quiet', ...out), '--hidden needs a value', { usage: true });
    expectCleanError(cli('train', textFile, '--hidden=', ...out), '--hidden needs a value', { usage: true });
    expectCleanError(cli('train', textFile, '--quiet=yes', ...out), '--quiet takes no value, received "yes"', { usage: true });
    expectCleanError(cli('generate', modelFile, '--max-length'), '--max-length needs a value', { usage: true });
    expectCleanError(cli('train', textFile, textFile, ...out), `train needs exactly one text file, received ${JSON.stringify(textFile)} ${JSON.stringify(textFile)}`, { usage: true });
    expectCleanError(cli('train', ...out), 'train needs exactly one text file, received none', { usage: true });
    expectCleanError(cli('train', textFile, '--resume', ...out), '--resume needs --checkpoint-dir', { usage: true });
    expect(fs.existsSync(out[1])).toBe(false);
  });

  it('every numeric option is range-checked by the CLI: the option, what it must be, what it received', () => {
    const cases: Array<[string[], string]> = [
      [['--hidden', '0'], '--hidden must be an integer ≥ 1, received "0"'],
      [['--hidden', 'abc'], '--hidden must be an integer ≥ 1, received "abc"'],
      [['--hidden', '8.5'], '--hidden must be an integer ≥ 1, received "8.5"'],
      [['--hidden', '1e10'], '--hidden must be an integer in [1, 2147483647], received "1e10"'],
      [['--embedding', '-4'], '--embedding must be an integer ≥ 1, received "-4"'],
      [['--layers', '0'], '--layers must be an integer ≥ 1, received "0"'],
      [['--dropout', '2'], '--dropout must be a number in [0, 1], received "2"'],
      [['--lr', '-1'], '--lr must be a number > 0, received "-1"'],
      [['--lr=-1'], '--lr must be a number > 0, received "-1"'],
      [['--lr', 'fast'], '--lr must be a number > 0, received "fast"'],
      [['--lr', ''], '--lr needs a value'],
      [['--weight-decay', '-0.1'], '--weight-decay must be a number ≥ 0, received "-0.1"'],
      [['--clip', '-1'], '--clip must be a number ≥ 0, received "-1"'],
      [['--epochs', '0'], '--epochs must be an integer ≥ 1, received "0"'],
      [['--batch-size', '0'], '--batch-size must be an integer ≥ 1, received "0"'],
      [['--seq-length', '-3'], '--seq-length must be an integer ≥ 1, received "-3"'],
      [['--validation', '1'], '--validation must be a number in [0, 1), received "1"'],
      [['--patience', '-1'], '--patience must be an integer ≥ 0, received "-1"'],
      [['--max-seconds', '0'], '--max-seconds must be a number > 0, received "0"'],
      [['--max-seconds', 'Infinity'], '--max-seconds must be a number > 0, received "Infinity"'],
      [['--seed', '1.5'], '--seed must be an integer ≥ 0, received "1.5"'],
      [['--tokens', 'bpe'], '--tokens must be one of char, word, received "bpe"'],
      [['--cell', 'lstn'], '--cell must be one of lstm, gru, rnn_tanh, rnn_relu, received "lstn" (did you mean lstm?)'],
      [['--tie', '--embedding', '8', '--hidden', '16'], '--tie needs --embedding equal to --hidden, received --embedding 8 and --hidden 16'],
      [['--patience', '2', '--validation', '0'], '--patience needs validation text to watch, but --validation 0 holds none out'],
    ];
    const out = path.join(dir, 'never.safetensors');
    for (const [args, msg] of cases) {
      const r = cli('train', textFile, ...args, '--out', out);
      expect([args, r.status, r.stderr]).toEqual([args, 2, `rnn-native: ${msg}\n${msg.endsWith('needs a value') ? "Run 'rnn-native --help' for usage.\n" : ''}`]);
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('rnn-native train: files', () => {
  const out = ['--out', path.join(dir, 'never.safetensors')];
  afterAll(() => expect(fs.existsSync(out[1])).toBe(false));

  it('a missing file, a directory, an empty file: one line each, exit 2', () => {
    const missing = path.join(dir, 'missing.txt');
    expectCleanError(cli('train', missing, ...out), `cannot read ${missing}: no such file`);
    expectCleanError(cli('train', dir, ...out), `cannot read ${dir}: it is a directory, not a file`);
    const empty = path.join(dir, 'empty.txt');
    fs.writeFileSync(empty, '');
    expectCleanError(cli('train', empty, ...out), `${empty} is empty: there is no text to train on`);
    const blank = path.join(dir, 'blank.txt');
    fs.writeFileSync(blank, ' \n\t \n');
    expectCleanError(cli('train', blank, '--tokens', 'word', ...out), `${blank} holds no words to train on`);
  });

  it('a text shorter than one batch says how much is needed, and the batch size it suggests works', () => {
    const short = path.join(dir, 'short.txt');
    fs.writeFileSync(short, 'hello world, hello moon. '); // 25 characters: 23 for training
    expectCleanError(cli('train', short, ...out),
      `${short} is too short to train on with --batch-size 32: it leaves 23 characters for training once --validation 0.05 is held out, ` +
        'and a batch needs at least 64 (2 × --batch-size); use --batch-size 11 or less, or a longer text');
    expectCleanError(cli('train', short, '--batch-size', '13', '--validation', '0', ...out),
      `${short} is too short to train on with --batch-size 13: it leaves 25 characters for training, and a batch needs at least 26 (2 × --batch-size); ` +
        'use --batch-size 12 or less, or a longer text');
    const ok = path.join(dir, 'short.safetensors');
    const r = cli('train', short, '--batch-size', '11', '--hidden', '8', '--embedding', '4', '--out', ok, '--quiet');
    expect([r.status, r.stderr.split('\n').length]).toEqual([0, 2]);
    expect(fs.existsSync(ok)).toBe(true);
    const one = path.join(dir, 'one.txt');
    fs.writeFileSync(one, 'a');
    expectCleanError(cli('train', one, '--batch-size', '1', ...out),
      `${one} is too short to train on with --batch-size 1: it leaves 0 characters for training once --validation 0.05 is held out, ` +
        'and a batch needs at least 2 (2 × --batch-size); use a longer text');
  });

  it('--out in a missing directory or naming a directory, --checkpoint-dir naming a file: refused before training', () => {
    const nowhere = path.join(dir, 'no', 'such', 'dir', 'm.safetensors');
    expectCleanError(cli('train', textFile, '--out', nowhere), `cannot write --out ${nowhere}: the directory ${path.dirname(nowhere)} does not exist`);
    expectCleanError(cli('train', textFile, '--out', dir), `cannot write --out ${dir}: it is a directory; give a file name`);
    expectCleanError(cli('train', textFile, '--checkpoint-dir', textFile, ...out), `--checkpoint-dir ${textFile} is a file, not a directory`);
  });
});

describe('rnn-native train', () => {
  it('trains on a text file and writes a model file with its vocabulary', () => {
    expect(trained.stderr).toBe(`${textFile}: ${TEXT.length} characters, vocabulary of ${Vocabulary.fromText(TEXT).size}; training ${
      new LanguageModel({ vocabSize: Vocabulary.fromText(TEXT).size, hiddenSize: 16, embeddingDim: 8 }).parameters().reduce((n, p) => n + p.size, 0).toLocaleString('en-US')
    } parameters\n`);
    expect(trained.status).toBe(0);
    const batches = Number(/after (\d+) batches/.exec(trained.stdout)![1]);
    expect(batches).toBe(Math.ceil((Math.floor(Math.floor(TEXT.length * 0.95) / 4) - 1) / 16));
    const { model, vocabulary } = loadLanguageModel(modelFile);
    expect(model.options).toEqual({ vocabSize: vocabulary!.size, hiddenSize: 16, embeddingDim: 8, numLayers: 1, cell: 'lstm', dropout: 0, tieWeights: false });
    expect(vocabulary!.tokens).toEqual(Vocabulary.fromText(TEXT).tokens);
  });

  it('reports the validation loss in bits per character and its perplexity, computed from the saved model', () => {
    const m = /^saved (.+) after \d+ batches \(completed\): val (\d+\.\d{3}) bits\/char, perplexity (\d+\.\d{2})\n$/.exec(trained.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(modelFile);
    // The same loss fit computes on the held-out 5 %, in nats, converted here independently.
    const { model, vocabulary } = loadLanguageModel(modelFile);
    const ids = vocabulary!.encode(TEXT);
    const nats = evaluate(model, ids.subarray(Math.floor(ids.length * 0.95)), 4, 16);
    expect(m![2]).toBe((nats / Math.log(2)).toFixed(3));
    expect(m![3]).toBe(Math.exp(nats).toFixed(2));
    expect(Number(m![2])).not.toBeCloseTo(nats, 2); // bits, not nats
  });

  it('epoch lines on stderr (not a terminal) in bits/word for a word-level model', () => {
    const out = path.join(dir, 'words.safetensors');
    const r = cli('train', textFile, '--out', out, '--tokens', 'word', '--epochs', '2', '--hidden', '8', '--embedding', '8', '--batch-size', '2', '--seq-length', '8');
    expect(r.status).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`${textFile}: ${TEXT.trim().split(/\s+/).length} words, vocabulary of ${Vocabulary.fromText(TEXT, 'word').size}; training ${
      loadLanguageModel(out).model.parameters().reduce((n, p) => n + p.size, 0).toLocaleString('en-US')} parameters`);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^epoch 1\/2 done in \d+\.\d+ s: train \d+\.\d{3} bits\/word, val \d+\.\d{3} bits\/word, perplexity \d+\.\d{2}$/),
      expect.stringMatching(/^epoch 2\/2 done in \d+\.\d+ s: train \d+\.\d{3} bits\/word, val \d+\.\d{3} bits\/word, perplexity \d+\.\d{2}$/),
    ]);
    expect(r.stdout).toMatch(/^saved .+ after \d+ batches \(completed\): val \d+\.\d{3} bits\/word, perplexity \d+\.\d{2}\n$/);
    expect(r.stderr).not.toMatch(/nats|val loss/);
  });

  it('--max-seconds without --epochs trains epoch after epoch until the time is up', () => {
    const out = path.join(dir, 'timed.safetensors');
    const started = Date.now();
    const r = cli('train', textFile, '--out', out, '--hidden', '8', '--embedding', '8', '--batch-size', '4',
      '--seq-length', '8', '--max-seconds', '1.5', '--tokens', 'word', '--cell', 'gru', '--layers', '2', '--seed', '3');
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    const epochs = r.stderr.split('\n').filter((l) => /^epoch \d+ done/.test(l));
    expect(epochs.length).toBeGreaterThan(1); // the default of one epoch no longer ends the run
    expect(r.stderr).not.toMatch(/epoch \d+\//); // no limit to show
    expect(r.stderr).toMatch(/\nstopped in epoch \d+ after \d+\.\d+ s: train/);
    expect(r.stdout).toMatch(/^saved .+ after \d+ batches \(max-seconds\): val \d+\.\d{3} bits\/word, perplexity \d+\.\d{2}\n$/);
    const { model, vocabulary } = loadLanguageModel(out);
    expect(vocabulary!.tokenization).toBe('word');
    expect(model.options).toMatchObject({ cell: 'gru', numLayers: 2, hiddenSize: 8 });
  });

  it('--max-seconds with --epochs: the epochs still bound the run', () => {
    const r = cli('train', textFile, '--out', path.join(dir, 'bounded.safetensors'), ...TRAIN, '--max-seconds', '60');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ \(completed\): val /);
  });

  it('--patience without --epochs trains until the validation loss stops improving and keeps the best weights', () => {
    const out = path.join(dir, 'patient.safetensors');
    const r = cli('train', textFile, '--out', out, '--hidden', '16', '--embedding', '8', '--batch-size', '4', '--seq-length', '16',
      '--lr', '0.05', '--patience', '0', '--max-seconds', '50');
    expect(r.status).toBe(0);
    const m = /^saved .+ after \d+ batches \(early-stopping\): best val (\d+\.\d{3}) bits\/char, perplexity \d+\.\d{2}\n$/.exec(r.stdout);
    expect(m).not.toBeNull();
    const vals = [...r.stderr.matchAll(/^epoch \d+ done .* val (\d+\.\d{3}) bits\/char/gm)].map((x) => Number(x[1]));
    expect(vals.length).toBeGreaterThanOrEqual(2);
    expect(Number(m![1])).toBe(Math.min(...vals));
    expect(vals[vals.length - 1]).toBeGreaterThanOrEqual(vals[vals.length - 2]); // it stopped at the first epoch that did not improve
  });

  it('Ctrl-C stops after the current batch, saves the model and exits 130', async () => {
    const out = path.join(dir, 'interrupted.safetensors');
    const child = spawn(process.execPath, ['bin/rnn-native.js', 'train', textFile, '--out', out, '--hidden', '16', '--embedding', '8',
      '--batch-size', '4', '--seq-length', '16', '--max-seconds', '50'], { cwd: ROOT });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
        if (/epoch 2 done/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
    });
    expect(Date.now() - started).toBeLessThan(30000);
    expect(code).toBe(130);
    expect(stderr).toContain('rnn-native: stopping after this batch to save the model (Ctrl-C again quits without saving)\n');
    expect(stdout).toMatch(/^saved .+ after \d+ batches \(interrupted\)\n$/);
    expect(loadLanguageModel(out).model.options.hiddenSize).toBe(16);
  });
});

describe('rnn-native train --checkpoint-dir / --resume', () => {
  it('--resume continues where the checkpoint left off; without a checkpoint it is refused up front', () => {
    const ck = path.join(dir, 'ck');
    const empty = path.join(dir, 'ck-empty');
    fs.mkdirSync(empty);
    expectCleanError(cli('train', textFile, '--checkpoint-dir', empty, '--resume', '--out', path.join(dir, 'never.safetensors')),
      `--resume: there is no checkpoint in ${empty} to resume from (no latest.json); run once without --resume to start one`);
    const args = ['--hidden', '16', '--embedding', '8', '--batch-size', '4', '--seq-length', '16', '--checkpoint-dir', ck];
    const first = cli('train', textFile, ...args, '--out', path.join(dir, 'ck1.safetensors'));
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/\nepoch 1\/1 done/);
    const resumed = cli('train', textFile, ...args, '--resume', '--epochs', '3', '--out', path.join(dir, 'ck3.safetensors'));
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).not.toMatch(/epoch 1\/3/);
    expect(resumed.stderr).toMatch(/\nepoch 2\/3 done .*\nepoch 3\/3 done /);
    const batches = (r: typeof first) => Number(/after (\d+) batches/.exec(r.stdout)![1]);
    expect(batches(resumed)).toBe(3 * batches(first)); // the step count carries on from the checkpoint
  });
});

describe('rnn-native generate | head', () => {
  it('a reader that stops early ends generation quietly: exit 0, no stack trace', () => {
    const started = Date.now();
    const r = spawnSync('bash', ['-c', `"${process.execPath}" bin/rnn-native.js generate "${modelFile}" --samples 100000 --max-length 40 | head -n 1; exit "\${PIPESTATUS[0]}"`],
      { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(15000); // it did not generate all 100000 samples
  });
});

describe('the progress line on a terminal', () => {
  const sink = () => {
    const chunks: string[] = [];
    return { chunks, stream: { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream };
  };
  const batch = { epoch: 4, batch: 10, batchesPerEpoch: 10, step: 50, loss: Math.LN2 * 2.5, lr: 0.002, tokensPerSecond: 12345 };

  it('shows the training loss in bits and redraws in place; epoch lines replace it', () => {
    const { chunks, stream } = sink();
    const r = new Reporter({ unit: 'bits/char', epochs: 7, live: true, stream });
    r.batch(batch);
    expect(chunks[0]).toBe('\r\x1b[Kepoch 5/7 [===================>] 100%  train 2.500 bits/char  lr 2.00e-3  12,345 tok/s');
    r.epoch({ epoch: 4, trainLoss: Math.LN2 * 2.5, valLoss: Math.LN2 * 2, perplexity: 4, bitsPerToken: 2, lr: 0.002, seconds: 12.34 });
    expect(chunks[1]).toBe('\r\x1b[Kepoch 5/7 done in 12.3 s: train 2.500 bits/char, val 2.000 bits/char, perplexity 4.00\n');
    r.end();
    expect(chunks).toHaveLength(2);
  });

  it('without an epoch limit it shows none, with --max-seconds the time left', () => {
    const { chunks, stream } = sink();
    const r = new Reporter({ unit: 'bits/word', epochs: null, maxSeconds: 60, live: true, stream });
    r.batch({ ...batch, batch: 5 });
    expect(chunks[0]).toMatch(/^\r\x1b\[Kepoch 5 \[=========> {10}\]  50%  train 2\.500 bits\/word  lr 2\.00e-3  12,345 tok\/s  (60|59) s left$/);
    r.end();
    expect(chunks[1]).toBe('\n');
  });

  it('not a terminal: no progress line at all', () => {
    const { chunks, stream } = sink();
    new Reporter({ unit: 'bits/char', epochs: 1, live: false, stream }).batch(batch);
    expect(chunks).toEqual([]);
  });
});

describe('rnn-native generate', () => {
  it('prints exactly what model.generate gives for the seed: same seed same text, another seed another', () => {
    const a = cli('generate', modelFile, '--seed', '5', '--max-length', '60');
    const b = cli('generate', modelFile, '--seed', '5', '--max-length', '60');
    const c = cli('generate', modelFile, '--seed', '6', '--max-length', '60');
    expect(a.status).toBe(0);
    expect(a.stderr).toBe('');
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
    expect(a.stdout).toBe(expected({ seed: 5, maxLength: 60 }));
    expect(c.stdout).toBe(expected({ seed: 6, maxLength: 60 }));
    expect(a.stdout.length).toBeGreaterThan(5);
  });

  it('--samples n prints n samples with seeds seed, seed + 1, …', () => {
    const r = cli('generate', modelFile, '--seed', '5', '--max-length', '30', '--samples', '3');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected({ seed: 5, maxLength: 30 }) + expected({ seed: 6, maxLength: 30 }) + expected({ seed: 7, maxLength: 30 }));
  });

  it('--prompt, --greedy and --temperature reach the model', () => {
    const g = cli('generate', modelFile, '--greedy', '--prompt', 'the quick ', '--max-length', '25');
    expect(g.status).toBe(0);
    expect(g.stdout.startsWith('the quick ')).toBe(true);
    expect(g.stdout).toBe(expected({ seed: 1, maxLength: 25, greedy: true, prompt: 'the quick ' }));
    const t = cli('generate', modelFile, '--seed', '2', '--temperature', '0.5', '--max-length', '40');
    expect([t.status, t.stderr]).toEqual([0, '']);
    expect(t.stdout).toBe(expected({ seed: 2, maxLength: 40, temperature: 0.5 }));
    expect(t.stdout).not.toBe(expected({ seed: 2, maxLength: 40 }));
  });

  it('--stop ends each sample at that token, which is not printed', () => {
    const { vocabulary } = loadLanguageModel(modelFile);
    const space = vocabulary!.encode(' ')[0];
    const r = cli('generate', modelFile, '--seed', '9', '--max-length', '50', '--stop', ' ', '--samples', '4');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    for (const line of lines.slice(0, 4)) expect(line).not.toContain(' ');
    expect(r.stdout).toBe([9, 10, 11, 12].map((seed) => expected({ seed, maxLength: 50, stop: space })).join(''));

    // '\n' given as the two characters backslash-n means a newline
    const linesFile = path.join(dir, 'names.txt');
    fs.writeFileSync(linesFile, 'anna\nbob\ncarl\ndora\nemil\n'.repeat(40));
    const namesModel = path.join(dir, 'names.safetensors');
    expect(cli('train', linesFile, '--out', namesModel, ...TRAIN).status).toBe(0);
    const n = cli('generate', namesModel, '--seed', '1', '--max-length', '40', '--stop', '\\n', '--samples', '5');
    expect(n.status).toBe(0);
    const names = n.stdout.split('\n');
    expect(names).toHaveLength(6); // one line per sample: no sample ran past a newline
    const nl = loadLanguageModel(namesModel);
    const want = [1, 2, 3, 4, 5].map((seed) => {
      const ids = nl.model.generate({ maxLength: 40, seed, endToken: nl.vocabulary!.encode('\n')[0] });
      const body = ids[ids.length - 1] === nl.vocabulary!.encode('\n')[0] ? ids.subarray(0, ids.length - 1) : ids;
      return `${nl.vocabulary!.decode(body)}\n`;
    });
    expect(n.stdout).toBe(want.join(''));
  });

  it('a word-level model: one space between the prompt and the words that follow', () => {
    const words = path.join(dir, 'words-gen.safetensors');
    expect(cli('train', textFile, '--out', words, '--tokens', 'word', ...TRAIN).status).toBe(0);
    const { model, vocabulary } = loadLanguageModel(words);
    const r = cli('generate', words, '--prompt', 'the quick', '--max-length', '6', '--seed', '4');
    expect([r.status, r.stderr]).toEqual([0, '']);
    const ids = model.generate({ maxLength: 6, seed: 4, endToken: 0, prompt: vocabulary!.encode('the quick') });
    const body = ids[ids.length - 1] === 0 ? ids.subarray(0, ids.length - 1) : ids;
    expect(body.length).toBeGreaterThan(0);
    expect(r.stdout).toBe(`the quick ${vocabulary!.decode(body)}\n`);
  });

  it('a prompt with tokens the model never saw: a note on stderr, the sample still printed', () => {
    const r = cli('generate', modelFile, '--prompt', 'QUIZ the', '--max-length', '10', '--seed', '2');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('rnn-native: note: the model never saw "Q", "U", "I", "Z" from --prompt; it reads them as the unknown token\n');
    expect(r.stdout).toBe(expected({ seed: 2, maxLength: 10, prompt: 'QUIZ the' }));
  });

  it('a prompt that starts with a dash is text, not an option', () => {
    const r = cli('generate', modelFile, '--prompt', '-the', '--max-length', '10', '--seed', '2');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('rnn-native: note: the model never saw "-" from --prompt; it reads it as the unknown token\n');
    expect(r.stdout).toBe(expected({ seed: 2, maxLength: 10, prompt: '-the' }));
  });

  it('wrong arguments to generate: exit 2 with one line naming the problem', () => {
    const plain = path.join(dir, 'plain.safetensors');
    saveSafetensors(plain, { w: Tensor.zeros([2]) });
    const bare = path.join(dir, 'bare.safetensors');
    saveLanguageModel(bare, new LanguageModel({ vocabSize: 4, hiddenSize: 4 }));
    const missing = path.join(dir, 'missing.safetensors');
    const cases: Array<[string[], string, boolean?]> = [
      [['generate'], 'generate needs exactly one model file, received none', true],
      [['generate', missing], `cannot read ${missing}: no such file`],
      [['generate', dir], `cannot read ${dir}: it is a directory, not a file`],
      [['generate', bare], `${bare} has no vocabulary; it was not saved by 'rnn-native train'`],
      [['generate', modelFile, '--max-length', '1.5'], '--max-length must be an integer ≥ 1, received "1.5"'],
      [['generate', modelFile, '--max-length', '0'], '--max-length must be an integer ≥ 1, received "0"'],
      [['generate', modelFile, '--seed', 'x'], '--seed must be an integer ≥ 0, received "x"'],
      [['generate', modelFile, '--temperature', 'hot'], '--temperature must be a number > 0, received "hot"'],
      [['generate', modelFile, '--temperature', '0'], '--temperature must be a number > 0, received "0"'],
      [['generate', modelFile, '--temperature', '-1'], '--temperature must be a number > 0, received "-1"'],
      [['generate', modelFile, '--top-k', '0'], '--top-k must be an integer ≥ 1, received "0"'],
      [['generate', modelFile, '--top-p', '2'], '--top-p must be a number in (0, 1], received "2"'],
      [['generate', modelFile, '--samples', '0'], '--samples must be an integer ≥ 1, received "0"'],
      [['generate', modelFile, '--stop', ''], `--stop must be one token of the model's vocabulary, received ""`],
      [['generate', modelFile, '--stop', 'ab'], `--stop must be one token of the model's vocabulary, received "ab"`],
    ];
    for (const [args, msg, usage] of cases) expectCleanError(cli(...args), msg, { usage });
  });

  it("a file that is not a model: the loader's message on one line, no stack trace", () => {
    const plain = path.join(dir, 'plain.safetensors');
    saveSafetensors(plain, { w: Tensor.zeros([2]) });
    for (const file of [plain, textFile, path.join(dir, 'empty.txt')]) {
      if (!fs.existsSync(file)) fs.writeFileSync(file, '');
      const r = cli('generate', file);
      expect([file, r.status]).toEqual([file, 2]);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^rnn-native: \S.*\n$/); // one line
      expect(r.stderr).toContain(file);
      expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    }
    expect(cli('generate', plain).stderr).toContain(`${JSON.stringify(plain)} is not an rnn-native model file (metadata.format is undefined`);
    // a text file is said to be one, not "header length … is over the limit"
    const text = cli('generate', textFile).stderr;
    expect(text).toContain(`${JSON.stringify(textFile)} is not an rnn-native model file (not a safetensors file: header length `);
    expect(text).not.toContain('over the limit');
  });
});
