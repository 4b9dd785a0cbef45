/**
 * Data-parallel training across processes and machines (torch.distributed's vocabulary): a
 * process group on Gloo, its collectives, and what the trainer does with them (see
 * docs/distributed.md). Exported from the package as `distributed`.
 */
export { initProcessGroup, destroyProcessGroup, isAvailable, isInitialized, getRank, getWorldSize, getLocalRank } from './process-group';
export type { InitProcessGroupOptions } from './process-group';
export { allReduce, broadcast, barrier } from './collectives';
export type { ReduceOp, CollectiveOptions } from './collectives';
