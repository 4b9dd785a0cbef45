/**
 * Training checkpoints: writing them so that a crash or a kill at any moment leaves the
 * previous one whole, sweeping what killed writers leave, and reading them back with every
 * name, shape and field checked before anything is applied.
 *
 * A checkpoint folder holds one checkpoint `step-<n>-epoch-<m>/` (model.safetensors,
 * optimizer.safetensors, state.safetensors, best.safetensors when early stopping keeps best
 * weights, trainer.json) and `latest.json`, `{"checkpoint": "step-<n>-epoch-<m>"}`. A save:
 *   1. removes the leftovers of writers that no longer run: temporary step folders and
 *      temporary files (names carrying the writer's pid, see io/atomic-write.ts);
 *   2. writes the new step folder under a temporary name, every file fsynced, fsyncs it and
 *      renames it to its final name (a folder of that name that latest.json does not name is
 *      removed first; `-<k>` is appended when latest.json names it);
 *   3. replaces latest.json atomically (temporary file, fsync, rename, folder fsync);
 *   4. removes every other checkpoint folder (the previous one, and any a kill orphaned),
 *      each renamed to a temporary name before its files are removed.
 * A kill can therefore leave at most one temporary step folder (being written, or being
 * removed) or one temporary latest.json (swept by step 1 of the next save), or one complete
 * step folder that latest.json does not name yet (removed by step 4). latest.json always names
 * a complete checkpoint, and a folder under a checkpoint's name is always complete.
 * (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Optimizer } from '../optim/optimizers';
import * as schedulers from '../optim/schedulers';
import { defaultGenerator } from '../core/random';
import { Tensor } from '../core/tensor';
import { show } from '../core/validate';
import { encodeSafetensors, inspectSafetensors, SafetensorsHeader } from '../io/safetensors';
import { isStale, sweepStaleTemporaries, syncFolder, temporaryName, writeError, writeFileAtomic, writeFileSynced } from '../io/atomic-write';
import { checkLayout, isJsonObject, parseJsonField, showJson } from '../io/model-layout';
import type { PreparedTask, TrainableModel, TrainingTask } from './task';
import type { EpochInfo } from './types';
import { allFinite } from './non-finite';

/** The only folder names a checkpoint folder may have: what saveCheckpoint writes. */
export const CHECKPOINT_NAME = /^step-[0-9]{1,16}-epoch-[0-9]{1,16}(?:-[0-9]{1,6})?$/;
const LEGACY_LATEST_TEMP = /^latest\.json\.tmp-([1-9][0-9]{0,9})$/;
const MAX_LATEST_BYTES = 4096;
const MAX_TRAINER_BYTES = 64 << 20;

/** Where a run is, saved in trainer.json. */
export interface Progress {
  epoch: number;
  offset: number; // batches done in the current epoch
  step: number;
  bestValLoss: number;
  badEpochs: number;
  epochs: EpochInfo[];
  epochLossSum: number;
  epochTokens: number;
  /** Steps skipped for a non-finite loss or gradient (nonFinite: 'skip'). */
  skippedSteps: number;
}

/** What a checkpoint holds besides the model. */
export interface CheckpointParts {
  optimizer: Optimizer<any>;
  scheduler: schedulers.LRScheduler | null;
  progress: Progress;
  /** What the task carries across batches (a language model's hidden state), by name. */
  state: Record<string, Tensor>;
  best: Float32Array[] | null;
  /** The ranks of the run (1 without a process group): a resume must have as many. */
  worldSize: number;
}

/**
 * Removes what killed writers left in a checkpoint folder: temporary step folders and
 * temporary files of processes that no longer run, and the `latest.json.tmp-<pid>` files of
 * earlier versions. Returns the names removed.
 */
