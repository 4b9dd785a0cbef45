/**
 * Learning-rate schedulers: torch.optim.lr_scheduler (PyTorch 1.13), step for step and bit for bit.
 *
 * Every scheduler writes `group.lr` of each of its optimizer's `paramGroups`. Like torch,
 * `step()` uses the chainable ("recursive") form of each schedule, which multiplies the
 * group's current lr, so the rounding accumulates exactly as it does in PyTorch; the closed
 * forms are only used where torch uses them (SequentialLR restarting a scheduler at a
 * milestone). All arithmetic is done in the same order as torch's Python, in float64.
 *
 * Resuming: build the optimizer and the scheduler as at the start of the run, then call
 * `optimizer.loadStateDict(...)` and `scheduler.loadStateDict(...)` (torch's order). The
 * scheduler's state holds its counters and hyperparameters; the current lrs (and
 * `initialLr`, and OneCycleLR's `maxLr`/`minLr`/`maxMomentum`/`baseMomentum`) live in the
 * optimizer's param groups, as in torch.
 *
 * One file per family: base.ts (LRScheduler), step.ts (StepLR, MultiStepLR, ExponentialLR,
 * LambdaLR), cosine.ts, warmup-cyclic.ts (LinearLR, OneCycleLR), plateau.ts
 * (ReduceLROnPlateau), composite.ts (SequentialLR, ChainedScheduler); types.ts and helpers.ts
 * hold what they share. The export order below is the order `fit` lists scheduler names in.
 */
export type { SchedulableOptimizer, OptimizerLike, JsonFloat, SchedulerState } from './types';
export { LRScheduler } from './base';
export { StepLR, MultiStepLR, ExponentialLR } from './step';
export type { StepLROptions, MultiStepLROptions, ExponentialLROptions } from './step';
export { CosineAnnealingLR, CosineAnnealingWarmRestarts } from './cosine';
export type { CosineAnnealingLROptions, CosineAnnealingWarmRestartsOptions } from './cosine';
export { LinearLR, OneCycleLR } from './warmup-cyclic';
export type { LinearLROptions, OneCycleLROptions } from './warmup-cyclic';
export { LambdaLR } from './step';
export type { LrLambda, LambdaLROptions } from './step';
export { ReduceLROnPlateau } from './plateau';
export type { ReduceLROnPlateauOptions } from './plateau';
export { SequentialLR, ChainedScheduler } from './composite';
export type { SequentialLROptions } from './composite';
