// Checkpoint folders written by a process that was killed, or edited by someone else:
// latest.json names only folders the library writes (never "..", never outside the folder,
// for reading and for deleting), the next save sweeps what dead writers left, and every
// file of a checkpoint is checked before anything is applied.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fitSync, LanguageModel, loadSafetensors, manualSeed, saveSafetensors, Tensor, TrainingConfig, Vocabulary } from '../lib';

const TEXT = 'the early bird catches the worm. '.repeat(30);
const vocab = Vocabulary.fromText(TEXT);
const IDS = vocab.encode(TEXT);
const B = 4, T = 8;

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-67-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => fs.mkdtempSync(path.join(root, `d${n++}-`));

function model(seed = 1, extra = {}): LanguageModel {
  manualSeed(seed);
  return new LanguageModel({ vocabSize: vocab.size, hiddenSize: 8, ...extra });
}
const weights = (lm: LanguageModel) => Object.fromEntries(Object.entries(lm.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
const config = (extra: TrainingConfig = {}): TrainingConfig => ({ batchSize: B, seqLength: T, seed: 2, validationFraction: 0, ...extra });
const latestName = (dir: string): string => JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')).checkpoint;

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('latest.json is not trusted as a path', () => {
  const hostile: unknown[] = [
    '..', '.', '../outside', '/etc', 'step-1-epoch-0/../..', 'step-1-epoch-0/', 'step-1-epoch-0\u0000', 'STEP-1-EPOCH-0', 'step--1-epoch-0',
    'latest.json', '', 42, null, ['step-1-epoch-0'], { name: 'step-1-epoch-0' },
  ];

  it('a save into a folder whose latest.json says ".." (or anything else not ours) deletes nothing outside it', () => {
    for (const name of hostile) {
      const parent = fresh();
      const dir = path.join(parent, 'ckpt');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(parent, 'precious.txt'), 'keep me');
      fs.mkdirSync(path.join(parent, 'outside'));
      fs.writeFileSync(path.join(parent, 'outside', 'data.bin'), 'keep me too');
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
      fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ checkpoint: name }));
      fitSync(model(), IDS, config({ checkpointDir: dir, maxBatches: 2 })); // before the fix: ".." deleted `parent`
      expect([name, fs.readFileSync(path.join(parent, 'precious.txt'), 'utf8')]).toEqual([name, 'keep me']);
      expect(fs.readFileSync(path.join(parent, 'outside', 'data.bin'), 'utf8')).toBe('keep me too');
      expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
      expect(latestName(dir)).toBe('step-2-epoch-0');
    }
  });

  it('resuming from such a folder is an Error naming latest.json and what it holds', () => {
    for (const name of hostile) {
      const dir = fresh();
      fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ checkpoint: name }));
      expect(() => fitSync(model(), IDS, config({ resumeFrom: dir }))).toThrow(
        `fit: the checkpoint folder ${JSON.stringify(dir)} is damaged: latest.json must name a checkpoint folder "step-<n>-epoch-<m>" inside it, found`,
      );
    }
    const dir = fresh();
    for (const [text, message] of [
      ['{', /latest\.json is not valid JSON/],
      ['[[[[[[["x"]]]]]]]', /latest\.json nests arrays or objects more than 4 deep/],
      [' '.repeat(5000), /latest\.json is 5000 bytes, more than the 4096 such a file can be/],
      ['{"checkpoint":"step-5-epoch-0"}', /latest\.json names step-5-epoch-0, which does not exist/],
    ] as const) {
      fs.writeFileSync(path.join(dir, 'latest.json'), text);
      expect(() => fitSync(model(), IDS, config({ resumeFrom: dir }))).toThrow(message);
    }
    fs.writeFileSync(path.join(dir, 'step-5-epoch-0'), 'a file');
    expect(() => fitSync(model(), IDS, config({ resumeFrom: dir }))).toThrow(/latest\.json names step-5-epoch-0, which is not a folder/);
  });
});

