// `rnn-native classify train`, `predict` and `evaluate`, run as child processes (dist/, built
// by `npx tsc -p tsconfig.build.json`): a model learns the sentiment of generated reviews from
// a TSV file, classifies lines from stdin and from a file as the library does, and reports its
// accuracy with and without the embedding attack; every mistake in the files, the options or
// the model file is one line on stderr naming what is wrong.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateClassifier, LanguageModel, loadSequenceClassifier, saveLanguageModel, Vocabulary } from '../lib';

const ROOT = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-84-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Run = { status: number | null; stdout: string; stderr: string };
function cli(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, ['bin/rnn-native.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60000, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Reviews: filler words around one sentiment word; about 40 % positive. */
function reviews(count: number, seed: number): Array<{ label: string; text: string }> {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const pos = ['great', 'fine', 'good', 'love', 'nice'], neg = ['bad', 'awful', 'poor', 'hate', 'ugly'];
  const filler = ['the', 'a', 'movie', 'was', 'it', 'plot', 'is', 'very', 'and', 'but'];
  return Array.from({ length: count }, () => {
    const label = rand() < 0.4 ? 'pos' : 'neg';
    const words = Array.from({ length: 4 + Math.floor(rand() * 8) }, () => pick(filler));
    words.splice(Math.floor(rand() * words.length), 0, pick(label === 'pos' ? pos : neg));
    if (rand() < 0.5) words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    return { label, text: words.join(' ') + (rand() < 0.5 ? '!' : '.') };
  });
}
const tsv = (rows: Array<{ label: string; text: string }>) => rows.map((r) => `${r.label}\t${r.text}\n`).join('');

const trainFile = path.join(dir, 'train.tsv');
const testFile = path.join(dir, 'test.tsv');
const test = reviews(200, 2);
fs.writeFileSync(trainFile, tsv(reviews(600, 1)));
fs.writeFileSync(testFile, tsv(test));
const modelFile = path.join(dir, 'sentiment.safetensors');
const SMALL = ['--hidden', '16', '--embedding', '16', '--lr', '0.01', '--quiet'];

let trained: Run;
beforeAll(() => {
  trained = cli(['classify', 'train', trainFile, '--save', modelFile, '--epochs', '10', ...SMALL]);
});

/** One line on stderr, `rnn-native: …`, exit code 2, nothing on stdout. */
function expectCleanError(r: Run, message: string | RegExp, stdout = ''): void {
  expect(r.stdout).toBe(stdout);
  const line = r.stderr.split('\n')[0];
  if (typeof message === 'string') expect(line).toBe(`rnn-native: ${message}`);
  else expect(line).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.status).toBe(2);
}

describe('rnn-native classify train / predict / evaluate on generated reviews', () => {
  it('trains, reports, and saves a model with its vocabulary and labels', () => {
    expect(trained.stderr).toContain(`${trainFile}: 540 texts for training, 60 texts for validation; 2 classes (neg, pos); a vocabulary of 24 words; training `);
    expect(trained.status).toBe(0);
    const m = /^saved (.*) after 170 batches \(completed\): val accuracy ([\d.]+)%, macro F1 ([\d.]+)%\n$/.exec(trained.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(modelFile);
    expect(Number(m![2])).toBeGreaterThan(95);
    const { model, vocabulary, labels } = loadSequenceClassifier(modelFile);
    expect(labels).toEqual(['neg', 'pos']);
    expect(model.options).toMatchObject({ hiddenSize: 16, embeddingDim: 16, bidirectional: true, pooling: 'max', normalizeEmbeddings: true, maxLength: 400 });
    expect(vocabulary.lowercase).toBe(true);
    expect(vocabulary.tokenization).toBe('wordpunct');
  });

  it('predicts one label a line from stdin, as the library does; --proba adds each class’s probability', () => {
    const input = test.map((t) => t.text).join('\n') + '\n';
    const r = cli(['classify', 'predict', modelFile], input);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.pop()).toBe('');
    const { model, vocabulary, labels } = loadSequenceClassifier(modelFile);
    const expected = Array.from(model.predict(test.map((t) => vocabulary.encode(t.text, { maxLength: 400 }))), (c) => labels[c]);
    expect(lines).toEqual(expected);
    expect(lines.filter((l, i) => l === test[i].label).length).toBeGreaterThan(190);
    const p = cli(['classify', 'predict', modelFile, '--proba', '--batch', '7'], input);
    const rows = p.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((x) => x[0])).toEqual(expected);
    for (const [label, neg, pos] of rows) {
      expect(neg).toMatch(/^neg:[01]\.\d{4}$/);
      expect(pos).toMatch(/^pos:[01]\.\d{4}$/);
      expect(Number(neg.slice(4)) + Number(pos.slice(4))).toBeCloseTo(1, 3);
      expect(label).toBe(Number(pos.slice(4)) > Number(neg.slice(4)) ? 'pos' : 'neg');
    }
  });

  it('reads --input; an empty line is an error naming it, after the lines before it are answered', () => {
    const file = path.join(dir, 'texts.txt');
    fs.writeFileSync(file, 'It was great!\nawful plot\n   \nnice\n');
    const r = cli(['classify', 'predict', modelFile, '--input', file, '--batch', '1']);
    expectCleanError(r, `${file}:3: the text is empty; each line is one text to classify`, 'pos\nneg\n');
  });

  it('evaluate prints accuracy, per-class figures and the confusion matrix, as evaluateClassifier computes them; --json ends with one JSON line', () => {
    const r = cli(['classify', 'evaluate', modelFile, '--input', testFile, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${testFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: accuracy [\\d.]+% \\(200 examples\\), macro F1 [\\d.]+%$`));
    expect(lines[1]).toBe('  class  precision     recall         F1  support');
    expect(lines[4]).toBe('  confusion (rows: true class, columns: predicted)');
    const json = JSON.parse(lines[lines.length - 1]);
    const { model, vocabulary, labels } = loadSequenceClassifier(modelFile);
    const sequences = test.map((t) => vocabulary.encode(t.text, { maxLength: 400 }));
    const expected = evaluateClassifier(model, { sequences, labels: test.map((t) => labels.indexOf(t.label)) }, { labels });
    expect(json.accuracy).toBeCloseTo(100 * expected.accuracy, 3);
    expect(json.classes.pos.f1).toBeCloseTo(100 * expected.classes.pos.f1, 3);
    expect(json.classes.neg.support + json.classes.pos.support).toBe(200);
    expect(json.confusion).toEqual(expected.confusion);
    expect(json.attack).toBeUndefined();
  });

  it('evaluate --attack adds the accuracy under the embedding attack (default ε, or the one given)', () => {
    const r = cli(['classify', 'evaluate', modelFile, '--attack', '--input', testFile, '--json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(json.attack.epsilon).toBe(2);
    expect(json.attack.accuracy).toBeLessThanOrEqual(json.accuracy);
    expect(r.stdout).toContain('under attack (ε 2): accuracy ');
    const strong = JSON.parse(cli(['classify', 'evaluate', modelFile, '--input', testFile, '--attack', '20', '--json']).stdout.trim().split('\n').pop()!);
    expect(strong.attack.epsilon).toBe(20);
    expect(strong.attack.accuracy).toBeLessThan(json.accuracy);
  });

  it('--adversarial trains adversarially at the default ε, or at the one given, within --max-seconds', () => {
    const out = path.join(dir, 'adv.safetensors');
    const a = cli(['classify', 'train', trainFile, '--save', out, '--adversarial', '--epochs', '2', ...SMALL]);
    expect(a.status).toBe(0);
    expect(a.stderr).toMatch(/training [\d,]+ parameters, adversarially \(ε 2\)\n$/);
    const b = cli(['classify', 'train', trainFile, '--adversarial', '0.5', '--save', out, '--max-seconds', '1', ...SMALL]);
    expect(b.status).toBe(0);
    expect(b.stderr).toContain('adversarially (ε 0.5)');
    expect(b.stdout).toMatch(/^saved .* \(max-seconds\): val accuracy/);
  });
});

describe('rnn-native classify: one line for every mistake', () => {
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const out = path.join(dir, 'never.safetensors');

  it('names the line of a malformed TSV line: no tab, an empty label, an empty text', () => {
    const noTab = write('no-tab.tsv', 'pos\tgood\n\nneg bad\n');
    expectCleanError(cli(['classify', 'train', noTab, '--save', out]), `${noTab}:3: no tab in "neg bad"; each line is label<TAB>text`);
    const noLabel = write('no-label.tsv', 'pos\tgood\n\tbad\n');
    expectCleanError(cli(['classify', 'train', noLabel, '--save', out]), `${noLabel}:2: the label (before the tab) is empty in "\\tbad"`);
    const noText = write('no-text.tsv', 'pos\tgood\nneg\t  \n');
    expectCleanError(cli(['classify', 'train', noText, '--save', out]), `${noText}:2: the text (after the tab) is empty in "neg\\t  "`);
    const empty = write('empty.tsv', '');
    expectCleanError(cli(['classify', 'train', empty, '--save', out]), `${empty} is empty: there are no labelled texts in it`);
    const oneClass = write('one-class.tsv', 'pos\tgood\npos\tnice\n');
    expectCleanError(cli(['classify', 'train', oneClass, '--save', out, '--validation', '0']), `${oneClass}: every text has the label "pos"; a classifier needs at least two classes`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('names an unknown label: in the validation file when training, and in the input of evaluate', () => {
    const valid = write('valid.tsv', 'pos\tgood\nmeh\tso so\n');
    expectCleanError(cli(['classify', 'train', trainFile, '--valid', valid, '--save', out]), `${valid}:2: the label "meh" does not occur in the training texts ("neg", "pos")`);
    expectCleanError(cli(['classify', 'evaluate', modelFile, '--input', valid]), `${valid}:2: unknown label "meh"; the model knows "neg", "pos"`);
  });

  it('names a model file of the wrong kind, and a file that is no model', () => {
    const lm = path.join(dir, 'lm.safetensors');
    saveLanguageModel(lm, new LanguageModel({ vocabSize: 4, hiddenSize: 4 }), Vocabulary.fromText('ab'));
    expectCleanError(cli(['classify', 'predict', lm], 'x\n'), `${lm} is a language model (saved by 'rnn-native train'); classify predict needs a model saved by 'rnn-native classify train'`);
    expectCleanError(cli(['classify', 'evaluate', lm, '--input', testFile]), /is a language model \(saved by 'rnn-native train'\); classify evaluate needs/);
    expectCleanError(cli(['classify', 'predict', trainFile], 'x\n'), new RegExp(`^rnn-native: "${trainFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not an rnn-native model file \\(`));
    expectCleanError(cli(['generate', modelFile]), `${modelFile} is a text classifier (saved by 'rnn-native classify train'); use 'rnn-native classify predict ${modelFile}'`);
    expectCleanError(cli(['seq2seq', 'translate', modelFile], 'x\n'), /is a text classifier \(saved by 'rnn-native classify train'\); seq2seq translate needs/);
  });

  it('names a wrong option or value', () => {
    expectCleanError(cli(['classify', 'train', trainFile]), 'classify train needs --save <file>: where to write the trained model');
    expectCleanError(cli(['classify', 'train', trainFile, '--save', out, '--pooling', 'maxx']), '--pooling must be one of last, mean, max, attention, received "maxx" (did you mean max?)');
    expectCleanError(cli(['classify', 'train', trainFile, '--save', out, '--adversarial', '-1']), '--adversarial must be a number > 0, received "-1"');
    expectCleanError(cli(['classify', 'train', trainFile, '--save', out, '--attack']), "--attack is an option of 'classify evaluate', not of 'classify train'");
    expectCleanError(cli(['classify', 'train', trainFile, '--save', out, '--bidirectional', '--unidirectional']), '--bidirectional and --unidirectional contradict each other; give one');
    expectCleanError(cli(['classify', 'evaluate', modelFile]), 'classify evaluate needs --input <file>: the labelled texts (label<TAB>text) to evaluate on');
    expectCleanError(cli(['classify', 'predict', modelFile, '--probas']), 'unknown option --probas (did you mean --proba?)');
    expectCleanError(cli(['classify', 'predict']), 'classify predict needs exactly one model file, received none');
    expectCleanError(cli(['classify', 'evalute']), 'unknown classify command "evalute": it is train, predict or evaluate (did you mean evaluate?)');
  });
});
