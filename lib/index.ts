/**
 * rnn-native: recurrent neural networks for Node.js on native kernels.
 * The public surface; docs/api.md lists every name with its signature.
 */
export { Tensor, Parameter } from './core/tensor';
export type { NestedArray } from './core/tensor';
export { noGrad } from './core/grad-mode';
export * as functional from './nn/functional';
export { Module } from './nn/module';
export { RNN, LSTM, GRU, RecurrentBase } from './nn/recurrent';
export type { RecurrentOptions, RNNOptions, RecurrentState, RecurrentOutput, RecurrentGradients, LSTMState, LSTMOutput, LSTMGradients } from './nn/recurrent';
export type { CellKind } from './nn/cell-kinds';
export { clipGradNorm, clipGradValue } from './optim/clip';
export { setNumThreads, getNumThreads, version } from './native/runtime';
export { Generator, manualSeed, defaultGenerator } from './core/random';
export { RNNCell, LSTMCell, GRUCell, CellBase } from './nn/cells';
export type { CellOptions, RNNCellOptions, CellState } from './nn/cells';
export { Dropout } from './nn/dropout';
export { LayerNorm } from './nn/layer-norm';
export type { LayerNormOptions } from './nn/layer-norm';
export { Sequential, Tanh, Sigmoid, ReLU } from './nn/sequential';
export type { TensorModule } from './nn/sequential';
export { argmax } from './nn/reductions';
export { padSequences, batchIndices } from './data/sequences';
export type { PaddedBatch, BatchOptions } from './data/sequences';
export { accuracy, confusionMatrix } from './data/metrics';
export { Embedding } from './nn/embedding';
export type { EmbeddingOptions } from './nn/embedding';
export { Linear } from './nn/linear';
export type { LinearOptions } from './nn/linear';
export { crossEntropy } from './nn/loss';
export { Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad } from './optim/optimizers';
export type { Group, ResolvedGroup, SGDOptions, AdamOptions, RMSpropOptions, AdagradOptions } from './optim/optimizers';
export { saveSafetensors, loadSafetensors } from './io/safetensors';
export type { SafetensorsContents } from './io/safetensors';
export { Vocabulary } from './data/vocabulary';
export type { Tokenization } from './data/vocabulary';
export { LanguageModel } from './models/language-model';
export type { LanguageModelOptions, LMState, GenerateOptions } from './models/language-model';
export type { SamplingOptions } from './models/sampling';
export { fit } from './train/fit';
export type { FitOptions } from './train/fit';
export { fitSync, evaluate } from './train/fit-sync';
export type { TrainingConfig, OptimizerSpec, SchedulerSpec, BatchInfo, EpochInfo, FitResult, TrainingHooks } from './train/fit-sync';
export { saveLanguageModel, loadLanguageModel } from './io/model-file';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, LinearLR, OneCycleLR, LambdaLR, ReduceLROnPlateau, SequentialLR, ChainedScheduler } from './optim/schedulers';
export type { SchedulableOptimizer, OptimizerLike, SchedulerState, JsonFloat, LrLambda, StepLROptions, MultiStepLROptions, ExponentialLROptions, CosineAnnealingLROptions, CosineAnnealingWarmRestartsOptions, LinearLROptions, OneCycleLROptions, LambdaLROptions, ReduceLROnPlateauOptions, SequentialLROptions } from './optim/schedulers';
