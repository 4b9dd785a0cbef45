/**
 * The functional API, PyTorch's torch.nn.functional: ops that record themselves for
 * backward when an input requires grad (import { functional as F } from 'rnn-native').
 */
export { add, sub, mul, tanh, sigmoid, relu } from './elementwise';
export { matmul } from './matmul';
export { softmax, logSoftmax } from './softmax';
export { maskedFill, dropout } from './masking';
export { cat, stack, narrow, indexSelect } from './shape';
export { sum, mean, max } from './reduce';
export { crossEntropy, nllLoss, mseLoss, bceWithLogitsLoss } from './losses';
export { layerNorm } from './normalization';
export { additiveScores, lengthMask } from './attention';
