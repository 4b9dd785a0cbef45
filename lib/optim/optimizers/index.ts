/**
 * Optimizers, torch.optim's update rules run natively over each parameter's contiguous buffer:
 * base.ts (Optimizer, parameter groups, state dicts), sgd.ts, adam.ts (Adam, AdamW),
 * rmsprop.ts, adagrad.ts.
 */
export { Optimizer } from './base';
export type { Group, ResolvedGroup, ParameterSlot } from './base';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { RMSprop } from './rmsprop';
export type { RMSpropOptions } from './rmsprop';
export { Adagrad } from './adagrad';
export type { AdagradOptions } from './adagrad';
