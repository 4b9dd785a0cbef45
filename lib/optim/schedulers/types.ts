/** The types every scheduler file shares: what can be scheduled and what a state dict holds. */

/**
 * What a scheduler needs from an optimizer: its param groups, each with a numeric `lr`.
 * Schedulers write `lr` (and record `initialLr`; OneCycleLR also writes `momentum` or
 * `betas[0]` and its own bookkeeping keys), so any object of this shape can be scheduled.
 *
 * @example
 * const opt: SchedulableOptimizer = { paramGroups: [{ lr: 0.1, momentum: 0.9 }] };
 * const sched = new StepLR(opt, { stepSize: 10 });
 */
export interface SchedulableOptimizer {
  paramGroups: Array<{ lr: number; [key: string]: unknown }>;
}

/**
 * What the scheduler constructors accept: a {@link SchedulableOptimizer}, or any object whose
 * `paramGroups` are objects with a numeric `lr` — which is how this package's optimizers
 * (`SGD`, `Adam`, …) type their groups (interfaces without an index signature).
 *
 * @example
 * const sched = new StepLR(new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), { stepSize: 10 });
 */
export type OptimizerLike = SchedulableOptimizer | { paramGroups: Array<{ lr: number }> };

/** One param group as a scheduler sees it. @internal */
export type ParamGroup = SchedulableOptimizer['paramGroups'][number];

/**
 * A float as stored in a state dict: a number, or for the non-finite values (which JSON
 * cannot hold) the strings `'Infinity'`, `'-Infinity'` and `'NaN'`.
 *
 * @example
 * const best: JsonFloat = 'Infinity'; // ReduceLROnPlateau's `best` before the first step in 'min' mode
 */
export type JsonFloat = number | 'Infinity' | '-Infinity' | 'NaN';

/**
 * The plain, JSON-serialisable data returned by `stateDict()`: always `type` (the class
 * name, checked on load) and `lastEpoch`, plus each scheduler's own counters and
 * hyperparameters (for torch's epoch schedulers: `stepCount`, `baseLrs`, `lastLr`).
 *
 * @example
 * const saved = JSON.stringify(sched.stateDict());
 * sched.loadStateDict(JSON.parse(saved));
 */
export interface SchedulerState {
  type: string;
  lastEpoch: number;
  [key: string]: unknown;
}
