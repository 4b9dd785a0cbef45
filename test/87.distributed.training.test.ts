// Data-parallel training: N ranks with batch B end with the weights of one process with batch
// N·B on the same data (to float rounding), for a language model (fit(), the loop on a worker
// thread) and an encoder–decoder (fitSync(), on the main thread); every rank ends with exactly
// the same weights; the ranks' different starting weights are replaced by rank 0's; a rank
// killed mid-training makes the others' fit() reject within the timeout.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GLOO, only, RANK_SCRIPT, runChild, runRanks, skipMessage } from './helpers/dist';
import { inspectSafetensors } from '../lib/io/safetensors';

if (!GLOO) console.warn(skipMessage('test/87'));
const withGloo = GLOO ? describe : describe.skip;

interface Trained {
  rank: number;
  threads: number;
  steps: number;
  valLoss: number[];
  losses: number[];
  weights: Record<string, number[]>;
}

/** One process, no group, batch size B. */
async function alone(mode: string, B: number, how: string): Promise<Trained> {
  const env = { ...process.env };
  for (const k of ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE']) delete env[k];
  return only(await runChild([RANK_SCRIPT, mode, String(B), how], env, 0));
}

/** The largest |a − b| over every parameter, and the largest |a|. */
function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    expect(a[k].length).toBe(b[k].length);
    for (let i = 0; i < a[k].length; i++) {
      diff = Math.max(diff, Math.abs(a[k][i] - b[k][i]));
      scale = Math.max(scale, Math.abs(a[k][i]));
    }
  }
  return { diff, scale };
}

withGloo('data-parallel training equals one process with the whole batch', () => {
  const cases: Array<[string, string, string, number, number]> = [
    ['a language model, fit()', 'train-lm', 'fit', 2, 4],
    ['a language model, fit()', 'train-lm', 'fit', 3, 4],
    ['an encoder–decoder with attention, fitSync()', 'train-s2s', 'fitSync', 2, 4],
    ['an encoder–decoder with attention, fitSync() (some ranks with an empty last share)', 'train-s2s', 'fitSync', 3, 4],
  ];
  it.each(cases)('%s (%s, %s): %i ranks × batch %i', async (_what, mode, how, n, B) => {
    const [reference, ranks] = await Promise.all([alone(mode, n * B, how), runRanks(n, mode, [B, how]).then((rs) => rs.map(only) as Trained[])]);
    // Every rank holds exactly the same weights (the same averaged gradients, the same updates).
    for (const r of ranks.slice(1)) expect(maxDiff(r.weights, ranks[0].weights).diff).toBe(0);
    // Their cores are shared: 2 cores here, so one kernel thread each.
    for (const r of ranks) expect(r.threads).toBe(Math.max(1, Math.floor(require('node:os').cpus().length / n)));
    expect(ranks[0].steps).toBe(reference.steps);
    expect(ranks[0].steps).toBeGreaterThanOrEqual(6);
    // The same losses, step by step (the global mean over every rank's tokens), and the same
    // validation (every rank validates the global batches; rank 0's numbers are shared).
    ranks[0].losses.forEach((l, i) => expect(Math.abs(l - reference.losses[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(reference.losses[i]))));
    ranks[0].valLoss.forEach((l, i) => expect(Math.abs(l - reference.valLoss[i])).toBeLessThan(1e-4));
    const { diff, scale } = maxDiff(ranks[0].weights, reference.weights);
    expect(scale).toBeGreaterThan(0.1);
    expect(diff).toBeLessThan(2e-5 * Math.max(1, scale));
    // and training did move the weights away from rank 0's start in both
    expect(reference.losses[reference.losses.length - 1]).toBeLessThan(reference.losses[0]);
  });
});

withGloo('checkpoints of a data-parallel run', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-87-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rank 0 writes them, with the carried state of the global batch; a resume on 2 ranks continues exactly; 3 ranks are refused', async () => {
    const whole = (await runRanks(2, 'resume', [4, dir, 'whole'])).map(only);
    const first = (await runRanks(2, 'resume', [4, dir, 'first'])).map(only);
    expect(first.map((r) => [r.steps, r.reason])).toEqual([[7, 'max-batches'], [7, 'max-batches']]);
    // One checkpoint folder, written once: its hidden state is (L, 2 ranks × 4 streams, H).
    const latest = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')).checkpoint;
    expect(latest).toBe('step-7-epoch-0');
    const state = inspectSafetensors('test', path.join(dir, latest, 'state.safetensors'));
    expect(state.entries.map((e) => [e.name, e.shape])).toEqual([['c', [2, 8, 16]], ['h', [2, 8, 16]]]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, latest, 'trainer.json'), 'utf8')).worldSize).toBe(2);
    const refused = (await runRanks(3, 'resume', [4, dir, 'rest'])).map(only);
    for (const r of refused) {
      expect(r.name).toBe('RangeError');
      expect(r.error).toContain('was written by a run of 2 ranks, this run has 3: resume with 2 ranks');
    }
    const rest = (await runRanks(2, 'resume', [4, dir, 'rest'])).map(only);
    expect(rest[0].steps).toBe(whole[0].steps);
    expect(maxDiff(rest[0].weights, whole[0].weights).diff).toBe(0);
    expect(maxDiff(rest[1].weights, whole[0].weights).diff).toBe(0);
  });
});

withGloo('a rank killed during training', () => {
  it('the other ranks\' fit() rejects within the timeout, naming a rank gone away', async () => {
    const results = await runRanks(2, 'train-die', [1, 3]);
    expect(results[1].signal).toBe('SIGKILL');
    const res = only(results[0]);
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^fit: another rank has gone away \(its process exited or failed\)/);
    expect(res.lastStep).toBeGreaterThanOrEqual(2);
    expect(results[0].code).toBe(1);
  });
});
