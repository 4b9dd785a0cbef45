/**
 * The options of a training run (what can cross to a worker thread: no functions), their
 * validation, and the optimizer and scheduler they describe.
 */
import type { Module } from '../nn/module';
import { Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD } from '../optim/optimizers';
import * as schedulers from '../optim/schedulers';
import { Parameter } from '../core/tensor';
import { checkBoolean, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, typeError } from '../core/validate';
import { AdversarialOptions, resolveAdversarial } from './adversarial';

/** An optimizer by name with its options; `groups` select parameters by name or name prefix. */
export interface OptimizerSpec {
  type: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  lr?: number;
  groups?: Array<{ params: string[]; [option: string]: unknown }>;
  [option: string]: unknown;
}

/**
 * A scheduler by class name with its options, stepped per batch (default), per epoch, or by
 * the time budget: with `interval: 'budget'` (which needs `maxSeconds`) the scheduler counts
 * percent of the budget — after p % of maxSeconds it has been stepped p times — so that, say,
 * `{ type: 'CosineAnnealingLR', tMax: 100, interval: 'budget' }` anneals over the whole run
 * however many batches fit in it.
 */
export interface SchedulerSpec {
  type: string;
  interval?: 'batch' | 'epoch' | 'budget';
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
  /**
   * When the run ends, however it ends (epochs done, maxSeconds, maxBatches, an abort), load
   * the weights of the epoch with the lowest validation loss (Keras's restore_best_weights).
   * Default false: the model keeps its last weights.
   */
  restoreBest?: boolean;
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
  /**
   * Validate every this many batches too (besides each epoch's end): onValidation receives it,
   * and a ReduceLROnPlateau scheduler steps on it as on each epoch's validation.
   */
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
  /**
   * Encoder–decoders and classifiers: group examples of similar length, sorting them within
   * windows of bucketSize batches (then shuffling the batches), so that a batch pads little.
   * Default 50; 1 turns it off.
   */
  bucketSize?: number;
  /** Encoder–decoders and classifiers: shuffle the examples every epoch (default true). */
  shuffle?: boolean;
  /** Encoder–decoders and classifiers: label smoothing of the cross-entropy (default 0). */
  labelSmoothing?: number;
  /**
   * Classifiers: adversarial training on the embedded inputs (Miyato et al. 2017): 'at' adds
   * the loss of each batch under the perturbation ε·g/‖g‖₂ (about 2× a plain step), 'vat' the
   * virtual adversarial KL loss, which unlabelled examples (label −1) also feed (about 3×).
   */
  adversarial?: AdversarialOptions;
  /**
   * Data-parallel training when a process group is initialised (distributed.initProcessGroup):
   * on by default then; false trains this process alone even in a group. Each rank's
   * batchSize is its share: N ranks train on global batches of N × batchSize, with the
   * result of one process on those batches (docs/distributed.md).
   */
  distributed?: boolean;
  /**
   * Data-parallel: compare a checksum of the weights across ranks every this many steps
   * (default 100; 0 never); ranks whose weights differ stop the run with an Error.
   */
  checksumEvery?: number;
}

const CONFIG_KEYS = [
  'epochs', 'batchSize', 'seqLength', 'optimizer', 'scheduler', 'clipGradNorm', 'clipGradValue', 'validationFraction',
  'earlyStopping', 'restoreBest', 'checkpointDir', 'checkpointEvery', 'resumeFrom', 'maxSeconds', 'maxBatches', 'seed', 'validateEvery',
  'nonFinite', 'detectAnomaly', 'bucketSize', 'shuffle', 'labelSmoothing', 'adversarial', 'distributed', 'checksumEvery',
];
/** What fit() takes besides a TrainingConfig (fitSync accepts and ignores the callbacks there). */
const FIT_KEYS = ['validationData', 'onBatch', 'onEpoch', 'onValidation', 'signal', 'progress'];

/** A checked config with its defaults filled. */
export type ResolvedConfig = Required<Pick<TrainingConfig, 'epochs' | 'batchSize' | 'seqLength' | 'validationFraction'>> & TrainingConfig;

/** Validates a config (TypeError/RangeError naming the field) and fills the defaults. @internal */
export function resolveConfig(ctx: string, config: unknown): ResolvedConfig {
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
  if (c.restoreBest !== undefined) checkBoolean(ctx, 'restoreBest', c.restoreBest);
  if (c.bucketSize !== undefined) checkInteger(ctx, 'bucketSize', c.bucketSize, 1);
  if (c.shuffle !== undefined) checkBoolean(ctx, 'shuffle', c.shuffle);
  if (c.labelSmoothing !== undefined) checkNumber(ctx, 'labelSmoothing', c.labelSmoothing, { min: 0, max: 1 });
  if (c.adversarial !== undefined) resolveAdversarial(ctx, c.adversarial);
  if (c.distributed !== undefined) checkBoolean(ctx, 'distributed', c.distributed);
  if (c.checksumEvery !== undefined) checkInteger(ctx, 'checksumEvery', c.checksumEvery, 0);
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
    if (s.interval !== undefined) checkOneOf(ctx, 'scheduler.interval', s.interval, ['batch', 'epoch', 'budget'] as const);
    if (s.interval === 'budget' && c.maxSeconds === undefined)
      throw new RangeError(`${ctx}: scheduler.interval 'budget' steps the scheduler by the share of maxSeconds elapsed; pass maxSeconds too, received none`);
    if (s.interval === 'budget' && s.type === 'ReduceLROnPlateau')
      throw new RangeError(`${ctx}: a ReduceLROnPlateau scheduler steps on each validation loss, not by the budget; received interval 'budget'`);
  }
  return out;
}

/** Options only some kinds of model train with: a RangeError for another kind. @internal */
export function checkConfigForKind(ctx: string, kind: string, cfg: TrainingConfig): void {
  if (cfg.adversarial !== undefined && kind !== 'sequence-classifier')
    throw new RangeError(`${ctx}: adversarial training perturbs a SequenceClassifier's embedded input; a ${kind} model has no such option`);
}

/** The schedulers a spec may name (not those that take functions or other schedulers). @internal */
export const SCHEDULERS: Record<string, new (opt: Optimizer<any>, o: any) => schedulers.LRScheduler> = Object.fromEntries(
  Object.entries(schedulers).filter(
    ([name, v]) => typeof v === 'function' && v.prototype instanceof schedulers.LRScheduler && !['LambdaLR', 'SequentialLR', 'ChainedScheduler'].includes(name),
  ),
) as any;

/** Builds the optimizer a spec describes over the model's parameters. @internal */
export function buildOptimizer(model: Module, spec: OptimizerSpec = { type: 'Adam', lr: 2e-3 }): Optimizer<any> {
  const { type, groups, ...options } = spec;
  // Frozen parameters (requiresGrad false, e.g. a classifier's token frequencies) are not
  // trained: an optimizer's weight decay would change them otherwise.
  const named = model.namedParameters().filter(([, p]) => p.requiresGrad);
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


/** Builds the scheduler a spec describes, or null. @internal */
export function buildScheduler(optimizer: Optimizer<any>, spec: SchedulerSpec | undefined): schedulers.LRScheduler | null {
  if (!spec) return null;
  const { type, interval: _i, ...opts } = spec;
  return new SCHEDULERS[type](optimizer, opts);
}
