/**
 * The training loop of a LanguageModel with truncated BPTT, synchronous. The async
 * `fit()` (trainer.ts) runs this same loop on a worker thread; `fitSync` runs it here.
 */
import * as path from 'node:path';
import { clipGradNorm, clipGradValue } from '../optim/clip';
import { LanguageModel, LMState } from '../models/language-model';
import { crossEntropy } from '../nn/loss';
import { Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD } from '../optim/optimizers';
import { defaultGenerator, manualSeed } from '../core/random';
import * as schedulers from '../optim/schedulers';
import { Parameter } from '../core/tensor';
import { checkBoolean, checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, typeError } from '../core/validate';
import { loadCheckpoint, Progress, saveCheckpoint } from './checkpoint';
import type { EpochInfo } from './types';
import { allFinite, diagnose, firstNonFinite, NonFiniteError } from './non-finite';

/** An optimizer by name with its options; `groups` select parameters by name or name prefix. */
export interface OptimizerSpec {
  type: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  lr?: number;
  groups?: Array<{ params: string[]; [option: string]: unknown }>;
  [option: string]: unknown;
}

/** A scheduler by class name with its options, stepped per batch (default) or per epoch. */
export interface SchedulerSpec {
  type: string;
  interval?: 'batch' | 'epoch';
  [option: string]: unknown;
}

/** Everything about a run that can cross to a worker thread (no functions). */
export interface TrainingConfig {
  epochs?: number;
  batchSize?: number;
  seqLength?: number;
  optimizer?: OptimizerSpec;
  scheduler?: SchedulerSpec;
  /** Clip the joint L2 norm of all gradients to this (clipGradNorm). */
  clipGradNorm?: number;
  /** Clamp every gradient element into [−v, v] (clipGradValue). */
  clipGradValue?: number;
  /** Hold out this fraction of the token stream (its end) for validation when no validation data is given. Default 0.05. */
  validationFraction?: number;
  /** Stop when the validation loss has not improved by minDelta for `patience` epochs; restores the best weights. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Write a checkpoint into this directory every `checkpointEvery` batches and at each epoch's end. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Resume from the latest checkpoint in this directory. */
  resumeFrom?: string;
  /** Stop after this many seconds or batches (the current batch finishes; the model stays consistent). */
  maxSeconds?: number;
  maxBatches?: number;
  /** Seeds dropout and everything random in the run. */
  seed?: number;
  /** Validate every this many batches too (besides each epoch's end): onValidation receives it. */
  validateEvery?: number;
  /**
   * What to do when a step's loss or a gradient is NaN or ±Infinity. 'stop' (default): throw
   * (fit: reject) an Error naming the step and what was non-finite, before the optimizer step,
   * so the model keeps the weights from before that step. 'skip': zero the gradients, skip the
   * optimizer step, report it (BatchInfo.skipped, FitResult.skippedSteps) and go on. Either way,
   * non-finite weights stop the run: weights already non-finite at a failing step, or made so
   * by an optimizer update (then the model holds them).
   */
  nonFinite?: 'stop' | 'skip';
  /**
   * On a non-finite step, re-run the batch module by module (embedding, rnn, head, then their
   * backward passes) and name the first whose output or gradient was non-finite, in the error
   * or in BatchInfo.anomaly. Costs nothing on finite steps. Default false.
   */
  detectAnomaly?: boolean;
}

export interface BatchInfo {
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  step: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  gradNorm?: number;
  /** The step was skipped (nonFinite: 'skip'): no optimizer step; its loss is not in the epoch's. */
  skipped?: boolean;
  /** What was non-finite in a skipped step: "loss" or "gradient of <parameter name>". */
  nonFinite?: string;
  /** With detectAnomaly, the first module whose output or gradient was non-finite. */
  anomaly?: string;
}
export type { EpochInfo };
export interface ValidationInfo {
  step: number;
  epoch: number;
  valLoss: number;
  perplexity: number;
  bitsPerToken: number;
}
export interface FitResult {
  epochs: EpochInfo[];
  steps: number;
  stoppedEarly: boolean;
  aborted: boolean;
  bestValLoss: number;
  /** Why the run ended: 'completed', 'early-stopping', 'aborted', 'max-seconds', 'max-batches'. */
  reason: string;
  /** Steps skipped because their loss or a gradient was non-finite (nonFinite: 'skip'). */
  skippedSteps: number;
}
export interface TrainingHooks {
  onBatch?(info: BatchInfo): void;
  onEpoch?(info: EpochInfo): void;
  /** Called every `validateEvery` batches with the validation loss. */
  onValidation?(info: ValidationInfo): void;
  /** Polled between batches; true stops the run after the current batch. */
  shouldStop?(): boolean;
}

