/**
 * Optimizers (torch.optim's SGD, Adam, AdamW, RMSprop, Adagrad): the entry point the rest of the
 * library imports. The code lives in optimizers/, one file per family (see optimizers/index.ts).
 */
export * from './optimizers/index';
