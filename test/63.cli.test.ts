// The command-line tool, bin/rnn-native.js → dist/cli/main.js (built by `npx tsc -p tsconfig.build.json`),
// run as a child process: exit codes, messages, training a model file and sampling from it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LanguageModel, loadLanguageModel, saveLanguageModel, saveSafetensors, Tensor, Vocabulary } from '../lib';

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

describe('rnn-native --help / --version / usage errors', () => {
  it('--help prints the usage and exits 0', () => {
    for (const args of [['--help'], ['-h'], ['help'], ['train', '--help'], ['generate', 'whatever', '-h']]) {
      const r = cli(...args);
      expect([args, r.status]).toEqual([args, 0]);
      expect(r.stdout).toContain('rnn-native train <text file> [options]');
      expect(r.stdout).toContain('rnn-native generate <model> [options]');
      expect(r.stdout).toContain('--max-length <n>');
      expect(r.stderr).toBe('');
    }
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

  it('an unknown command: exit 2 with a message', () => {
    const r = cli('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('rnn-native: unknown command "frobnicate"\nRun \'rnn-native --help\' for usage.\n');
    expect(r.stdout).toBe('');
  });

  it('wrong arguments to train: exit 2 with a message naming the problem', () => {
    const cases: Array<[string[], string | RegExp]> = [
      [['train'], 'rnn-native: train needs exactly one text file'],
      [['train', textFile, textFile], 'train needs exactly one text file'],
      [['train', path.join(dir, 'missing.txt')], `rnn-native: ENOENT: no such file or directory, open '${path.join(dir, 'missing.txt')}'`],
      [['train', textFile, '--hidden', 'abc'], '--hidden must be an integer, received "abc"'],
      [['train', textFile, '--hidden', '8.5'], '--hidden must be an integer, received "8.5"'],
      [['train', textFile, '--lr', 'fast'], '--lr must be a number, received "fast"'],
      [['train', textFile, '--epochs', '0'], 'for epochs but received 0'],
      [['train', textFile, '--tokens', 'bpe'], '--tokens must be char or word, received bpe'],
      [['train', textFile, '--cell', 'tcn'], 'for cell but received "tcn"'],
      [['train', textFile, '--resume'], '--resume needs --checkpoint-dir'],
      [['train', textFile, '--hiden', '8'], /Unknown option '--hiden'/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(...args, '--out', path.join(dir, 'never.safetensors'));
      expect([args, r.status]).toEqual([args, 2]);
      if (typeof msg === 'string') expect(r.stderr).toContain(msg);
      else expect(r.stderr).toMatch(msg);
    }
    expect(fs.existsSync(path.join(dir, 'never.safetensors'))).toBe(false);
  });
});

describe('rnn-native train', () => {
  it('trains on a text file and writes a model file with its vocabulary', () => {
    expect(trained.stderr).toContain(`${TEXT.length} tokens, vocabulary of ${Vocabulary.fromText(TEXT).size}`);
    expect(trained.status).toBe(0);
    expect(trained.stdout).toMatch(new RegExp(`^saved ${modelFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} after \\d+ batches \\(completed\\), validation loss \\d+\\.\\d{4}\\n$`));
    const batches = Number(/after (\d+) batches/.exec(trained.stdout)![1]);
    expect(batches).toBe(Math.ceil((Math.floor(Math.floor(TEXT.length * 0.95) / 4) - 1) / 16));
    const { model, vocabulary } = loadLanguageModel(modelFile);
    expect(model.options).toEqual({ vocabSize: vocabulary!.size, hiddenSize: 16, embeddingDim: 8, numLayers: 1, cell: 'lstm', dropout: 0, tieWeights: false });
    expect(vocabulary!.tokens).toEqual(Vocabulary.fromText(TEXT).tokens);
  });

  it('stops at --max-seconds and still saves the model', () => {
    const out = path.join(dir, 'timed.safetensors');
    const started = Date.now();
    const r = cli('train', textFile, '--out', out, '--epochs', '100000', '--hidden', '8', '--embedding', '8', '--batch-size', '4',
      '--seq-length', '8', '--max-seconds', '0.5', '--quiet', '--tokens', 'word', '--cell', 'gru', '--layers', '2', '--seed', '3');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(max-seconds)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const { model, vocabulary } = loadLanguageModel(out);
    expect(vocabulary!.tokenization).toBe('word');
    expect(model.options).toMatchObject({ cell: 'gru', numLayers: 2, hiddenSize: 8 });
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

  it('wrong arguments to generate: exit 2 with a message', () => {
    const plain = path.join(dir, 'plain.safetensors');
    saveSafetensors(plain, { w: Tensor.zeros([2]) });
    const bare = path.join(dir, 'bare.safetensors');
    saveLanguageModel(bare, new LanguageModel({ vocabSize: 4, hiddenSize: 4 }));
    const cases: Array<[string[], string]> = [
      [['generate'], 'rnn-native: generate needs exactly one model file'],
      [['generate', path.join(dir, 'missing.safetensors')], `ENOENT: no such file or directory, open '${path.join(dir, 'missing.safetensors')}'`],
      [['generate', plain], `loadLanguageModel: ${JSON.stringify(plain)} is not an rnn-native model file (metadata.format is undefined`],
      [['generate', bare], `rnn-native: ${bare} has no vocabulary; it was not saved by 'rnn-native train'`],
      [['generate', modelFile, '--max-length', '1.5'], '--max-length must be an integer, received "1.5"'],
      [['generate', modelFile, '--seed', 'x'], '--seed must be an integer, received "x"'],
      [['generate', modelFile, '--temperature', 'hot'], '--temperature must be a number, received "hot"'],
      [['generate', modelFile, '--temperature', '0'], 'expected a finite number > 0 for temperature but received 0'],
      [['generate', modelFile, '--top-k', '0'], 'for topK but received 0'],
      [['generate', modelFile, '--top-p', '2'], 'for topP but received 2'],
      [['generate', modelFile, '--stop', ''], "--stop must be one token of the model's vocabulary"],
    ];
    for (const [args, msg] of cases) {
      const r = cli(...args);
      expect([args, r.status]).toEqual([args, 2]);
      expect(r.stderr).toContain(msg);
      expect(r.stdout).toBe('');
    }
  });
});
