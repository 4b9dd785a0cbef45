import { checkPrecision, Precision } from '../nn/precision';
import { CellKind, LanguageModel, LanguageModelOptions } from '../models/language-model';
import { inspectSafetensors, saveSafetensors, SafetensorsFormatError, SafetensorsHeader } from './safetensors';
import { MAX_ELEMENTS, checkBoolean, checkKnownOptions, checkOptions, show, typeError } from '../core/validate';
import { Vocabulary } from '../data/vocabulary';
import { checkLayout, isJsonObject, ModelKind, optionFailure, ParameterLayout, parseJsonField, showJson } from './model-layout';

const FORMAT = 'rnn-native/language-model@1';
const OPTION_KEYS = ['vocabSize', 'hiddenSize', 'embeddingDim', 'numLayers', 'cell', 'dropout', 'tieWeights'];
const CELLS: readonly CellKind[] = ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'];
/** The LanguageModel constructor's own limit on numLayers. */
const MAX_LAYERS = 1 << 16;

/** Gates per cell: G in the (G·H, ·) weight shapes. */
const GATES: Readonly<Record<CellKind, number>> = { lstm: 4, gru: 3, rnn_tanh: 1, rnn_relu: 1 };

/**
 * The parameters of a LanguageModel with these (complete) options, by name and shape, derived
 * arithmetically: `embedding.weight` (V, E); per layer k `rnn.weight_ih_l{k}` (G·H, E for k = 0
 * else H), `rnn.weight_hh_l{k}` (G·H, H), `rnn.bias_ih_l{k}` and `rnn.bias_hh_l{k}` (G·H);
 * `head.weight` (V, H) (listed even when tied: a state dict lists a shared parameter under
 * each name) and `head.bias` (V). G is 4 for LSTM, 3 for GRU, 1 for the plain RNNs.
 * @internal
 */
export function* languageModelLayout(o: Required<LanguageModelOptions>): ParameterLayout {
  const { vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: L } = o;
  const GH = GATES[o.cell] * H;
  yield ['embedding.weight', [V, E]];
  for (let k = 0; k < L; k++) {
    yield [`rnn.weight_ih_l${k}`, [GH, k === 0 ? E : H]];
    yield [`rnn.weight_hh_l${k}`, [GH, H]];
    yield [`rnn.bias_ih_l${k}`, [GH]];
    yield [`rnn.bias_hh_l${k}`, [GH]];
  }
  yield ['head.weight', [V, H]];
  yield ['head.bias', [V]];
}

/**
 * Language-model options read from a file's JSON, checked field by field (a malformed or
 * hostile file is an Error naming the field, the expected values and what it holds) and
 * completed with the constructor's defaults.
 * @internal
 */
export function parseLanguageModelOptions(json: unknown, fail: (msg: string) => never): Required<LanguageModelOptions> {
  if (!isJsonObject(json)) return fail(`metadata.options must be a JSON object, found ${showJson(json)}`);
  const bad = optionFailure(fail, 'metadata.options');
  for (const key of Object.keys(json)) if (!OPTION_KEYS.includes(key)) fail(`metadata.options has an unknown field ${show(key)} (known: ${OPTION_KEYS.join(', ')})`);
  const int = (field: string, value: unknown, min: number, max: number): number =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : bad(field, `an integer in [${min}, ${max}]`, value);
  const vocabSize = int('vocabSize', json.vocabSize, 1, MAX_ELEMENTS);
  const hiddenSize = int('hiddenSize', json.hiddenSize, 1, MAX_ELEMENTS);
  const embeddingDim = json.embeddingDim === undefined ? hiddenSize : int('embeddingDim', json.embeddingDim, 1, MAX_ELEMENTS);
  const numLayers = json.numLayers === undefined ? 1 : int('numLayers', json.numLayers, 1, MAX_LAYERS);
  const cell = json.cell === undefined ? 'lstm' : (json.cell as CellKind);
  if (!CELLS.includes(cell)) bad('cell', `one of ${CELLS.map((c) => JSON.stringify(c)).join(', ')}`, json.cell);
  const dropout = json.dropout === undefined ? 0 : (json.dropout as number);
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout <= 1)) bad('dropout', 'a number in [0, 1]', json.dropout);
  const tieWeights = json.tieWeights === undefined ? false : (json.tieWeights as boolean);
  if (typeof tieWeights !== 'boolean') bad('tieWeights', 'a boolean', json.tieWeights);
  if (tieWeights && embeddingDim !== hiddenSize)
    fail(`metadata.options.tieWeights is true but embeddingDim (${embeddingDim}) differs from hiddenSize (${hiddenSize})`);
  return { vocabSize, hiddenSize, embeddingDim, numLayers, cell, dropout, tieWeights };
}