const CONFIG_KEYS = [
  'epochs', 'batchSize', 'seqLength', 'optimizer', 'scheduler', 'clipGradNorm', 'clipGradValue', 'validationFraction',
  'earlyStopping', 'checkpointDir', 'checkpointEvery', 'resumeFrom', 'maxSeconds', 'maxBatches', 'seed', 'validateEvery',
  'nonFinite', 'detectAnomaly',
];
/** What fit() takes besides a TrainingConfig (fitSync accepts and ignores the callbacks there). */
const FIT_KEYS = ['validationData', 'onBatch', 'onEpoch', 'onValidation', 'signal', 'progress'];

/** Validates a config (TypeError/RangeError naming the field) and fills the defaults. @internal */
export function resolveConfig(ctx: string, config: unknown): Required<Pick<TrainingConfig, 'epochs' | 'batchSize' | 'seqLength' | 'validationFraction'>> & TrainingConfig {
  const c = checkOptions<TrainingConfig>(ctx, 'options', config);
  checkKnownOptions(ctx, c, [...CONFIG_KEYS, ...FIT_KEYS]);
  const out = {
    ...c,
    epochs: checkInteger(ctx, 'epochs', c.epochs ?? 1, 1),
    batchSize: checkInteger(ctx, 'batchSize', c.batchSize ?? 32, 1),
    seqLength: checkInteger(ctx, 'seqLength', c.seqLength ?? 64, 1),
    validationFraction: checkNumber(ctx, 'validationFraction', c.validationFraction ?? 0.05, { min: 0, max: 1, maxExclusive: true }),
  };
  if (c.clipGradNorm !== undefined) checkNumber(ctx, 'clipGradNorm', c.clipGradNorm, { min: 0, minExclusive: true });
  if (c.clipGradValue !== undefined) checkNumber(ctx, 'clipGradValue', c.clipGradValue, { min: 0, minExclusive: true });
  if (c.checkpointEvery !== undefined) checkInteger(ctx, 'checkpointEvery', c.checkpointEvery, 1);
  if (c.validateEvery !== undefined) checkInteger(ctx, 'validateEvery', c.validateEvery, 1);
  if (c.maxSeconds !== undefined) checkNumber(ctx, 'maxSeconds', c.maxSeconds, { min: 0, minExclusive: true });
  if (c.maxBatches !== undefined) checkInteger(ctx, 'maxBatches', c.maxBatches, 1);
  if (c.seed !== undefined) checkInteger(ctx, 'seed', c.seed, 0, Number.MAX_SAFE_INTEGER);
  for (const k of ['checkpointDir', 'resumeFrom'] as const)
    if (c[k] !== undefined && (typeof c[k] !== 'string' || c[k] === '')) throw typeError(ctx, k, 'a directory path', c[k]);
  if (c.nonFinite !== undefined) checkOneOf(ctx, 'nonFinite', c.nonFinite, ['stop', 'skip'] as const);
  if (c.detectAnomaly !== undefined) checkBoolean(ctx, 'detectAnomaly', c.detectAnomaly);
  if (c.earlyStopping !== undefined) {
    const e = checkOptions<{ patience: number; minDelta: number }>(ctx, 'earlyStopping', c.earlyStopping);
    checkKnownOptions(`${ctx}: earlyStopping`, e, ['patience', 'minDelta']);
    checkInteger(ctx, 'earlyStopping.patience', e.patience, 0);
    if (e.minDelta !== undefined) checkNumber(ctx, 'earlyStopping.minDelta', e.minDelta, { min: 0 });
  }
  if (c.optimizer !== undefined) {
    const o = checkOptions<OptimizerSpec>(ctx, 'optimizer', c.optimizer);
    checkOneOf(ctx, 'optimizer.type', o.type, ['SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad'] as const);
  }
  if (c.scheduler !== undefined) {
    const s = checkOptions<SchedulerSpec>(ctx, 'scheduler', c.scheduler);
    if (typeof s.type !== 'string' || !(s.type in SCHEDULERS)) throw new RangeError(`${ctx}: scheduler.type must be one of ${Object.keys(SCHEDULERS).join(', ')}, received ${JSON.stringify(s.type)}`);
    if (s.interval !== undefined) checkOneOf(ctx, 'scheduler.interval', s.interval, ['batch', 'epoch'] as const);
  }
  return out;
}

