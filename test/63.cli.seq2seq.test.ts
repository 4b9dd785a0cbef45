// `rnn-native seq2seq train` and `seq2seq translate`, run as child processes (dist/, built by
// `npx tsc -p tsconfig.build.json`): a model learns to reverse strings from a TSV file and
// translates them back from stdin and from a file; every mistake in the pairs, the options or
// the model file is one line on stderr naming what is wrong.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSeq2Seq } from '../lib';

const ROOT = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-63s-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Run = { status: number | null; stdout: string; stderr: string };
function cli(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, ['bin/rnn-native.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60000, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Strings over a–e of 2 to 5 letters (a fixed pseudo-random sequence). */
function words(count: number, seed: number): string[] {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, () => Array.from({ length: 2 + Math.floor(rand() * 4) }, () => 'abcde'[Math.floor(rand() * 5)]).join(''));
}
const reverse = (w: string) => [...w].reverse().join('');

const trainFile = path.join(dir, 'reverse.tsv');
fs.writeFileSync(trainFile, words(800, 1).map((w) => `${w}\t${reverse(w)}\n`).join(''));
const modelFile = path.join(dir, 'reverse.safetensors');
const SMALL = ['--hidden', '32', '--embedding', '16', '--encoder-layers', '1', '--batch', '16', '--lr', '0.01', '--quiet'];

let trained: Run;
beforeAll(() => {
  trained = cli(['seq2seq', 'train', trainFile, '--save', modelFile, '--epochs', '8', ...SMALL]);
});

/** One line on stderr, `rnn-native: …`, exit code 2, nothing on stdout. */
function expectCleanError(r: Run, message: string | RegExp): void {
  expect(r.stdout).toBe('');
  const line = r.stderr.split('\n')[0];
  if (typeof message === 'string') expect(line).toBe(`rnn-native: ${message}`);
  else expect(line).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.status).toBe(2);
}