describe('a save sweeps what killed writers left', () => {
  it('temporary step folders and latest.json temporaries of dead processes, orphaned complete checkpoints; never a live writer\'s', () => {
    const dir = fresh();
    fitSync(model(), IDS, config({ checkpointDir: dir, maxBatches: 1 }));
    const dead = deadPid();
    const live = process.ppid;
    const leftovers: Record<string, boolean> = {
      // name → survives the next save
      [`.step-7-epoch-0.${dead}.0123456789ab.tmp`]: false, // a partial step folder of a killed run
      [`.step-9-epoch-1-2.${dead}.0123456789ab.tmp`]: false,
      [`.step-8-epoch-0.${live}.0123456789ab.tmp`]: true, // a live writer's
      [`.other.${dead}.0123456789ab.tmp`]: true, // a folder with a temporary name that is not a checkpoint's
      'step-99-epoch-3': false, // complete, but latest.json never named it (killed between the rename and latest.json)
      'step-x-epoch-0': true, // not a name we write
      'data': true,
    };
    for (const name of Object.keys(leftovers)) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'model.safetensors'), 'partial');
    }
    const files: Record<string, boolean> = {
      [`.latest.json.${dead}.0123456789ab.tmp`]: false,
      [`latest.json.tmp-${dead}`]: false, // what the previous version's writer left
      [`latest.json.tmp-${live}`]: true,
      'README': true,
    };
    for (const name of Object.keys(files)) fs.writeFileSync(path.join(dir, name), '{}');
    // a symbolic link with a checkpoint's name is not followed nor removed
    const target = fresh();
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    fs.symlinkSync(target, path.join(dir, 'step-50-epoch-0'));

    fitSync(model(), IDS, config({ checkpointDir: dir, maxBatches: 3 }));
    const left = new Set(fs.readdirSync(dir));
    for (const [name, survives] of Object.entries({ ...leftovers, ...files })) expect([name, left.has(name)]).toEqual([name, survives]);
    expect(left.has('step-1-epoch-0')).toBe(false); // the previous checkpoint
    expect(latestName(dir)).toBe('step-3-epoch-0');
    expect(fs.readFileSync(path.join(target, 'keep'), 'utf8')).toBe('x');
    expect(fs.lstatSync(path.join(dir, 'step-50-epoch-0')).isSymbolicLink()).toBe(true);
  });

  it("a checkpoint name taken by another run's latest gets a -<k> suffix; the old one goes once latest.json names the new", () => {
    const dir = fresh();
    fitSync(model(1), IDS, config({ checkpointDir: dir, maxBatches: 2 }));
    const old = loadSafetensors(path.join(dir, 'step-2-epoch-0', 'model.safetensors')).tensors;
    const lm = model(5); // another run, same step count
    fitSync(lm, IDS, config({ checkpointDir: dir, maxBatches: 2 }));
    expect(latestName(dir)).toBe('step-2-epoch-0-2');
    expect(fs.readdirSync(dir).sort()).toEqual(['latest.json', 'step-2-epoch-0-2']);
    const now = loadSafetensors(path.join(dir, 'step-2-epoch-0-2', 'model.safetensors')).tensors;
    expect(Array.from(now['head.bias'].data)).toEqual(weights(lm)['head.bias']);
    expect(Array.from(now['head.bias'].data)).not.toEqual(Array.from(old['head.bias'].data));
    // and it resumes
    const resumed = model(9);
    const r = fitSync(resumed, IDS, config({ resumeFrom: dir, maxBatches: 3 }));
    expect(r.steps).toBe(3);
  });

  it('an orphan under the new checkpoint\'s own name (a kill between its rename and latest.json) is replaced, not suffixed', () => {
    const dir = fresh();
    fitSync(model(1), IDS, config({ checkpointDir: dir, maxBatches: 1 }));
    fs.mkdirSync(path.join(dir, 'step-2-epoch-0'));
    fs.writeFileSync(path.join(dir, 'step-2-epoch-0', 'model.safetensors'), 'from a killed run');
    fitSync(model(1), IDS, config({ checkpointDir: dir, resumeFrom: dir, maxBatches: 2 }));
    expect(fs.readdirSync(dir).sort()).toEqual(['latest.json', 'step-2-epoch-0']);
    expect(latestName(dir)).toBe('step-2-epoch-0');
    expect(Object.keys(loadSafetensors(path.join(dir, 'step-2-epoch-0', 'model.safetensors')).tensors)).toContain('head.bias');
  });

  it('maxBatches right after checkpointEvery writes the checkpoint once (same step, same content)', () => {
    const dir = fresh();
    fitSync(model(), IDS, config({ checkpointDir: dir, checkpointEvery: 3, maxBatches: 3 }));
    expect(fs.readdirSync(dir).sort()).toEqual(['latest.json', 'step-3-epoch-0']); // not step-3-epoch-0-2
    // resuming into the same folder and stopping at once rewrites nothing either
    fitSync(model(), IDS, config({ checkpointDir: dir, resumeFrom: dir, maxBatches: 3 }));
    expect(fs.readdirSync(dir).sort()).toEqual(['latest.json', 'step-3-epoch-0']);
  });
});