const SCHEDULERS: Record<string, new (opt: Optimizer<any>, o: any) => schedulers.LRScheduler> = Object.fromEntries(
  Object.entries(schedulers).filter(
    ([name, v]) => typeof v === 'function' && v.prototype instanceof schedulers.LRScheduler && !['LambdaLR', 'SequentialLR', 'ChainedScheduler'].includes(name),
  ),
) as any;

/** Builds the optimizer a spec describes over the model's parameters. @internal */
export function buildOptimizer(model: LanguageModel, spec: OptimizerSpec = { type: 'Adam', lr: 2e-3 }): Optimizer<any> {
  const { type, groups, ...options } = spec;
  const named = model.namedParameters();
  let params: Parameter[] | Array<{ params: Parameter[] }> = named.map(([, p]) => p);
  if (groups) {
    const taken = new Set<Parameter>();
    const built = groups.map((g, gi) => {
      const { params: patterns, ...opts } = g;
      if (!Array.isArray(patterns)) throw typeError('fit', `optimizer.groups[${gi}].params`, 'an array of parameter names or prefixes', patterns);
      const ps = named.filter(([n, p]) => !taken.has(p) && patterns.some((pat) => n === pat || n.startsWith(pat.endsWith('.') ? pat : `${pat}.`)) && taken.add(p)).map(([, p]) => p);
      if (ps.length === 0) throw new RangeError(`fit: optimizer.groups[${gi}].params matches no parameter (names: ${named.map(([n]) => n).join(', ')})`);
      return { ...opts, params: ps };
    });
    const rest = named.filter(([, p]) => !taken.has(p)).map(([, p]) => p);
    if (rest.length) built.push({ params: rest });
    params = built;
  }
  switch (type) {
    case 'SGD': return new SGD(params as Parameter[], options as { lr: number });
    case 'Adam': return new Adam(params as Parameter[], options);
    case 'AdamW': return new AdamW(params as Parameter[], options);
    case 'RMSprop': return new RMSprop(params as Parameter[], options);
    case 'Adagrad': return new Adagrad(params as Parameter[], options);
  }
}

/** The token stream as B parallel streams, time-major (rows, B): column b is the b-th slice. @internal */
export function batchify(stream: Int32Array, B: number): { data: Int32Array; rows: number } {
  const rows = Math.floor(stream.length / B);
  const data = new Int32Array(rows * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < rows; t++) data[t * B + b] = stream[b * rows + t];
  return { data, rows };
}

/**
 * The mean next-token loss (nats) of a language model over a token stream, in eval mode,
 * carrying the state across chunks of T steps of B parallel streams (the model's mode is
 * restored after).
 * @example const valLoss = evaluate(lm, vocab.encode(heldOut), 32, 64); // bits per token: valLoss / Math.LN2
 */
