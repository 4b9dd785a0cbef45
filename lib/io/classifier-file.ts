/**
 * SequenceClassifier model files: one safetensors file with the weights under their
 * PyTorch-style names and, in the metadata, the options, the vocabulary and the class labels.
 * Loading checks the options against the tensors the file holds before anything is built
 * (model-layout.ts).
 */
import { checkOptions, typeError } from '../core/validate';
import { Vocabulary } from '../data/vocabulary';
import { resolveClassifierOptions, SequenceClassifier, SequenceClassifierOptions } from '../models/sequence-classifier';
import { CELL_KINDS } from '../nn/cell-kinds';
import { isJsonObject, ModelKind, ParameterLayout, parseJsonField, showJson } from './model-layout';
import { openModelFile } from './model-file';
import { saveSafetensors } from './safetensors';

const FORMAT = 'rnn-native/sequence-classifier@1';

/**
 * The parameters of a SequenceClassifier with these (complete) options, by name and shape,
 * derived arithmetically (test/80 checks it against the model's state dict). @internal
 */
export function* classifierLayout(o: Required<SequenceClassifierOptions>): ParameterLayout {
  const G = CELL_KINDS[o.cell].gates;
  const D = o.bidirectional ? 2 : 1;
  const H = o.hiddenSize, E = o.embeddingDim, Fd = D * H;
  if (o.normalizeEmbeddings) yield ['token_frequencies', [o.vocabSize]];
  yield ['embedding.weight', [o.vocabSize, E]];
  for (let k = 0; k < o.numLayers; k++)
    for (let d = 0; d < D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      yield [`rnn.weight_ih${sfx}`, [G * H, k === 0 ? E : Fd]];
      yield [`rnn.weight_hh${sfx}`, [G * H, H]];
      yield [`rnn.bias_ih${sfx}`, [G * H]];
      yield [`rnn.bias_hh${sfx}`, [G * H]];
    }
  if (o.pooling === 'attention') {
    yield ['pooling.proj.weight', [Fd, Fd]];
    yield ['pooling.proj.bias', [Fd]];
    yield ['pooling.context.weight', [1, Fd]];
  }
  yield ['classifier.weight', [o.numClasses, Fd]];
  yield ['classifier.bias', [o.numClasses]];
}

/** Options from a file's JSON: the constructor's checks, reported as the file's error. @internal */
export function parseClassifierOptions(json: unknown, fail: (msg: string) => never): Required<SequenceClassifierOptions> {
  if (!isJsonObject(json)) return fail(`metadata.options must be a JSON object, found ${showJson(json)}`);
  try {
    return resolveClassifierOptions('metadata.options', json);
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** The classifier as a model-file kind. @internal */
export const CLASSIFIER_FILE: ModelKind<Required<SequenceClassifierOptions>> = { format: FORMAT, parseOptions: parseClassifierOptions, layout: classifierLayout };

/** What a classifier file keeps besides the weights. */
export interface ClassifierFileContents {
  /** How texts become token ids. */
  vocabulary: Vocabulary;
  /** The name of each class, by id. */
  labels: string[];
}

/** `what` (e.g. "labels", "metadata.labels") must be numClasses distinct names a TSV line can hold. */
function checkLabels(labels: unknown, numClasses: number, what: string, fail: (msg: string) => never): string[] {
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) return fail(`${what} must be an array of strings, received ${showJson(labels)}`);
  if (labels.length !== numClasses) fail(`${what} holds ${labels.length} label${labels.length === 1 ? '' : 's'}, but the model has ${numClasses} classes`);
  const seen = new Set<string>();
  for (const l of labels as string[]) {
    if (l === '' || /[\t\n\r]/.test(l)) fail(`${what} holds ${JSON.stringify(l)}: a label must not be empty nor hold a tab or a line break`);
    if (seen.has(l)) fail(`${what} holds ${JSON.stringify(l)} twice`);
    seen.add(l);
  }
  return (labels as string[]).slice();
}

/**
 * Saves a SequenceClassifier with its vocabulary and class labels as one safetensors file
 * (atomically: a crash part-way leaves any previous file whole).
 * @example saveSequenceClassifier('spam.safetensors', model, { vocabulary: vocab, labels: ['ham', 'spam'] });
 */
export function saveSequenceClassifier(path: string, model: SequenceClassifier, contents: ClassifierFileContents): void {
  const ctx = 'saveSequenceClassifier';
  if (!(model instanceof SequenceClassifier)) throw typeError(ctx, 'model', 'a SequenceClassifier', model);
  const c = checkOptions<ClassifierFileContents>(ctx, 'contents', contents);
  if (!(c.vocabulary instanceof Vocabulary)) throw typeError(ctx, 'contents.vocabulary', 'a Vocabulary', c.vocabulary);
  if (c.vocabulary.size !== model.options.vocabSize)
    throw new RangeError(`${ctx}: the vocabulary has ${c.vocabulary.size} tokens, the model's vocabSize is ${model.options.vocabSize}`);
  if (!Array.isArray(c.labels)) throw typeError(ctx, 'contents.labels', 'an array of class names', c.labels);
  const labels = checkLabels(c.labels, model.options.numClasses, 'contents.labels', (msg) => {
    throw new RangeError(`${ctx}: ${msg}`);
  });
  saveSafetensors(path, model.stateDict(), {
    format: FORMAT, options: JSON.stringify(model.options), vocabulary: JSON.stringify(c.vocabulary.toJSON()), labels: JSON.stringify(labels),
  });
}

/**
 * Loads a file written by saveSequenceClassifier (or `rnn-native classify train`), checked
 * before anything is built: the format ("not an rnn-native model file" otherwise; a model of
 * another kind names its loader), the options, the tensors they imply, the vocabulary and the
 * labels — so a small hostile file cannot ask for a large model.
 * @example const { model, vocabulary, labels } = loadSequenceClassifier('spam.safetensors');
 */
export function loadSequenceClassifier(source: string | Uint8Array): { model: SequenceClassifier; vocabulary: Vocabulary; labels: string[] } {
  const ctx = 'loadSequenceClassifier';
  const { options, header } = openModelFile(ctx, source, CLASSIFIER_FILE);
  const fail = (msg: string): never => {
    throw new Error(`${header.where}: ${msg}`);
  };
  const json = parseJsonField(header.metadata.vocabulary, 'metadata.vocabulary', fail, { maxDepth: 4 });
  if (!isJsonObject(json) || !Array.isArray(json.tokens)) return fail(`metadata.vocabulary must be an object { tokens, tokenization }, found ${showJson(json)}`);
  let vocabulary: Vocabulary | undefined;
  try {
    vocabulary = Vocabulary.fromJSON(json);
  } catch (err) {
    fail(`metadata.vocabulary is not a valid vocabulary (${(err as Error).message})`);
  }
  if (vocabulary!.size !== options.vocabSize) fail(`metadata.vocabulary has ${vocabulary!.size} tokens, but metadata.options.vocabSize is ${options.vocabSize}`);
  const labels = checkLabels(parseJsonField(header.metadata.labels, 'metadata.labels', fail, { maxDepth: 2 }), options.numClasses, 'metadata.labels', fail);
  const model = new SequenceClassifier(options);
  model.loadStateDict(header.read());
  return { model, vocabulary: vocabulary!, labels };
}