export function sweepCheckpointFolder(dir: string): string[] {
  const removed = sweepStaleTemporaries(dir, (base) => CHECKPOINT_NAME.test(base));
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    /* nothing to sweep */
  }
  for (const name of names) {
    const m = LEGACY_LATEST_TEMP.exec(name);
    if (!m) continue;
    try {
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      if (st.isFile() && isStale(Number(m[1]), st.mtimeMs)) {
        fs.unlinkSync(full);
        removed.push(name);
      }
    } catch {
      /* gone already */
    }
  }
  return removed;
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes a checkpoint of `model` and `parts` into `dir` (see the file comment). Returns its folder name. */
export function saveCheckpoint(ctx: string, dir: string, model: TrainableModel, parts: CheckpointParts): string {
  const { optimizer, scheduler, progress, state, best, worldSize } = parts;
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw writeError(ctx, path.join(dir, 'latest.json'), err);
  }
  sweepCheckpointFolder(dir);
  const base = `step-${progress.step}-epoch-${progress.epoch}`;
  // A folder of that name that latest.json does not name is an orphan of a kill: it goes. One
  // that latest.json names (another run into this folder stopped at the same step) must stay
  // until the new latest.json is in place, so the new checkpoint takes the next free suffix.
  const named = currentLatest(dir);
  let name = base;
  if (name !== named && exists(path.join(dir, name))) removeFolder(dir, name);
  for (let k = 2; exists(path.join(dir, name)); k++) name = `${base}-${k}`;
  const final = path.join(dir, name);
  const tmp = path.join(dir, temporaryName(name));

  // Everything is encoded before the folder exists: a validation error leaves nothing behind.
  const files: Array<[string, Uint8Array[]]> = [];
  files.push(['model.safetensors', encodeSafetensors(ctx, model.stateDict(), { options: JSON.stringify(model.options) })]);
  const os = optimizer.stateDict();
  const arrays: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number>> = {};
  for (const [idx, st] of Object.entries(os.state))
    for (const [k, v] of Object.entries(st)) {
      if (v instanceof Float32Array) arrays[`${idx}.${k}`] = new Tensor(v, [v.length]);
      else (scalars[idx] ??= {})[k] = v;
    }
  files.push(['optimizer.safetensors', encodeSafetensors(ctx, arrays, { scalars: JSON.stringify(scalars), paramGroups: JSON.stringify(os.paramGroups) })]);
  files.push(['state.safetensors', encodeSafetensors(ctx, state)]);
  if (best) {
    const named = model.namedParameters();
    files.push(['best.safetensors', encodeSafetensors(ctx, Object.fromEntries(named.map(([n, p], k) => [n, new Tensor(best[k], p.shape.slice())])))]);
  }
  const trainer = {
    progress: { ...progress, bestValLoss: Number.isFinite(progress.bestValLoss) ? progress.bestValLoss : null },
    rng: defaultGenerator.getState(),
    scheduler: scheduler ? scheduler.stateDict() : null,
    ...(worldSize > 1 ? { worldSize } : {}),
  };
  files.push(['trainer.json', [Buffer.from(JSON.stringify(trainer), 'utf8')]]);

  let current = final;
  try {
    current = tmp;
    fs.mkdirSync(tmp);
    for (const [file, chunks] of files) {
      current = path.join(final, file);
      writeFileSynced(path.join(tmp, file), chunks);
    }
    current = final;
    syncFolder(tmp);
    fs.renameSync(tmp, final);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw writeError(ctx, current, err);
  }
  syncFolder(dir);
  writeFileAtomic(ctx, path.join(dir, 'latest.json'), [Buffer.from(JSON.stringify({ checkpoint: name }), 'utf8')]);
  // The previous checkpoint, and any complete one a kill left unnamed. Each is renamed to a
  // temporary name first: a kill while its files are removed leaves a temporary folder (swept
  // by the next save), never a partial folder under a checkpoint's name.
  for (const other of fs.readdirSync(dir)) if (other !== name && CHECKPOINT_NAME.test(other)) removeFolder(dir, other);
  return name;
}

/** The checkpoint latest.json names, if it is a valid name, else null. Never throws. */
function currentLatest(dir: string): string | null {
  try {
    const file = path.join(dir, 'latest.json');
    if (fs.statSync(file).size > MAX_LATEST_BYTES) return null;
    const name = (JSON.parse(fs.readFileSync(file, 'utf8')) as { checkpoint?: unknown }).checkpoint;
    return typeof name === 'string' && CHECKPOINT_NAME.test(name) ? name : null;
  } catch {
    return null;
  }
}

/**
 * Removes the checkpoint folder `dir/name` (a real folder, never a link), renaming it to a
 * temporary name first so that a kill part-way leaves no partial folder under its name.
 */
function removeFolder(dir: string, name: string): void {
  const full = path.join(dir, name);
  try {
    if (!fs.lstatSync(full).isDirectory()) return;
    const doomed = path.join(dir, temporaryName(name));
    fs.renameSync(full, doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
  } catch {
    /* gone already, or not ours to remove */
  }
}

/** What loadCheckpoint found, validated, ready to apply. */
export interface LoadedCheckpoint {
  /** The checkpoint's folder. */
  folder: string;
  best: Float32Array[] | null;
}

/** Reads a small JSON file whose size and nesting are bounded, or fails. */
function readJson(file: string, label: string, maxBytes: number, maxDepth: number, fail: (msg: string) => never): unknown {
  let text: string;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    return fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size > maxBytes) fail(`${label} is ${size} bytes, more than the ${maxBytes} such a file can be`);
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, done);
      if (n <= 0) break;
      done += n;
    }
    text = buf.subarray(0, done).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  return parseJsonField(text, label, fail, { maxDepth });
}

