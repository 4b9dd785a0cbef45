import { LanguageModel, LanguageModelOptions } from '../models/language-model';
import { loadSafetensors, saveSafetensors } from './safetensors';
import { Tensor } from '../core/tensor';
import { typeError } from '../core/validate';
import { Vocabulary } from '../data/vocabulary';

const FORMAT = 'rnn-native/language-model@1';

/**
 * Saves a language model (and its vocabulary) as one safetensors file: the weights under
 * their PyTorch names, the configuration and vocabulary in the header metadata. Atomic.
 *
 * @example saveLanguageModel('model.safetensors', lm, vocab);
 */
export function saveLanguageModel(path: string, model: LanguageModel, vocabulary?: Vocabulary): void {
  if (!(model instanceof LanguageModel)) throw typeError('saveLanguageModel', 'model', 'a LanguageModel', model);
  if (vocabulary !== undefined && !(vocabulary instanceof Vocabulary)) throw typeError('saveLanguageModel', 'vocabulary', 'a Vocabulary', vocabulary);
  const metadata: Record<string, string> = { format: FORMAT, options: JSON.stringify(model.options) };
  if (vocabulary) metadata.vocabulary = JSON.stringify(vocabulary.toJSON());
  saveSafetensors(path, model.stateDict(), metadata);
}

/**
 * Loads a file written by saveLanguageModel (or by the CLI's train command).
 *
 * @example const { model, vocabulary } = loadLanguageModel('model.safetensors');
 */
export function loadLanguageModel(source: string | Uint8Array): { model: LanguageModel; vocabulary?: Vocabulary } {
  const { tensors, metadata } = loadSafetensors(source);
  if (metadata.format !== FORMAT || typeof metadata.options !== 'string')
    throw new Error(`loadLanguageModel: not an rnn-native language model file (metadata.format is ${JSON.stringify(metadata.format)})`);
  const model = new LanguageModel(JSON.parse(metadata.options) as LanguageModelOptions);
  model.loadStateDict(tensors as Record<string, Tensor>);
  const vocabulary = metadata.vocabulary ? Vocabulary.fromJSON(JSON.parse(metadata.vocabulary)) : undefined;
  return vocabulary ? { model, vocabulary } : { model };
}