/** The language model as a model-file kind: format tag, options parser, layout. @internal */
export const LANGUAGE_MODEL_FILE: ModelKind<Required<LanguageModelOptions>> = {
  format: FORMAT,
  parseOptions: parseLanguageModelOptions,
  layout: languageModelLayout,
};

/** The model files rnn-native writes, by metadata.format: what each holds and what loads it. */
const MODEL_KINDS = new Map<string, { what: string; loader: string }>([
  [FORMAT, { what: 'a language model', loader: 'loadLanguageModel' }],
  ['rnn-native/seq2seq@1', { what: 'a Seq2Seq model', loader: 'loadSeq2Seq' }],
  ['rnn-native/sequence-classifier@1', { what: 'a SequenceClassifier', loader: 'loadSequenceClassifier' }],
]);

/**
 * Opens a model file of a given kind and checks it, reading nothing but the header: that it is
 * a safetensors file of that format, that its options are valid, and that they describe
 * exactly the tensors the file holds ({@link checkLayout}). Returns the options and the header
 * (whose `read()` then reads the tensors). Errors: `${ctx}: "<path>" is not an rnn-native
 * model file (…)` for a foreign file, `${ctx}: "<path>" holds a Seq2Seq model (…), … load it
 * with loadSeq2Seq` for another kind of rnn-native model, `${ctx}: "<path>": <what is wrong>` for a damaged one.
 * @internal
 */
export function openModelFile<O>(ctx: string, source: string | Uint8Array, kind: ModelKind<O>): { options: O; header: SafetensorsHeader } {
  const named = typeof source === 'string' ? `${JSON.stringify(source)} is not` : 'not';
  const foreign = (why: string): never => {
    throw new Error(`${ctx}: ${named} an rnn-native model file (${why})`);
  };
  let header: SafetensorsHeader;
  try {
    header = inspectSafetensors(ctx, source);
  } catch (err) {
    if (err instanceof SafetensorsFormatError && err.notSafetensors) foreign(err.detail);
    throw err;
  }
  const fail = (msg: string): never => {
    throw new Error(`${header.where}: ${msg}`);
  };
  const format = header.metadata.format;
  const other = typeof format === 'string' ? MODEL_KINDS.get(format) : undefined;
  if (format !== kind.format && other)
    throw new Error(`${ctx}: ${typeof source === 'string' ? JSON.stringify(source) : 'the file'} holds ${other.what} (metadata.format ${show(format)}), not ${MODEL_KINDS.get(kind.format)?.what ?? show(kind.format)}; load it with ${other.loader}`);
  if (format !== kind.format) foreign(`metadata.format is ${show(format)}, expected ${show(kind.format)}`);
  const options = kind.parseOptions(parseJsonField(header.metadata.options, 'metadata.options', fail, { maxChars: 1 << 16, maxDepth: 4 }), fail);
  checkLayout(header, kind.layout(options), 'metadata.options');
  return { options, header };
}

/**
 * Saves a language model (and its vocabulary) as one safetensors file: the weights under
 * their PyTorch names, the configuration and vocabulary in the header metadata. Atomic: a
 * crash or kill part-way leaves any previous file whole (see saveSafetensors).
 *
 * @example saveLanguageModel('model.safetensors', lm, vocab);
 */