/** The folder `latest.json` in `dir` names, checked to be one this library writes. */
export function latestCheckpoint(ctx: string, dir: string): string {
  const file = path.join(dir, 'latest.json');
  if (!exists(file)) {
    let reason: string;
    try {
      fs.accessSync(file);
      reason = 'latest.json is unreadable';
    } catch (err) {
      reason = (err as Error).message;
    }
    throw new Error(`${ctx}: no checkpoint to resume from in ${dir} (${reason})`);
  }
  const fail = (msg: string): never => {
    throw new Error(`${ctx}: the checkpoint folder ${JSON.stringify(dir)} is damaged: ${msg}`);
  };
  const json = readJson(file, 'latest.json', MAX_LATEST_BYTES, 4, fail);
  const name = isJsonObject(json) ? json.checkpoint : undefined;
  if (typeof name !== 'string' || !CHECKPOINT_NAME.test(name))
    fail(`latest.json must name a checkpoint folder "step-<n>-epoch-<m>" inside it, found ${showJson(isJsonObject(json) ? json.checkpoint : json)}`);
  const folder = path.join(dir, name as string);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(folder);
  } catch {
    fail(`latest.json names ${name}, which does not exist`);
  }
  if (!st!.isDirectory()) fail(`latest.json names ${name}, which is not a folder`);
  return folder;
}

const SAFE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

function isUint32Array4(v: unknown): v is number[] {
  return Array.isArray(v) && v.length === 4 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32);
}

/**
 * Reads the latest checkpoint in `dir` into `model`, `parts.optimizer`, `parts.scheduler`,
 * `parts.progress`, the task's carried state and the default generator. Everything is read
 * and checked first (names and shapes against the model's layout, every field of
 * trainer.json, the optimizer's groups and state, the carried state by the task); only then is
 * anything applied. A checkpoint of another model or batch size is a RangeError; a damaged one
 * an Error saying which file and what is wrong.
 */
