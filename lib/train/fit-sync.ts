/**
 * Training, synchronously: fitSync() runs the training loop (loop.ts) of a model's kind
 * (task.ts) on the caller's thread. The async fit() (fit.ts) runs the same on a worker thread.
 */
import { checkKnownOptions, checkOptions, typeError } from '../core/validate';
import type { LanguageModel } from '../models/language-model';
import type { Seq2Seq } from '../models/seq2seq';
import { checkConfigForKind, resolveConfig, TrainingConfig } from './config';
import { runTraining } from './loop';
import { taskFor, taskKinds } from './task';
import type { FitResult, TrainingHooks } from './types';
import type { Seq2SeqData } from './tasks/seq2seq';
import type { SequenceClassifier } from '../models/sequence-classifier';
import type { ClassifierData } from './tasks/classifier';
import './tasks/language-model';
import './tasks/seq2seq';
import './tasks/classifier';

export type { OptimizerSpec, SchedulerSpec, TrainingConfig, ResolvedConfig } from './config';
export type { BatchInfo, EpochInfo, ValidationInfo, FitResult, TrainingHooks, GradientInfo } from './types';
export { evaluate } from './tasks/language-model';

/**
 * Trains `model` synchronously, with the semantics of `fit()`: a LanguageModel on a token
 * stream (Int32Array), a Seq2Seq on { sources, targets } pairs, a SequenceClassifier on
 * { sequences, labels }.
 *
 * @example
 * const result = fitSync(lm, ids, { epochs: 2, batchSize: 32, seqLength: 64, clipGradNorm: 1 });
 */
export function fitSync(model: LanguageModel, train: Int32Array, config?: TrainingConfig & { validationData?: Int32Array }, hooks?: TrainingHooks): FitResult;
export function fitSync(model: Seq2Seq, train: Seq2SeqData, config?: TrainingConfig & { validationData?: Seq2SeqData }, hooks?: TrainingHooks): FitResult;
export function fitSync(model: SequenceClassifier, train: ClassifierData, config?: TrainingConfig & { validationData?: ClassifierData }, hooks?: TrainingHooks): FitResult;
export function fitSync(model: unknown, train: unknown, config: TrainingConfig & { validationData?: unknown } = {}, hooks: TrainingHooks = {}): FitResult {
  const ctx = 'fit';
  const task = taskFor(model);
  if (!task) throw typeError(ctx, 'model', `a model the trainer knows (${taskKinds().join(', ')})`, model);
  const cfg = resolveConfig(ctx, config);
  checkConfigForKind(ctx, task.kind, cfg);
  const h = checkOptions<TrainingHooks>(ctx, 'hooks', hooks === null ? (null as never) : hooks);
  checkKnownOptions(ctx, h, ['onBatch', 'onEpoch', 'onValidation', 'shouldStop', 'onGradients']);
  for (const k of ['onBatch', 'onEpoch', 'onValidation', 'shouldStop', 'onGradients'] as const)
    if (h[k] !== undefined && typeof h[k] !== 'function') throw typeError(ctx, k, 'a function', h[k]);
  let trainData = task.checkData(ctx, model, train, 'train');
  let validation: unknown = null;
  if (config.validationData !== undefined) validation = task.checkData(ctx, model, config.validationData, 'validationData');
  else if (cfg.validationFraction > 0) ({ train: trainData, validation } = task.split(trainData, cfg.validationFraction));
  return runTraining(ctx, task, model as never, trainData, validation, cfg, hooks);
}