export function evaluate(model: LanguageModel, stream: Int32Array, B: number, T: number): number {
  const wasTraining = model.training;
  model.eval();
  try {
    const { data, rows } = batchify(stream, Math.max(1, Math.min(B, Math.floor(stream.length / 2))));
    const Bv = rows > 0 ? data.length / rows : 1;
    let state: LMState | undefined;
    let total = 0, count = 0;
    for (let i = 0; i + 1 < rows; i += T) {
      const seq = Math.min(T, rows - 1 - i);
      const x = data.subarray(i * Bv, (i + seq) * Bv);
      const y = data.subarray((i + 1) * Bv, (i + 1 + seq) * Bv);
      const out = model.forward(x, seq, Bv, state);
      state = out.state;
      total += crossEntropy(out.logits, y.slice()).loss * seq * Bv;
      count += seq * Bv;
    }
    return count ? total / count : NaN;
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Trains `model` on a token stream, synchronously. Same semantics as `fit()`.
 *
 * @example
 * const result = fitSync(lm, ids, { epochs: 2, batchSize: 32, seqLength: 64, clipGradNorm: 1 });
 */
export function fitSync(model: LanguageModel, train: Int32Array, config: TrainingConfig & { validationData?: Int32Array } = {}, hooks: TrainingHooks = {}): FitResult {
  const ctx = 'fit';
  if (!(model instanceof LanguageModel)) throw typeError(ctx, 'model', 'a LanguageModel', model);
  checkInt32Array(ctx, 'train', train);
  const cfg = resolveConfig(ctx, config);
  const V = model.options.vocabSize;
  const checkIds = (name: string, ids: Int32Array) => {
    for (let i = 0; i < ids.length; i++) if (ids[i] < 0 || ids[i] >= V) throw new RangeError(`${ctx}: ${name}[${i}] is ${ids[i]}, outside the vocabulary [0, ${V})`);
  };
  checkIds('train', train);
  let trainIds = train;
  let valIds: Int32Array | null = null;
  if (config.validationData !== undefined) {
    valIds = checkInt32Array(ctx, 'validationData', config.validationData);
    checkIds('validationData', valIds);
  } else if (cfg.validationFraction > 0) {
    const cut = Math.floor(train.length * (1 - cfg.validationFraction));
    trainIds = train.subarray(0, cut);
    valIds = train.subarray(cut);
  }
  const B = cfg.batchSize, T = cfg.seqLength;
  const { data, rows } = batchify(trainIds, B);
  if (rows < 2) throw new RangeError(`${ctx}: train holds ${trainIds.length} tokens, too few for batchSize ${B} (need at least ${2 * B})`);
  const batchesPerEpoch = Math.ceil((rows - 1) / T);
  if (cfg.seed !== undefined) manualSeed(cfg.seed);

  const optimizer = buildOptimizer(model, cfg.optimizer);
  const interval = cfg.scheduler?.interval ?? 'batch';
  let scheduler: schedulers.LRScheduler | null = null;
  if (cfg.scheduler) {
    const { type, interval: _i, ...opts } = cfg.scheduler;
    scheduler = new SCHEDULERS[type](optimizer, opts);
  }
  const params = model.parameters();
  const named = model.namedParameters();
  const grads = params.map((p) => p.grad);
  const progress: Progress = { epoch: 0, offset: 0, step: 0, bestValLoss: Infinity, badEpochs: 0, epochs: [], epochLossSum: 0, epochTokens: 0, skippedSteps: 0 };
  let state: LMState | undefined;
  let best: Float32Array[] | null = null; // weights at the best validation loss (early stopping)
  // The step/epoch of the checkpoint last written to (or resumed from) checkpointDir: a second
  // save of the same step (maxBatches right after checkpointEvery) would write the same thing.
  let saved = '';
  if (cfg.resumeFrom) {
    ({ state, best } = loadCheckpoint(ctx, cfg.resumeFrom, model, { optimizer, scheduler, progress }, B));
    if (cfg.checkpointDir && path.resolve(cfg.checkpointDir) === path.resolve(cfg.resumeFrom)) saved = `${progress.step}/${progress.epoch}`;
  }
  let partialEpoch: EpochInfo | null = null;
  const started = Date.now();
  let reason = 'completed';
  const checkpoint = () => {
    if (!cfg.checkpointDir || saved === `${progress.step}/${progress.epoch}`) return;
    saveCheckpoint(ctx, cfg.checkpointDir, model, { optimizer, scheduler, progress, state, best });
    saved = `${progress.step}/${progress.epoch}`;
  };
  const nonFinite = cfg.nonFinite ?? 'stop';
  const lrNow = () => optimizer.paramGroups[0].lr;
  const validate = () => (valIds && valIds.length >= 2 ? evaluate(model, valIds, B, T) : NaN);
  let epochStart = Date.now();

  // Closes an epoch: validation, scheduler, early stopping, checkpoint. A partial epoch (the
  // run hit maxSeconds or maxBatches) only reports its validation loss. Returns true to stop.
  const endEpoch = (partial: boolean): boolean => {
    const valLoss = validate();
    const info: EpochInfo = {
      epoch: progress.epoch, trainLoss: progress.epochLossSum / Math.max(1, progress.epochTokens), valLoss,
      perplexity: Math.exp(valLoss), bitsPerToken: valLoss / Math.LN2, lr: lrNow(), seconds: (Date.now() - epochStart) / 1000,
    };
    if (partial) {
      // Reported, but not part of the run's persistent history: a run resumed from this
      // checkpoint finishes the same epoch and reports it whole.
      info.partial = true;
      hooks.onEpoch?.(info);
      checkpoint();
      partialEpoch = info;
      return true;
    }
    progress.epochs.push(info);
    hooks.onEpoch?.(info);
    if (scheduler && scheduler instanceof schedulers.ReduceLROnPlateau) scheduler.step(Number.isNaN(valLoss) ? info.trainLoss : valLoss);
    else if (scheduler && interval === 'epoch') scheduler.step();
    progress.epoch++;
    progress.offset = 0;
    progress.epochLossSum = 0;
    progress.epochTokens = 0;
    state = undefined; // each epoch starts the streams afresh
    let stop = false;
    if (cfg.earlyStopping && !Number.isNaN(valLoss)) {
      if (valLoss < progress.bestValLoss - (cfg.earlyStopping.minDelta ?? 0)) {
        progress.bestValLoss = valLoss;
        progress.badEpochs = 0;
        best = params.map((p) => p.data.slice());
      } else if (++progress.badEpochs > cfg.earlyStopping.patience) stop = true;
    } else if (!Number.isNaN(valLoss)) progress.bestValLoss = Math.min(progress.bestValLoss, valLoss);
    checkpoint();
    if (stop) {
      reason = 'early-stopping';
      if (best) params.forEach((p, k) => p.data.set(best![k]));
    }
    return stop;
  };

  outer: while (progress.epoch < cfg.epochs) {
    epochStart = Date.now();
    model.train();
    while (progress.offset + 1 < rows) {
      if (hooks.shouldStop?.()) { reason = 'aborted'; break outer; }
      if (cfg.maxSeconds !== undefined && (Date.now() - started) / 1000 >= cfg.maxSeconds) { reason = 'max-seconds'; endEpoch(true); break outer; }
      if (cfg.maxBatches !== undefined && progress.step >= cfg.maxBatches) { reason = 'max-batches'; endEpoch(true); break outer; }
      const t0 = process.hrtime.bigint();
      const i = progress.offset;
      const seq = Math.min(T, rows - 1 - i);
      const x = data.subarray(i * B, (i + seq) * B);
      const y = data.slice((i + 1) * B, (i + 1 + seq) * B);
      const rngBefore = cfg.detectAnomaly ? defaultGenerator.getState() : null;
      const stateBefore = state;
      model.zeroGrad();
      const out = model.forward(x, seq, B, state);
      state = out.state;
      const { loss, grad } = crossEntropy(out.logits, y);
      // A non-finite loss skips backward; a non-finite gradient is caught before clipping
      // (which would spread it to every gradient) and before the optimizer step.
      let fault: string | null = null;
      if (!Number.isFinite(loss)) fault = 'loss';
      else {
        model.backward(grad);
        if (!allFinite(grads)) fault = `gradient of ${firstNonFinite(named, 'grad')}`;
      }
      let skipped: { nonFinite: string; anomaly?: string } | null = null;
      if (fault !== null) {
        const stepNo = progress.step + 1;
        const at = `at step ${stepNo} (epoch ${progress.epoch}, batch ${Math.ceil((i + seq) / T)} of ${batchesPerEpoch})`;
        const what = fault === 'loss' ? `non-finite loss (${loss})` : `non-finite ${fault} (the loss, ${loss}, is finite)`;
        const anomaly = cfg.detectAnomaly ? diagnose(model, x, seq, B, stateBefore, y, rngBefore) : undefined;
        const diagnosis = anomaly ? `; detectAnomaly: ${anomaly}` : '; pass detectAnomaly: true to name the module that produced it';
        model.zeroGrad();
        const badWeight = firstNonFinite(named, 'data');
        if (badWeight !== null)
          throw new NonFiniteError(`${ctx}: ${what} ${at}: the weights of ${badWeight} are themselves non-finite, which skipping steps cannot repair; training stopped${diagnosis}`, stepNo);
        if (nonFinite === 'stop')
          throw new NonFiniteError(
            `${ctx}: ${what} ${at}; training stopped before that step's optimizer update (nonFinite: 'stop'), so the model holds the weights of the step before. ` +
              `Pass nonFinite: 'skip' to skip such steps${diagnosis}`,
            stepNo,
          );
        skipped = { nonFinite: fault, ...(anomaly !== undefined ? { anomaly } : {}) };
        progress.skippedSteps++;
        if (!allFinite(out.state.c ? [out.state.h.data, out.state.c.data] : [out.state.h.data])) state = undefined; // restart the streams
      }
      let gradNorm: number | undefined;
      if (!skipped) {
        if (cfg.clipGradNorm !== undefined) gradNorm = clipGradNorm(params, cfg.clipGradNorm);
        if (cfg.clipGradValue !== undefined) clipGradValue(params, cfg.clipGradValue);
        optimizer.step();
        // finite gradients can still overflow the weights (a huge learning rate, a corrupt optimizer state)
        if (!allFinite(params.map((p) => p.data))) {
          const at = `step ${progress.step + 1} (epoch ${progress.epoch}, batch ${Math.ceil((i + seq) / T)} of ${batchesPerEpoch})`;
          throw new NonFiniteError(
            `${ctx}: the optimizer update of ${at} made the weights of ${firstNonFinite(named, 'data')} non-finite (learning rate ${lrNow()}), ` +
              'though the loss and the gradients were finite; training stopped, and the model holds those weights',
            progress.step + 1,
          );
        }
      }
      const lr = lrNow();
      if (scheduler && interval === 'batch' && !(scheduler instanceof schedulers.ReduceLROnPlateau)) scheduler.step();
      progress.offset += seq;
      progress.step++;
      if (!skipped) {
        progress.epochLossSum += loss * seq * B;
        progress.epochTokens += seq * B;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      hooks.onBatch?.({
        epoch: progress.epoch, batch: Math.ceil(progress.offset / T), batchesPerEpoch, step: progress.step,
        loss, lr, tokensPerSecond: (seq * B) / seconds, ...(gradNorm !== undefined ? { gradNorm } : {}),
        ...(skipped ? { skipped: true, ...skipped } : {}),
      });
      if (cfg.checkpointEvery && progress.step % cfg.checkpointEvery === 0) checkpoint();
      if (cfg.validateEvery && progress.step % cfg.validateEvery === 0 && hooks.onValidation) {
        const valLoss = validate();
        hooks.onValidation({ step: progress.step, epoch: progress.epoch, valLoss, perplexity: Math.exp(valLoss), bitsPerToken: valLoss / Math.LN2 });
      }
    }
    if (endEpoch(false)) break;
  }
  return {
    epochs: partialEpoch ? [...progress.epochs, partialEpoch] : progress.epochs, steps: progress.step, stoppedEarly: reason === 'early-stopping', aborted: reason === 'aborted',
    bestValLoss: progress.bestValLoss, reason, skippedSteps: progress.skippedSteps,
  };
}
