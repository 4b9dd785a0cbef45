// SIGKILL during saves: a child process saves model files (25 MB each) or training
// checkpoints in a loop and is killed at a random moment, again and again into the same
// folder. After every kill the previous (or the new) file must load whole, and temporaries
// must not accumulate: a kill leaves at most the one it interrupted, which the next save
// sweeps. Seeded delays; eight kills, a few seconds (more with RNN_NATIVE_KILL_RUNS).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LanguageModel, saveLanguageModel } from '../lib';
import { parseTemporaryName } from '../lib/io/atomic-write';

const CHILD = path.join(__dirname, 'helpers', 'kill-child.js');
// RNN_NATIVE_KILL_RUNS=50 npx jest test/43 for a longer run
const RUNS = Number(process.env.RNN_NATIVE_KILL_RUNS ?? 4);

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** Runs the child until `delayMs` after it is ready, then SIGKILLs it; resolves with its stdout lines. */
function runAndKill(args: string[], delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!timer && out.startsWith('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended with ${code}/${signal} before the kill: ${err}`));
      else resolve(out.split('\n').filter(Boolean));
    });
  });
}

/** Our temporaries in `dir` (files and folders named `.<name>.<pid>.<hex>.tmp`). */
const temporaries = (dir: string) => fs.readdirSync(dir).filter((n) => parseTemporaryName(n) !== null);

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-43-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Runs a verify mode of the child in a fresh process; returns its output (throws on failure). */
function verify(...args: string[]): string {
  const r = spawnSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`verify ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe('SIGKILL during saves', () => {
  it('model files: the file always loads whole (the previous or the new one); temporaries never accumulate', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'model-'));
    const file = path.join(dir, 'model.safetensors');
    const rand = lcg(43);
    let next = 1;
    for (let run = 0; run < RUNS; run++) {
      const lines = await runAndKill(['model', dir, String(next)], 60 + Math.floor(rand() * 400));
      const saved = lines.filter((l) => l.startsWith('saved ')).map((l) => Number(l.slice(6)));
      const temps = temporaries(dir);
      expect([run, temps]).toEqual([run, temps.slice(0, 1)]); // at most the save this kill interrupted
      if (!fs.existsSync(file)) {
        expect(saved).toEqual([]); // nothing can have been saved yet
        continue;
      }
      const gen = Number(verify('verify-model', dir)); // loads with loadLanguageModel; one value everywhere: not a mix
      const last = saved.length ? saved[saved.length - 1] : next - 1;
      expect([run, gen === last || gen === last + 1]).toEqual([run, true]); // the last reported save, or one whose report the kill cut off
      next = gen + 1;
    }
    // a save after all the kills leaves no temporary at all
    saveLanguageModel(file, new LanguageModel({ vocabSize: 3, hiddenSize: 2 }));
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('checkpoints: latest.json always names a complete checkpoint that resumes; leftovers never accumulate', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'ck-'));
    const rand = lcg(67);
    for (let run = 0; run < RUNS; run++) {
      await runAndKill(['checkpoint', dir, '0'], 100 + Math.floor(rand() * 400));
      const entries = fs.readdirSync(dir);
      const temps = temporaries(dir);
      const steps = entries.filter((n) => /^step-\d+-epoch-\d+(-\d+)?$/.test(n));
      expect([run, temps.length <= 1, steps.length <= 2]).toEqual([run, true, true]); // one interrupted save at most
      for (const t of temps) expect(t).toMatch(/^\.(step-\d+-epoch-\d+|latest\.json)\.\d+\.[0-9a-f]{12}\.tmp$/);
      for (const st of steps) // a folder under a final name is always complete: never a partial one
        expect([st, fs.readdirSync(path.join(dir, st)).sort()]).toEqual([st, ['model.safetensors', 'optimizer.safetensors', 'state.safetensors', 'trainer.json']]);
      expect(entries.filter((n) => !temps.includes(n) && !steps.includes(n) && n !== 'latest.json')).toEqual([]);
      if (!entries.includes('latest.json')) continue;
      const name = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')).checkpoint as string;
      expect(steps).toContain(name);
      const step = Number(/^step-(\d+)/.exec(name)![1]);
      expect(verify('verify-checkpoint', dir)).toBe(`resumed ${step} ${step + 1}`); // every file whole
    }
    // a save after all the kills: exactly one checkpoint and latest.json
    const step = Number(/^step-(\d+)/.exec(JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')).checkpoint)![1]);
    expect(verify('verify-checkpoint', dir, 'save')).toBe(`resumed ${step} ${step + 1}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['latest.json', `step-${step + 1}-epoch-0`]);
  });
});
