/**
 * The training loop, for every kind of model (see task.ts), in explicit phases per step:
 *   batch → forward and loss → backward → gradient hook → non-finite check → clip →
 *   optimizer step → scheduler,
 * with validation and early stopping at epoch ends, checkpoints that resume exactly, time and
 * batch limits, and a stop flag. fitSync() runs it on the caller's thread, fit() on a worker
 * thread of its own. When a process group is initialised the run is data-parallel
 * (data-parallel.ts): the gradient hook's place holds the allreduce, and every decision that
 * could split the ranks (stopping, validation results) is taken together.
 */
import * as path from 'node:path';
import { defaultGenerator, manualSeed } from '../core/random';
import { clipGradNorm, clipGradValue } from '../optim/clip';
import * as schedulers from '../optim/schedulers';
import { loadCheckpoint, Progress, saveCheckpoint } from './checkpoint';
import { buildOptimizer, buildScheduler, ResolvedConfig } from './config';
import { allFinite, firstNonFinite, NonFiniteError } from './non-finite';
import { DataParallel } from './data-parallel';
import { native } from '../native/addon';
import type { TrainableModel, TrainingTask } from './task';
import type { EpochInfo, FitResult, TrainingHooks } from './types';

/** Runs a training of `model` (of `task`'s kind) on checked data. */
export function runTraining<M extends TrainableModel, D>(
  ctx: string, task: TrainingTask<M, D>, model: M, train: D, validation: D | null, cfg: ResolvedConfig, hooks: TrainingHooks,
): FitResult {
  if (cfg.seed !== undefined) manualSeed(cfg.seed);
  const optimizer = buildOptimizer(model, cfg.optimizer);
  // The model's values and gradients in two arenas, each optimizer group one run of slots:
  // zeroing, the finiteness checks, clipping and each group's optimizer update are one pass
  // over one buffer, and so is a data-parallel allreduce.
  const arena = model.flattenParameters({ order: optimizer.paramGroups.flatMap((g) => g.params) });
  // Data-parallel when a process group exists (unless distributed: false): rank 0's weights
  // and random state everywhere before the task draws from it (a Seq2Seq's batch order).
  const dp = cfg.distributed !== false && native.distInfo() !== null ? new DataParallel(ctx, arena) : null;
  dp?.syncStart();
  const run = task.prepare(ctx, model, train, validation, cfg, dp ?? undefined);
  const batchesPerEpoch = run.batchesPerEpoch;

  const interval = cfg.scheduler?.interval ?? 'batch';
  const scheduler = buildScheduler(optimizer, cfg.scheduler);
  const plateau = scheduler instanceof schedulers.ReduceLROnPlateau;
  const params = model.parameters();
  const named = model.namedParameters();
  // Every gradient / every weight as the finiteness checks read them: the arena in one array
  // while it holds every parameter (a hook may have replaced a .grad), else one per parameter.
  const whole = arena.rangeOf(params) !== null && arena.parameters.length === params.length;
  const gradArrays = () => (whole && arena.valid ? [arena.grad] : params.map((p) => p.grad));
  const dataArrays = () => (whole && arena.valid ? [arena.data] : params.map((p) => p.data));
  const progress: Progress = { epoch: 0, offset: 0, step: 0, bestValLoss: Infinity, badEpochs: 0, epochs: [], epochLossSum: 0, epochTokens: 0, skippedSteps: 0 };
  let best: Float32Array[] | null = null; // weights at the best validation loss (early stopping)
  // The step/epoch of the checkpoint last written to (or resumed from) checkpointDir: a second
  // save of the same step (maxBatches right after checkpointEvery) would write the same thing.
  let saved = '';
  const worldSize = dp?.worldSize ?? 1;
  if (cfg.resumeFrom) {
    ({ best } = loadCheckpoint(ctx, cfg.resumeFrom, model, task, run, { optimizer, scheduler, progress, worldSize }));
    if (cfg.checkpointDir && path.resolve(cfg.checkpointDir) === path.resolve(cfg.resumeFrom)) saved = `${progress.step}/${progress.epoch}`;
  }
  if (dp) agreeOnRun(dp, cfg, run.batchesPerEpoch, named, progress.step);
  let partialEpoch: EpochInfo | null = null;
  const started = Date.now();
  let reason = 'completed';
  const checkpoint = () => {
    if (!cfg.checkpointDir || saved === `${progress.step}/${progress.epoch}`) return;
    const state = run.saveState?.() ?? {}; // on every rank: a sharded task gathers its state here
    if (!dp || dp.rank === 0) saveCheckpoint(ctx, cfg.checkpointDir, model, { optimizer, scheduler, progress, state, best, worldSize });
    saved = `${progress.step}/${progress.epoch}`;
  };
  // Validation: in a data-parallel run every rank validates and takes rank 0's numbers, so
  // that early stopping and the plateau scheduler decide the same everywhere.
  const validate = () => (dp ? dp.shareValidation(run.validate()) : run.validate());
  const elapsed = () => (Date.now() - started) / 1000;
  const overTime = () => cfg.maxSeconds !== undefined && elapsed() >= cfg.maxSeconds;
  let elapsedShared = 0; // data-parallel: the ranks' mean elapsed seconds, from the step's allreduce
  // Data-parallel: why the ranks agreed to stop, in the allreduce of the step before.
  let stopAfter: 'aborted' | 'max-seconds' | null = null;
  const nonFinite = cfg.nonFinite ?? 'stop';
  const lrNow = () => optimizer.paramGroups[0].lr;
  let epochStart = Date.now();

  // Closes an epoch: validation, scheduler, early stopping, checkpoint. A partial epoch (the
  // run hit maxSeconds or maxBatches) only reports its validation. Returns true to stop.
  const endEpoch = (partial: boolean): boolean => {
    const v = validate();
    const valLoss = v.loss;
    const info: EpochInfo = {
      epoch: progress.epoch, trainLoss: progress.epochLossSum / Math.max(1, progress.epochTokens), valLoss,
      perplexity: Math.exp(valLoss), bitsPerToken: valLoss / Math.LN2, lr: lrNow(), seconds: (Date.now() - epochStart) / 1000,
      ...(v.metrics ? { metrics: v.metrics } : {}),
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
    if (scheduler && plateau) (scheduler as schedulers.ReduceLROnPlateau).step(Number.isNaN(valLoss) ? info.trainLoss : valLoss);
    else if (scheduler && interval === 'epoch') scheduler.step();
    progress.epoch++;
    progress.offset = 0;
    progress.epochLossSum = 0;
    progress.epochTokens = 0;
    let stop = false;
    if (cfg.earlyStopping && !Number.isNaN(valLoss)) {
      if (valLoss < progress.bestValLoss - (cfg.earlyStopping.minDelta ?? 0)) {
        progress.bestValLoss = valLoss;
        progress.badEpochs = 0;
        best = params.map((p) => p.data.slice());
      } else if (++progress.badEpochs > cfg.earlyStopping.patience) stop = true;
    } else if (!Number.isNaN(valLoss)) {
      if (cfg.restoreBest && valLoss < progress.bestValLoss) best = params.map((p) => p.data.slice());
      progress.bestValLoss = Math.min(progress.bestValLoss, valLoss);
    }
    run.startEpoch(progress.epoch, true); // the state a checkpoint keeps is the next epoch's
    checkpoint();
    if (stop) {
      reason = 'early-stopping';
      if (best) params.forEach((p, k) => p.data.set(best![k]));
    }
    return stop;
  };

  // A run resumed inside an epoch continues its batch order and its carried state (restored
  // from the checkpoint); otherwise the epoch starts afresh.
  if (progress.epoch < cfg.epochs) run.startEpoch(progress.epoch, progress.offset === 0 && !cfg.resumeFrom);
  outer: while (progress.epoch < cfg.epochs) {
    epochStart = Date.now();
    model.train();
    while (progress.offset < batchesPerEpoch) {
      if (dp ? stopAfter === 'aborted' : hooks.shouldStop?.()) { reason = 'aborted'; break outer; }
      if (dp ? stopAfter === 'max-seconds' : overTime()) { reason = 'max-seconds'; endEpoch(true); break outer; }
      if (cfg.maxBatches !== undefined && progress.step >= cfg.maxBatches) { reason = 'max-batches'; endEpoch(true); break outer; }
      const t0 = process.hrtime.bigint();
      const index = progress.offset;
      // phase 1: the batch
      const batch = run.batch(index);
      const rngBefore = cfg.detectAnomaly ? defaultGenerator.getState() : null;
      // phase 2: forward and loss
      model.zeroGrad();
      const step = run.loss(batch);
      let { value: loss, count } = step;
      // phase 3: backward. A non-finite loss skips it; a non-finite gradient is caught before
      // clipping (which would spread it to every gradient) and before the optimizer step.
      let fault: string | null = null;
      if (dp) {
        // Data-parallel: every rank reduces, even one whose loss is non-finite (its gradients
        // stay zero and its NaN reaches every rank's global loss, so all skip or stop alike).
        if (Number.isFinite(loss)) step.backward();
        const reduced = dp.reduce(loss, count, progress.step + 1, hooks.shouldStop?.() ?? false, overTime(), elapsed());
        ({ loss, count, elapsed: elapsedShared } = reduced);
        stopAfter = reduced.stop;
      } else if (Number.isFinite(loss)) step.backward();
      if (!Number.isFinite(loss)) fault = 'loss';
      else {
        // phase 4: the gradient hook (data-parallel: after the gradients were averaged)
        hooks.onGradients?.({ step: progress.step + 1, epoch: progress.epoch, parameters: named });
        if (!allFinite(gradArrays())) fault = `gradient of ${firstNonFinite(named, 'grad')}`;
      }
      let skipped: { nonFinite: string; anomaly?: string } | null = null;
      if (fault !== null) {
        const stepNo = progress.step + 1;
        const at = `at step ${stepNo} (epoch ${progress.epoch}, batch ${index + 1} of ${batchesPerEpoch})`;
        const what = fault === 'loss' ? `non-finite loss (${loss})` : `non-finite ${fault} (the loss, ${loss}, is finite)`;
        const anomaly = cfg.detectAnomaly && run.diagnose ? run.diagnose(batch, rngBefore) : undefined;
        const diagnosis = anomaly ? `; detectAnomaly: ${anomaly}` : run.diagnose ? '; pass detectAnomaly: true to name the module that produced it' : '';
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
        run.afterSkip?.();
      }
      let gradNorm: number | undefined;
      if (!skipped) {
        // phases 5 and 6: clip, optimizer step
        if (cfg.clipGradNorm !== undefined) gradNorm = clipGradNorm(params, cfg.clipGradNorm);
        if (cfg.clipGradValue !== undefined) clipGradValue(params, cfg.clipGradValue);
        optimizer.step();
        // finite gradients can still overflow the weights (a huge learning rate, a corrupt optimizer state)
        if (!allFinite(dataArrays())) {
          const at = `step ${progress.step + 1} (epoch ${progress.epoch}, batch ${index + 1} of ${batchesPerEpoch})`;
          throw new NonFiniteError(
            `${ctx}: the optimizer update of ${at} made the weights of ${firstNonFinite(named, 'data')} non-finite (learning rate ${lrNow()}), ` +
              'though the loss and the gradients were finite; training stopped, and the model holds those weights',
            progress.step + 1,
          );
        }
      }
      if (dp && cfg.checksumEvery !== 0 && (progress.step + 1) % (cfg.checksumEvery ?? 100) === 0) dp.checkWeights(params, progress.step + 1);
      // phase 7: the scheduler
      const lr = lrNow();
      if (scheduler && interval === 'batch' && !plateau) scheduler.step();
      else if (scheduler && interval === 'budget') {
        // percent of the budget elapsed (data-parallel: the ranks' mean, the same on every rank)
        const percent = Math.min(100, Math.floor((100 * (dp ? elapsedShared : elapsed())) / cfg.maxSeconds!));
        while (scheduler.lastEpoch < percent) scheduler.step();
      }
      progress.offset++;
      progress.step++;
      if (!skipped) {
        progress.epochLossSum += loss * count;
        progress.epochTokens += count;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      hooks.onBatch?.({
        epoch: progress.epoch, batch: progress.offset, batchesPerEpoch, step: progress.step,
        loss, lr, tokensPerSecond: count / seconds, ...(gradNorm !== undefined ? { gradNorm } : {}),
        ...(skipped ? { skipped: true, ...skipped } : {}),
      });
      if (cfg.checkpointEvery && progress.step % cfg.checkpointEvery === 0) checkpoint();
      // A validation inside the epoch: reported, and a plateau scheduler steps on it (a long
      // epoch would otherwise lower the learning rate only once an epoch) — except at the
      // epoch's end, where endEpoch steps it on its own validation. Data-parallel, every rank
      // validates at the same steps (a collective), whatever hooks it has.
      const stepPlateau = plateau && progress.offset < batchesPerEpoch;
      if (cfg.validateEvery && progress.step % cfg.validateEvery === 0 && (hooks.onValidation || stepPlateau || dp)) {
        const v = validate();
        hooks.onValidation?.({
          step: progress.step, epoch: progress.epoch, valLoss: v.loss, perplexity: Math.exp(v.loss), bitsPerToken: v.loss / Math.LN2,
          ...(v.metrics ? { metrics: v.metrics } : {}),
        });
        if (stepPlateau && !Number.isNaN(v.loss)) (scheduler as schedulers.ReduceLROnPlateau).step(v.loss);
        model.train();
      }
    }
    if (endEpoch(false)) break;
  }
  // restoreBest: whatever ended the run, the model leaves it with its best epoch's weights.
  if (cfg.restoreBest && best && reason !== 'early-stopping') params.forEach((p, k) => p.data.set(best![k]));
  return {
    epochs: partialEpoch ? [...progress.epochs, partialEpoch] : progress.epochs, steps: progress.step, stoppedEarly: reason === 'early-stopping', aborted: reason === 'aborted',
    bestValLoss: progress.bestValLoss, reason, skippedSteps: progress.skippedSteps,
  };
}

/**
 * Checks, before the first step, that every rank runs the same training: the same model
 * layout, batches per epoch, options that set the sequence of steps and collectives, and the
 * same step (a resumed run). A difference would hang or corrupt the run; this names it.
 */
function agreeOnRun(dp: DataParallel, cfg: ResolvedConfig, batchesPerEpoch: number, named: ReadonlyArray<[string, { shape: readonly number[] }]>, step: number): void {
  dp.agree("the model's parameters (names and shapes)", named.map(([n, p]) => [n, p.shape]));
  dp.agree('the number of batches per epoch (the data differ across ranks?)', batchesPerEpoch);
  dp.agree('the step to start from (a resumed run)', step);
  dp.agree('the options epochs, batchSize and seqLength', [cfg.epochs, cfg.batchSize, cfg.seqLength]);
  dp.agree('the optimizer and scheduler options', [cfg.optimizer ?? null, cfg.scheduler ?? null]);
  dp.agree('the options clipGradNorm, clipGradValue and nonFinite', [cfg.clipGradNorm ?? null, cfg.clipGradValue ?? null, cfg.nonFinite ?? 'stop']);
  dp.agree('the checkpoint schedule (checkpointDir given or not, checkpointEvery)', [Boolean(cfg.checkpointDir), cfg.checkpointEvery ?? null]);
  dp.agree('the options maxBatches, validateEvery, earlyStopping and checksumEvery', [cfg.maxBatches ?? null, cfg.validateEvery ?? null, cfg.earlyStopping ?? null, cfg.checksumEvery ?? null]);
}
