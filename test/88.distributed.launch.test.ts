// `rnn-native launch`: the ranks' environment, the exit code of the first failing rank (the
// others stopped), signals passed on, a whole training job through it, and its usage errors.
// Runs bin/rnn-native.js → dist/cli/main.js (built by `npx tsc -p tsconfig.build.json`).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GLOO, RANK_SCRIPT } from './helpers/dist';

const BIN = path.join(__dirname, '..', 'bin', 'rnn-native.js');

/** Runs the launcher to its end; `onStdout` sees its (and its ranks') output as it comes. */
function launch(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, 'launch', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

const jsonLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('rnn-native launch', () => {
  it('gives each rank its environment; a SIGTERM to the launcher reaches every rank', async () => {
    let sent = false;
    const res = await launch(['--nproc', '3', '--', RANK_SCRIPT, 'signal'], (out, child) => {
      if (!sent && jsonLines(out).filter((l) => l.ready).length === 3) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const lines = jsonLines(res.stdout);
    const envs = lines.filter((l) => l.ready).map((l) => l.env).sort((a, b) => Number(a.RANK) - Number(b.RANK));
    expect(envs.map((e) => [e.RANK, e.LOCAL_RANK, e.WORLD_SIZE, e.LOCAL_WORLD_SIZE, e.MASTER_ADDR])).toEqual([
      ['0', '0', '3', '3', '127.0.0.1'], ['1', '1', '3', '3', '127.0.0.1'], ['2', '2', '3', '3', '127.0.0.1'],
    ]);
    expect(new Set(envs.map((e) => e.MASTER_PORT)).size).toBe(1);
    expect(Number(envs[0].MASTER_PORT)).toBeGreaterThan(0);
    expect(lines.filter((l) => l.signal === 'SIGTERM').map((l) => l.rank).sort()).toEqual([0, 1, 2]);
    expect(res.stderr).toContain('rnn-native launch: received SIGTERM: passing it to the ranks');
    expect(res.code).toBe(0); // every rank exited with 0 on it
  });

  it('exits with the first failing rank\'s code and stops the others at once', async () => {
    const res = await launch(['--nproc', '3', '--grace-seconds', '2', '--', RANK_SCRIPT, 'exit', '2', '7']);
    expect(res.code).toBe(7);
    expect(res.stderr).toContain('rnn-native launch: rank 2 exited with code 7; stopping the other ranks');
    expect(res.ms).toBeLessThan(15000); // not the 30 s the other ranks would wait
    expect(jsonLines(res.stdout).some((l) => l.stillRunning)).toBe(false);
  });

  it('a rank ended by a signal gives 128 + its number', async () => {
    const res = await launch(['--nproc', '2', '--', process.execPath, '-e', 'if (process.env.RANK === "1") process.kill(process.pid, "SIGKILL"); else setTimeout(() => {}, 30000)']);
    expect(res.code).toBe(137);
    expect(res.stderr).toContain('rnn-native launch: rank 1 was ended by SIGKILL; stopping the other ranks');
  });

  it('0 when every rank succeeds; a command that cannot start is 127', async () => {
    expect((await launch(['--nproc', '2', '--', process.execPath, '-e', '0'])).code).toBe(0);
    const res = await launch(['--nproc', '1', '--', '/nonexistent/rnn-native-88']);
    expect(res.code).toBe(127);
    expect(res.stderr).toContain('rnn-native launch: rank 0 could not be started (spawn /nonexistent/rnn-native-88 ENOENT)');
  });

  (GLOO ? it : it.skip)('runs a data-parallel training job: both ranks end with the same weights', async () => {
    const res = await launch(['--nproc', '2', '--', RANK_SCRIPT, 'train-lm', '4', 'fit'], undefined, { ...process.env, DIGEST_WEIGHTS: '1' });
    expect(res.code).toBe(0);
    const lines = jsonLines(res.stdout);
    expect(lines.map((l) => l.rank).sort()).toEqual([0, 1]);
    expect(lines[0].weights).toMatch(/^[0-9a-f]{64}$/);
    expect(lines[0].weights).toEqual(lines[1].weights);
    expect(lines[0].losses).toEqual(lines[1].losses);
  });

  (GLOO ? it : it.skip)('runs `rnn-native train` data-parallel: rank 0 alone reports and saves', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-88-'));
    try {
      const text = path.join(dir, 'text.txt');
      fs.writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(100));
      const out = path.join(dir, 'model.safetensors');
      const res = await launch(['--nproc', '2', '--', BIN, 'train', text, '--hidden', '16', '--embedding', '8', '--batch-size', '4', '--seq-length', '16', '--out', out]);
      expect(res.code).toBe(0);
      expect(res.stdout.match(/^saved .*model\.safetensors after \d+ batches \(completed\)/gm)).toHaveLength(1);
      // 28 characters + 2 special tokens = V 30; embedding 30·8, LSTM 4·16·(8 + 16) + 2·4·16,
      // head 16·30 + 30: 240 + 1,664 + 510.
      expect(res.stderr).toContain('vocabulary of 30; training 2,414 parameters on 2 ranks × batch 4');
      expect(fs.statSync(out).size).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const usage: Array<[string[], string]> = [
    [['--', 'node', 'x.js'], 'rnn-native: launch needs --nproc <n>: how many ranks to start on this machine'],
    [['--nproc', '2'], 'rnn-native: launch needs a command after --: rnn-native launch --nproc 2 -- node train.js'],
    [['--nproc', '2', 'train.js'], 'rnn-native: launch: the command goes after --, received "train.js" before it'],
    [['--nproc', '0', '--', 'x'], 'rnn-native: --nproc must be an integer in [1, 1024], received "0"'],
    [['--nproc', '2', '--nnodes', '2', '--', 'x'], 'rnn-native: launch --nnodes 2 needs --master-addr and --master-port'],
    [['--nproc', '2', '--nnodes', '2', '--node-rank', '2', '--master-addr', 'a', '--master-port', '1', '--', 'x'], 'rnn-native: --node-rank must be an integer in [0, 1], received "2"'],
    [['--nprocs', '2', '--', 'x'], 'rnn-native: unknown option --nprocs (did you mean --nproc?)'],
    [['--nproc', '2', '--hidden', '4', '--', 'x'], "rnn-native: --hidden is an option of 'train', not of 'launch'"],
  ];
  it.each(usage)('usage error %j: exit 2 and one line', (args, message) => {
    const r = spawnSync(process.execPath, [BIN, 'launch', ...args], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(message);
  });

  it('--help describes the command', () => {
    const r = spawnSync(process.execPath, [BIN, 'launch', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('rnn-native launch --nproc <n> [options] -- <command> [arguments…]');
  });
});