describe('rnn-native seq2seq train / translate on string reversal', () => {
  it('trains, reports, and saves a model that reverses strings', () => {
    expect(trained.stderr).toContain(`${trainFile}: 760 pairs for training, 40 pairs for validation; vocabularies of 7 and 7`);
    expect(trained.status).toBe(0);
    const m = /^saved (.*) after 384 batches \(completed\): val ([\d.]+) bits\/token, exact match ([\d.]+)% \(greedy, 40 validation pairs\)\n$/.exec(trained.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(modelFile);
    expect(Number(m![3])).toBeGreaterThan(80);
    const { model, sourceVocabulary, targetVocabulary } = loadSeq2Seq(modelFile);
    expect(model.options).toMatchObject({ hiddenSize: 32, embeddingDim: 16, encoderLayers: 1, decoderLayers: 1, attention: 'general', cell: 'lstm' });
    expect(sourceVocabulary.tokens).toEqual(['<eos>', '<unk>', 'a', 'b', 'c', 'd', 'e']);
    expect(targetVocabulary.tokenization).toBe('char');
  });

  it('translates lines from stdin, one output line per input line (blank in, blank out), as the library does', () => {
    const tests = words(60, 9);
    const input = [...tests.slice(0, 30), '', ...tests.slice(30)].join('\n') + '\n';
    const r = cli(['seq2seq', 'translate', modelFile], input);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(61);
    expect(lines[30]).toBe('');
    const outputs = [...lines.slice(0, 30), ...lines.slice(31)];
    expect(outputs.filter((o, i) => o === reverse(tests[i])).length).toBeGreaterThan(48);
    const { model, sourceVocabulary, targetVocabulary } = loadSeq2Seq(modelFile);
    const expected = model.translate(tests.map((t) => sourceVocabulary.encode(t)), { beamSize: 5 }).map((o) => targetVocabulary.decode(o));
    expect(outputs).toEqual(expected);
  });

  it('reads --input, decodes greedily with --beam 1, and bounds outputs by --max-length', () => {
    const inputFile = path.join(dir, 'in.txt');
    fs.writeFileSync(inputFile, 'abcde\r\nedcba\r\n'); // CRLF is read as LF
    const r = cli(['seq2seq', 'translate', modelFile, '--input', inputFile, '--beam', '1', '--batch', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2).map((l) => l.length)).toEqual([5, 5]);
    const short = cli(['seq2seq', 'translate', modelFile, '--input', inputFile, '--max-length', '2']);
    expect(short.stdout).toMatch(/^\S{1,2}\n\S{1,2}\n$/);
  });

  it('notes once each source token the model never saw, and still answers', () => {
    const r = cli(['seq2seq', 'translate', modelFile], 'abxx\naz\n');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(3);
    expect(r.stderr).toBe(
      'rnn-native: note: the model never saw "x"; it reads it as the unknown token\n' +
        'rnn-native: note: the model never saw "z"; it reads it as the unknown token\n',
    );
  });

  it('splits on whitespace with --source-tokens/--target-tokens space, and joins outputs with spaces', () => {
    const file = path.join(dir, 'words.tsv'), out = path.join(dir, 'words.safetensors');
    const vocab = ['red', 'green', 'blue', 'cyan'];
    const lines = words(200, 4).map((w) => {
      const src = [...w].map((c) => vocab['abcde'.indexOf(c) % 4]);
      return `${src.join(' ')}\t${[...src].reverse().join('  ')}`; // runs of spaces are one separator
    });
    fs.writeFileSync(file, lines.join('\n'));
    const t = cli(['seq2seq', 'train', file, '--save', out, '--source-tokens', 'space', '--target-tokens', 'space', '--epochs', '1', ...SMALL]);
    expect(t.status).toBe(0);
    const { sourceVocabulary, targetVocabulary } = loadSeq2Seq(out);
    expect(sourceVocabulary.tokens).toEqual(['<eos>', '<unk>', 'blue', 'cyan', 'green', 'red']);
    expect(targetVocabulary.tokenization).toBe('word');
    const r = cli(['seq2seq', 'translate', out], 'red green blue\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^((red|green|blue|cyan)( (red|green|blue|cyan))*)?\n$/);
  });

  it('--max-seconds bounds a run without --epochs, and the model is saved', () => {
    const out = path.join(dir, 'timed.safetensors');
    const t0 = Date.now();
    const r = cli(['seq2seq', 'train', trainFile, '--save', out, '--max-seconds', '1', ...SMALL]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\(max-seconds\)/);
    expect(Date.now() - t0).toBeLessThan(30000);
    expect(fs.existsSync(out)).toBe(true);
  });

  it('--help shows both commands and their options', () => {
    for (const args of [['--help'], ['seq2seq', '--help'], ['seq2seq', 'train', '--help'], ['seq2seq', 'translate', 'x', '-h']]) {
      const r = cli(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('rnn-native seq2seq train <pairs.tsv> --save <model> [options]');
      expect(r.stdout).toContain('--source-tokens char|space');
      expect(r.stdout).toContain('--beam <k>');
    }
  });
});

describe('rnn-native seq2seq: one clear line for each mistake', () => {
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const train = (f: string, ...extra: string[]) => cli(['seq2seq', 'train', f, '--save', path.join(dir, 'never.safetensors'), ...extra]);

  it('names the line and what is wrong with it', () => {
    const noTab = file('notab.tsv', 'ab\tba\n\ncd dc\n');
    expectCleanError(train(noTab), `${noTab}:3: no tab in "cd dc"; each line is source<TAB>target`);
    const twoTabs = file('twotabs.tsv', 'ab\tba\tx\n');
    expectCleanError(train(twoTabs), `${twoTabs}:1: 2 tabs in "ab\\tba\\tx"; each line is source<TAB>target, with one tab`);
    const noSource = file('nosource.tsv', 'ab\tba\n\tba\n');
    expectCleanError(train(noSource), `${noSource}:2: the source (before the tab) is empty in "\\tba"`);
    const noTarget = file('notarget.tsv', 'ab\t   \n');
    expectCleanError(train(noTarget, '--target-tokens', 'space'), `${noTarget}:1: the target (after the tab) is empty in "ab\\t   "`);
    const long = file('long.tsv', `${'x'.repeat(100)}\n`);
    expectCleanError(train(long), `${long}:1: no tab in "${'x'.repeat(57)}..."; each line is source<TAB>target`);
  });

  it('an empty file, a file of blank lines, a missing one', () => {
    const empty = file('empty.tsv', '');
    expectCleanError(train(empty), `${empty} is empty: there are no pairs to train on`);
    const blank = file('blank.tsv', '\n  \n\n');
    expectCleanError(train(blank), `${blank} holds only blank lines: there are no pairs to train on`);
    expectCleanError(train(path.join(dir, 'missing.tsv')), `cannot read ${path.join(dir, 'missing.tsv')}: no such file`);
    const badValid = train(trainFile, '--valid', path.join(dir, 'missing-valid.tsv'));
    expectCleanError(badValid, `cannot read ${path.join(dir, 'missing-valid.tsv')}: no such file`);
  });

  it('options: --save required and writable, ranges, choices, conflicts', () => {
    expectCleanError(cli(['seq2seq', 'train', trainFile]), 'seq2seq train needs --save <file>: where to write the trained model');
    expectCleanError(cli(['seq2seq', 'train', trainFile, '--save', path.join(dir, 'no', 'such', 'dir', 'm.st')]), /^rnn-native: cannot write --save .*: the directory .* does not exist$/);
    expectCleanError(train(trainFile, '--hidden', '33'), '--hidden must be even (the bidirectional encoder gives each direction half), received 33');
    expectCleanError(train(trainFile, '--attention', 'luong'), '--attention must be one of none, dot, general, additive, received "luong"');
    expectCleanError(train(trainFile, '--source-tokens', 'word'), '--source-tokens must be one of char, space, received "word"');
    expectCleanError(train(trainFile, '--lr', '0'), '--lr must be a number > 0, received "0"');
    expectCleanError(train(trainFile, '--valid', trainFile, '--validation', '0.1'), '--valid and --validation both choose the validation pairs; give one');
    expectCleanError(train(trainFile, '--patience', '2', '--validation', '0'), /^rnn-native: --patience needs validation pairs to watch/);
    expectCleanError(train(trainFile, '--beam', '3'), "--beam is an option of 'seq2seq translate', not of 'seq2seq train'");
    expectCleanError(cli(['seq2seq', 'translate', modelFile, '--epochs', '3']), "--epochs is an option of 'seq2seq train', not of 'seq2seq translate'");
    expectCleanError(cli(['seq2seq', 'translate', modelFile, '--beam', '0']), '--beam must be an integer in [1, 1024], received "0"');
    expectCleanError(cli(['seq2seq', 'translat', modelFile]), 'unknown seq2seq command "translat": it is train or translate (did you mean translate?)');
    expectCleanError(cli(['seq2seq', 'translate']), 'seq2seq translate needs exactly one model file, received none');
  });

  it('a model file of the other kind, or not a model', () => {
    const lmText = file('lm.txt', 'the cat sat on the mat. '.repeat(20));
    const lm = path.join(dir, 'lm.safetensors');
    expect(cli(['train', lmText, '--out', lm, '--hidden', '8', '--batch-size', '4', '--quiet']).status).toBe(0);
    expectCleanError(cli(['seq2seq', 'translate', lm], 'abc\n'), `${lm} is a language model (saved by 'rnn-native train'); seq2seq translate needs a model saved by 'rnn-native seq2seq train'`);
    expectCleanError(cli(['generate', modelFile]), `${modelFile} is a Seq2Seq model (saved by 'rnn-native seq2seq train'); use 'rnn-native seq2seq translate ${modelFile}'`);
    expectCleanError(cli(['seq2seq', 'translate', trainFile], 'abc\n'), /is not an rnn-native model file/);
  });
});