export function loadCheckpoint<M extends TrainableModel>(
  ctx: string, dir: string, model: M, task: TrainingTask<M, any>, run: PreparedTask<unknown>, parts: Omit<CheckpointParts, 'state' | 'best'>,
): LoadedCheckpoint {
  const { optimizer, scheduler, progress, worldSize } = parts;
  const folder = latestCheckpoint(ctx, dir);
  const damaged = (file: string) => (msg: string): never => {
    throw new Error(`${ctx}: the checkpoint ${JSON.stringify(folder)} is damaged: ${file}: ${msg}`);
  };
  const open = (file: string): SafetensorsHeader => {
    const full = path.join(folder, file);
    try {
      fs.accessSync(full, fs.constants.R_OK);
    } catch (err) {
      damaged(file)(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return inspectSafetensors(ctx, full);
  };
  const layout = () => task.layout(model);

  // model.safetensors: the same model, exactly its parameters
  const m = open('model.safetensors');
  if (m.metadata.options !== JSON.stringify(model.options))
    throw new RangeError(`${ctx}: the checkpoint in ${folder} is of a model with options ${m.metadata.options}, not ${JSON.stringify(model.options)}`);
  checkLayout(m, layout(), "the model's parameters");

  // optimizer.safetensors: state arrays `<param index>.<key>` of the parameters' sizes, indexed
  // as the optimizer numbers its parameters (across its groups; frozen parameters are not in it)
  const params = optimizer.paramGroups.flatMap((g) => g.params);
  const o = open('optimizer.safetensors');
  const badOpt = damaged('optimizer.safetensors');
  // The grouping first: a checkpoint grouped otherwise numbers its state otherwise, and says so.
  const groupsJson = parseJsonField(o.metadata.paramGroups, 'metadata.paramGroups', badOpt, { maxDepth: 4 });
  const live = optimizer.stateDict().paramGroups;
  if (!Array.isArray(groupsJson) || groupsJson.length !== live.length)
    throw new RangeError(`${ctx}: the checkpoint in ${folder} has ${Array.isArray(groupsJson) ? groupsJson.length : 'no'} optimizer parameter groups, this optimizer ${live.length}: resume with the same optimizer.groups`);
  const groups = groupsJson as unknown[];
  groups.forEach((g, gi) => {
    if (!isJsonObject(g)) return badOpt(`metadata.paramGroups[${gi}] must be an object`);
    const mine = live[gi];
    const ps = g.params;
    if (!Array.isArray(ps) || ps.length !== (mine.params as number[]).length || ps.some((v, i) => v !== (mine.params as number[])[i]))
      throw new RangeError(`${ctx}: the checkpoint in ${folder} groups the parameters differently (group ${gi}): resume with the same optimizer.groups`);
    for (const [k, v] of Object.entries(g)) {
      if (k === 'params') continue;
      if (!SAFE_KEY.test(k)) badOpt(`metadata.paramGroups[${gi}] has a field ${show(k)}`);
      // Every option of every optimizer (lr, betas, eps, weightDecay, momentum, …) and every
      // scheduler's bookkeeping (initialLr, …) is a finite non-negative number or a boolean.
      const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
      const want = mine[k];
      const ok =
        want === undefined
          ? v === null || typeof v === 'boolean' || num(v) || (Array.isArray(v) && v.length <= 8 && v.every(num))
          : Array.isArray(want)
            ? Array.isArray(v) && v.length === want.length && v.every(num)
            : typeof v === typeof want && (typeof v !== 'number' || num(v));
      if (!ok) {
        const what = Array.isArray(want) ? `an array of ${want.length} finite numbers ≥ 0` : want === undefined ? 'a finite number ≥ 0, a boolean or null' : typeof want === 'number' ? 'a finite number ≥ 0' : `a ${typeof want}`;
        badOpt(`metadata.paramGroups[${gi}].${k} must be ${what}, found ${showJson(v)}`);
      }
    }
  });
  for (const e of o.entries) {
    const match = /^([0-9]{1,9})\.(.+)$/.exec(e.name);
    const idx = match ? Number(match[1]) : -1;
    if (!match || idx >= params.length || !SAFE_KEY.test(match[2]))
      badOpt(`tensor ${show(e.name)} is not "<parameter index below ${params.length}>.<state name>"`);
    if (e.shape.length !== 1 || e.shape[0] !== params[idx].size)
      badOpt(`tensor ${show(e.name)} has shape [${e.shape.join(', ')}], expected [${params[idx].size}]`);
  }
  const optArrays = o.read();
  for (const [key, t] of Object.entries(optArrays)) if (!allFinite([t.data])) badOpt(`tensor ${show(key)} holds a NaN or an infinity`);
  const scalarsJson = parseJsonField(o.metadata.scalars, 'metadata.scalars', badOpt, { maxDepth: 4 });
  if (!isJsonObject(scalarsJson)) badOpt('metadata.scalars must be an object');
  const scalars = scalarsJson as Record<string, unknown>;
  for (const [idx, st] of Object.entries(scalars)) {
    if (!/^[0-9]{1,9}$/.test(idx) || Number(idx) >= params.length) badOpt(`metadata.scalars has a key ${show(idx)}, not a parameter index below ${params.length}`);
    if (!isJsonObject(st)) badOpt(`metadata.scalars[${idx}] must be an object of numbers`);
    for (const [k, v] of Object.entries(st as Record<string, unknown>)) {
      if (!SAFE_KEY.test(k) || typeof v !== 'number' || !Number.isFinite(v)) badOpt(`metadata.scalars[${idx}].${k} must be a finite number, found ${showJson(v)}`);
      // the optimizers' one scalar: how many steps a parameter has had
      if (k === 'step' && !(Number.isSafeInteger(v) && (v as number) >= 0)) badOpt(`metadata.scalars[${idx}].step must be a non-negative integer, found ${showJson(v)}`);
    }
  }
  // trainer.json: progress, generator, scheduler
  const badTrainer = damaged('trainer.json');
  const trainer = readJson(path.join(folder, 'trainer.json'), 'the file', MAX_TRAINER_BYTES, 32, badTrainer);
  if (!isJsonObject(trainer)) return badTrainer('must be an object { progress, rng, scheduler }');
  const restored = parseProgress(trainer.progress, badTrainer);
  const savedWorld = trainer.worldSize ?? 1;
  if (!(typeof savedWorld === 'number' && Number.isSafeInteger(savedWorld) && savedWorld >= 1)) badTrainer(`worldSize must be a positive integer, found ${showJson(trainer.worldSize)}`);
  if (savedWorld !== worldSize)
    throw new RangeError(
      `${ctx}: the checkpoint in ${folder} was written by a run of ${savedWorld} rank${savedWorld === 1 ? '' : 's'}, this run has ${worldSize}: ` +
        `resume with ${savedWorld === 1 ? 'one process (no process group, or distributed: false)' : `${savedWorld} ranks`}`,
    );
  if (!isUint32Array4(trainer.rng)) badTrainer(`rng must be 4 unsigned 32-bit integers, found ${showJson(trainer.rng)}`);
  let applyScheduler: (() => void) | null = null;
  if (scheduler && trainer.scheduler !== null && trainer.scheduler !== undefined) {
    try {
      applyScheduler = scheduler._parseState(trainer.scheduler, 'trainer.json', 'scheduler');
    } catch (err) {
      // "trainer.json: expected … for scheduler.lastEpoch but received …"
      throw new Error(`${ctx}: the checkpoint ${JSON.stringify(folder)} is damaged: ${(err as Error).message}`);
    }
  }

  // state.safetensors: what the task carries across batches, checked by the task
  const s = open('state.safetensors');
  const mismatch = (msg: string): never => {
    throw new RangeError(`${ctx}: the checkpoint in ${folder} ${msg}`);
  };
  if (run.checkState) run.checkState(s.entries, damaged('state.safetensors'), mismatch);
  else if (s.entries.length > 0) damaged('state.safetensors')(`holds tensors, but a ${task.kind} carries no state across batches`);

  // best.safetensors: the best weights (early stopping), exactly the model's parameters
  const bestFile = path.join(folder, 'best.safetensors');
  const b = exists(bestFile) ? open('best.safetensors') : null;
  if (b) checkLayout(b, layout(), "the model's parameters");

  // Everything checked: read the tensors and apply.
  const weights = m.read();
  const optState: Record<number, Record<string, Float32Array | number>> = {};
  for (const [key, t] of Object.entries(optArrays)) {
    const dot = key.indexOf('.');
    (optState[Number(key.slice(0, dot))] ??= {})[key.slice(dot + 1)] = t.data;
  }
  for (const [idx, st] of Object.entries(scalars)) Object.assign((optState[Number(idx)] ??= {}), st);
  const hidden = s.read();
  const bestTensors = b ? b.read() : null;

  model.loadStateDict(weights);
  try {
    optimizer.loadStateDict({ state: optState, paramGroups: groups as Array<Record<string, unknown>> });
  } catch (err) {
    damaged('optimizer.safetensors')((err as Error).message);
  }
  applyScheduler?.();
  Object.assign(progress, restored);
  defaultGenerator.setState(trainer.rng as number[]);
  run.loadState?.(hidden);
  const best = bestTensors ? model.namedParameters().map(([n]) => bestTensors[n].data) : null;
  return { folder, best };
}

const EPOCH_NUMBERS = ['trainLoss', 'valLoss', 'perplexity', 'bitsPerToken', 'lr', 'seconds'] as const;

/** trainer.json's progress, every field checked; JSON's nulls back to NaN / Infinity. */
function parseProgress(p: unknown, fail: (msg: string) => never): Progress {
  if (!isJsonObject(p)) return fail('progress must be an object');
  const int = (k: string, v: unknown = p[k]): number =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(`progress.${k} must be a non-negative integer, found ${showJson(v)}`);
  const num = (k: string, v: unknown, nullAs: number): number =>
    v === null ? nullAs : typeof v === 'number' && Number.isFinite(v) ? v : fail(`${k} must be a finite number or null, found ${showJson(v)}`);
  if (!Array.isArray(p.epochs)) fail(`progress.epochs must be an array, found ${showJson(p.epochs)}`);
  const epochs = (p.epochs as unknown[]).map((e, i): EpochInfo => {
    if (!isJsonObject(e)) return fail(`progress.epochs[${i}] must be an object`);
    const info: EpochInfo = { epoch: int(`epochs[${i}].epoch`, e.epoch) } as EpochInfo;
    for (const k of EPOCH_NUMBERS) info[k] = num(`progress.epochs[${i}].${k}`, e[k], NaN);
    return info;
  });
  return {
    epoch: int('epoch'),
    offset: int('offset'),
    step: int('step'),
    bestValLoss: num('progress.bestValLoss', p.bestValLoss, Infinity),
    badEpochs: int('badEpochs'),
    epochs,
    epochLossSum: num('progress.epochLossSum', p.epochLossSum, NaN),
    epochTokens: int('epochTokens'),
    skippedSteps: p.skippedSteps === undefined ? 0 : int('skippedSteps'),
  };
}