describe('resuming checks every file of the checkpoint before applying anything', () => {
  let good: string;
  beforeAll(() => {
    good = fresh();
    // past a whole epoch with validation, so that early stopping keeps best weights (best.safetensors)
    fitSync(model(), IDS, config({ checkpointDir: good, epochs: 3, maxBatches: 33, validationFraction: 0.1, earlyStopping: { patience: 5 }, scheduler: { type: 'StepLR', stepSize: 2 } }));
    expect(fs.readdirSync(path.join(good, latestName(good))).sort()).toEqual(['best.safetensors', 'model.safetensors', 'optimizer.safetensors', 'state.safetensors', 'trainer.json']);
  });
  /** A copy of the good checkpoint folder with `edit` applied to its step folder. */
  function damaged(edit: (step: string) => void): string {
    const dir = fresh();
    fs.cpSync(good, dir, { recursive: true });
    edit(path.join(dir, latestName(dir)));
    return dir;
  }
  const editJson = (file: string, fn: (j: any) => void) => {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    fn(j);
    fs.writeFileSync(file, JSON.stringify(j));
  };
  const resume = (dir: string, lm = model(4), extra: TrainingConfig = {}) =>
    fitSync(lm, IDS, config({ resumeFrom: dir, maxBatches: 4, scheduler: { type: 'StepLR', stepSize: 2 }, ...extra }));

  const cases: Array<[string, (step: string) => void, RegExp]> = [
    ['trainer.json: a negative step', (s) => editJson(path.join(s, 'trainer.json'), (j) => (j.progress.step = -1)), /trainer\.json: progress\.step must be a non-negative integer, found -1/],
    ['trainer.json: a string offset', (s) => editJson(path.join(s, 'trainer.json'), (j) => (j.progress.offset = '3')), /trainer\.json: progress\.offset must be a non-negative integer, found "3"/],
    ['trainer.json: epochs not an array', (s) => editJson(path.join(s, 'trainer.json'), (j) => (j.progress.epochs = {})), /progress\.epochs must be an array/],
    ['trainer.json: a bad rng', (s) => editJson(path.join(s, 'trainer.json'), (j) => (j.rng = [1, 2, 3])), /trainer\.json: rng must be 4 unsigned 32-bit integers, found \[1, 2, 3\]/],
    ['trainer.json: a bad scheduler state', (s) => editJson(path.join(s, 'trainer.json'), (j) => (j.scheduler.lastEpoch = 'x')), /is damaged: trainer\.json: expected .* for scheduler\.lastEpoch but received "x"/],
    ['trainer.json: not JSON', (s) => fs.writeFileSync(path.join(s, 'trainer.json'), '{"progress":'), /trainer\.json: the file is not valid JSON/],
    ['trainer.json: missing', (s) => fs.unlinkSync(path.join(s, 'trainer.json')), /is damaged: trainer\.json: cannot be read \(ENOENT\)/],
    ['optimizer.safetensors: missing', (s) => fs.unlinkSync(path.join(s, 'optimizer.safetensors')), /is damaged: optimizer\.safetensors: cannot be read \(ENOENT\)/],
    ['model.safetensors: an extra tensor', (s) => {
      const f = path.join(s, 'model.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, { ...tensors, extra: Tensor.zeros([1]) }, metadata);
    }, /the model's parameters do not match the tensors in the file: the file holds tensors they do not describe: "extra"/],
    ['model.safetensors: a wrong shape', (s) => {
      const f = path.join(s, 'model.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, { ...tensors, 'head.bias': Tensor.zeros([3]) }, metadata);
    }, /they describe "head\.bias" with shape \[\d+\] \(\d+ values\), the file holds shape \[3\]/],
    ['model.safetensors: text', (s) => fs.writeFileSync(path.join(s, 'model.safetensors'), 'hello, world'), /not a safetensors file/],
    ['optimizer.safetensors: a state array of the wrong size', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, { ...tensors, '0.exp_avg': Tensor.zeros([2]) }, metadata);
    }, /optimizer\.safetensors: tensor "0\.exp_avg" has shape \[2\], expected \[\d+\]/],
    ['optimizer.safetensors: a parameter index out of range', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, { ...tensors, '99.exp_avg': Tensor.zeros([2]) }, metadata);
    }, /optimizer\.safetensors: tensor "99\.exp_avg" is not "<parameter index below 7>\.<state name>"/],
    ['optimizer.safetensors: a prototype-polluting state name', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, { ...tensors, '0.__proto__': Tensor.zeros([2]) }, metadata);
    }, /tensor "0\.__proto__" is not/],
    ['optimizer.safetensors: a string learning rate', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      const groups = JSON.parse(metadata.paramGroups);
      groups[0].lr = 'fast';
      saveSafetensors(f, tensors, { ...metadata, paramGroups: JSON.stringify(groups) });
    }, /optimizer\.safetensors: metadata\.paramGroups\[0\]\.lr must be a finite number ≥ 0, found "fast"/],
    ['optimizer.safetensors: a negative learning rate', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      const groups = JSON.parse(metadata.paramGroups);
      groups[0].betas = [0.9, -1];
      saveSafetensors(f, tensors, { ...metadata, paramGroups: JSON.stringify(groups) });
    }, /metadata\.paramGroups\[0\]\.betas must be an array of 2 finite numbers ≥ 0, found \[0\.9, -1\]/],
    ['optimizer.safetensors: a step count below zero (found by the fuzzer: the native step refused it)', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, tensors, { ...metadata, scalars: JSON.stringify({ 0: { step: -1 } }) });
    }, /metadata\.scalars\[0\]\.step must be a non-negative integer, found -1/],
    ['optimizer.safetensors: a NaN in a moment buffer', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      const key = Object.keys(tensors).sort()[3];
      tensors[key].data[1] = NaN;
      saveSafetensors(f, tensors, metadata);
    }, /optimizer\.safetensors: tensor "\d+\.\w+" holds a NaN or an infinity/],
    ['optimizer.safetensors: a scalar that is not a number', (s) => {
      const f = path.join(s, 'optimizer.safetensors');
      const { tensors, metadata } = loadSafetensors(f);
      saveSafetensors(f, tensors, { ...metadata, scalars: JSON.stringify({ 0: { step: [1] } }) });
    }, /metadata\.scalars\[0\]\.step must be a finite number, found \[1\]/],
    ['state.safetensors: a tensor that is not h or c', (s) => saveSafetensors(path.join(s, 'state.safetensors'), { x: Tensor.zeros([1, B, 8]) }), /state\.safetensors: holds tensors "x", expected none or "c,h"/],
    ['state.safetensors: a wrong hidden size', (s) => saveSafetensors(path.join(s, 'state.safetensors'), { h: Tensor.zeros([1, B, 9]), c: Tensor.zeros([1, B, 9]) }), /tensor [hc] has shape \[1, 4, 9\], expected \[1, batchSize, 8\]/],
    ['best.safetensors: a missing tensor', (s) => {
      const f = path.join(s, 'best.safetensors');
      const { tensors } = loadSafetensors(f);
      delete tensors['head.bias'];
      saveSafetensors(f, tensors);
    }, /best\.safetensors.*missing tensor "head\.bias"/],
  ];
  for (const [name, edit, message] of cases)
    it(`${name}: an Error, and the model is unchanged`, () => {
      const dir = damaged(edit);
      const lm = model(4);
      const before = weights(lm);
      let err: unknown;
      try {
        resume(dir, lm);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/^fit: /);
      expect(weights(lm)).toEqual(before);
    });

  it('a checkpoint for another batch size or optimizer grouping is a RangeError saying what to pass', () => {
    expect(() => resume(good, model(4), { batchSize: 8 })).toThrow(RangeError);
    expect(() => resume(good, model(4), { batchSize: 8 })).toThrow(/carries a hidden state for batchSize 4, not 8: resume with batchSize 4/);
    expect(() => resume(good, model(4), { optimizer: { type: 'Adam', groups: [{ params: ['head'], lr: 1e-3 }] } })).toThrow(
      /has 1 optimizer parameter groups, this optimizer 2: resume with the same optimizer\.groups/,
    );
  });

  it('the untouched checkpoint resumes, and NaN validation losses come back as NaN (JSON stores null)', () => {
    const dir = fresh();
    fitSync(model(), IDS, config({ checkpointDir: dir, epochs: 2, maxBatches: 33 })); // a whole first epoch, no validation data
    const tj = JSON.parse(fs.readFileSync(path.join(dir, latestName(dir), 'trainer.json'), 'utf8'));
    expect(tj.progress.epochs[0].valLoss).toBeNull();
    const r = fitSync(model(4), IDS, config({ resumeFrom: dir, epochs: 2 }));
    expect(Number.isNaN(r.epochs[0].valLoss)).toBe(true);
    expect(() => resume(good)).not.toThrow();
  });
});
