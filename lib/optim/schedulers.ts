/**
 * Learning-rate schedulers, torch.optim.lr_scheduler's: the entry point the rest of the library
 * imports. The code lives in schedulers/, one file per family (see schedulers/index.ts).
 */
export * from './schedulers/index';