export function saveLanguageModel(path: string, model: LanguageModel, vocabulary?: Vocabulary): void {
  if (!(model instanceof LanguageModel)) throw typeError('saveLanguageModel', 'model', 'a LanguageModel', model);
  if (vocabulary !== undefined && !(vocabulary instanceof Vocabulary)) throw typeError('saveLanguageModel', 'vocabulary', 'a Vocabulary', vocabulary);
  if (vocabulary && vocabulary.size !== model.options.vocabSize)
    throw new RangeError(`saveLanguageModel: the vocabulary has ${vocabulary.size} tokens but the model's vocabSize is ${model.options.vocabSize}`);
  const metadata: Record<string, string> = { format: FORMAT, options: JSON.stringify(model.options) };
  if (vocabulary) metadata.vocabulary = JSON.stringify(vocabulary.toJSON());
  saveSafetensors(path, model.stateDict(), metadata);
}

/**
 * Loads a file written by saveLanguageModel (or by the CLI's train command).
 *
 * The file is checked before anything is allocated: it must be a safetensors file whose
 * `metadata.format` is "rnn-native/language-model@1" (else "not an rnn-native model file"),
 * its options must be valid, and the parameter names and shapes they imply must be exactly the
 * tensors in the file (so a small file cannot ask for a large model); with `tieWeights`, the
 * stored `head.weight` must equal `embedding.weight`. Each failure is an Error saying what is
 * wrong. A file from an untrusted source therefore costs at most about three times its size
 * in memory (the tensors as read, the model's weights, their gradients; six times for 16-bit
 * tensors, which are widened to float32).
 *
 * The vocabulary is part of the result: a file saved without one (saveLanguageModel(path,
 * model)) is an Error unless `{ requireVocabulary: false }`, which types `vocabulary` as
 * optional.
 *
 * @example const { model, vocabulary } = loadLanguageModel('model.safetensors');
 */
export function loadLanguageModel(source: string | Uint8Array, opts?: { requireVocabulary?: true; precision?: Precision }): { model: LanguageModel; vocabulary: Vocabulary };
export function loadLanguageModel(source: string | Uint8Array, opts: { requireVocabulary: false; precision?: Precision }): { model: LanguageModel; vocabulary?: Vocabulary };
export function loadLanguageModel(source: string | Uint8Array, opts?: { requireVocabulary?: boolean; precision?: Precision }): { model: LanguageModel; vocabulary?: Vocabulary } {
  const ctx = 'loadLanguageModel';
  const o = checkOptions<{ requireVocabulary: boolean; precision: Precision }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['requireVocabulary', 'precision']);
  const requireVocabulary = o.requireVocabulary === undefined ? true : checkBoolean(ctx, 'opts.requireVocabulary', o.requireVocabulary);
  const precision = o.precision === undefined ? 'float32' : checkPrecision(ctx, o.precision);
  const { options, header } = openModelFile(ctx, source, LANGUAGE_MODEL_FILE);
  const fail = (msg: string): never => {
    throw new Error(`${header.where}: ${msg}`);
  };
  let vocabulary: Vocabulary | undefined;
  if (header.metadata.vocabulary !== undefined) {
    const json = parseJsonField(header.metadata.vocabulary, 'metadata.vocabulary', fail, { maxDepth: 4 });
    if (!isJsonObject(json) || !Array.isArray(json.tokens))
      fail(`metadata.vocabulary must be an object { tokens, tokenization }, found ${showJson(json)}`);
    try {
      vocabulary = Vocabulary.fromJSON(json);
    } catch (err) {
      fail(`metadata.vocabulary is not a valid vocabulary (${(err as Error).message})`);
    }
    if (vocabulary && vocabulary.size !== options.vocabSize)
      fail(`metadata.vocabulary has ${vocabulary.size} tokens but metadata.options.vocabSize is ${options.vocabSize}`);
  }
  const tensors = header.read();
  if (options.tieWeights) {
    const a = tensors['embedding.weight'].data, b = tensors['head.weight'].data;
    if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 0)
      fail('metadata.options.tieWeights is true but head.weight differs from embedding.weight');
  }
  const model = new LanguageModel(options);
  model.loadStateDict(tensors);
  if (!vocabulary && requireVocabulary)
    fail('the file holds no vocabulary (it was saved without one); pass { requireVocabulary: false } to load the model alone');
  if (precision !== 'float32') model.setPrecision(precision);
  return vocabulary ? { model, vocabulary } : { model };
}
