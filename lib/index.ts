/**
 * rnn-native: recurrent neural networks for Node.js on native kernels.
 * The public surface; see API.md / README.md.
 */
export { Tensor, Parameter } from './tensor';
export { Module } from './module';
export { RNN, LSTM, GRU, RecurrentBase } from './recurrent';
export type { RecurrentOptions, RNNOptions, RecurrentState, RecurrentOutput, RecurrentGradients } from './recurrent';
export { clipGradNorm, clipGradValue } from './clip';
export { setNumThreads, getNumThreads, version } from './runtime';
export { Generator, manualSeed, defaultGenerator } from './random';
export { Embedding } from './embedding';
export type { EmbeddingOptions } from './embedding';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { crossEntropy } from './loss';
export { Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad } from './optim';
export type { Group, ResolvedGroup, SGDOptions, AdamOptions, RMSpropOptions, AdagradOptions } from './optim';
export { saveSafetensors, loadSafetensors } from './safetensors';
export type { SafetensorsContents } from './safetensors';
export { Vocabulary } from './vocabulary';
export type { Tokenization } from './vocabulary';
export { LanguageModel } from './language-model';
export type { LanguageModelOptions, LMState, GenerateOptions, CellKind } from './language-model';
export type { SamplingOptions } from './sampling';
export { fit } from './trainer';
export type { FitOptions } from './trainer';
export { fitSync, evaluate } from './training';
export type { TrainingConfig, OptimizerSpec, SchedulerSpec, BatchInfo, EpochInfo, FitResult, TrainingHooks } from './training';
export { saveLanguageModel, loadLanguageModel } from './model-file';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, LinearLR, OneCycleLR, LambdaLR, ReduceLROnPlateau, SequentialLR, ChainedScheduler } from './schedulers';
export type { SchedulableOptimizer, OptimizerLike, SchedulerState, JsonFloat, LrLambda, StepLROptions, MultiStepLROptions, ExponentialLROptions, CosineAnnealingLROptions, CosineAnnealingWarmRestartsOptions, LinearLROptions, OneCycleLROptions, LambdaLROptions, ReduceLROnPlateauOptions, SequentialLROptions } from './schedulers';
