/**
 * Seq2Seq model files: one safetensors file with the weights under their PyTorch-style names
 * and, in the metadata, the options and both vocabularies. Loading checks the options against
 * the tensors the file holds before anything is built (model-layout.ts).
 */
import { checkOptions, MAX_ELEMENTS, show, typeError } from '../core/validate';
import { Vocabulary } from '../data/vocabulary';
import { Seq2Seq, Seq2SeqOptions } from '../models/seq2seq';
import { CELL_KINDS, CellKind } from '../nn/cell-kinds';
import { isJsonObject, ModelKind, optionFailure, ParameterLayout, parseJsonField, showJson } from './model-layout';
import { openModelFile } from './model-file';
import { saveSafetensors } from './safetensors';

const FORMAT = 'rnn-native/seq2seq@1';
const OPTION_KEYS = ['sourceVocabSize', 'targetVocabSize', 'embeddingDim', 'hiddenSize', 'cell', 'encoderLayers', 'decoderLayers',
  'bidirectional', 'attention', 'inputFeeding', 'dropout', 'tieTargetEmbeddings'];
const ATTENTION = ['none', 'dot', 'general', 'additive'] as const;
const MAX_LAYERS = 64;

/**
 * The parameters of a Seq2Seq with these (complete) options, by name and shape, derived
 * arithmetically (test/29 checks it against the model's state dict). @internal
 */
export function* seq2seqLayout(o: Required<Seq2SeqOptions>): ParameterLayout {
  const G = CELL_KINDS[o.cell].gates;
  const D = o.bidirectional ? 2 : 1;
  const H = o.hiddenSize, He = H / D, E = o.embeddingDim;
  yield ['encoder.embedding.weight', [o.sourceVocabSize, E]];
  for (let k = 0; k < o.encoderLayers; k++)
    for (let d = 0; d < D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      yield [`encoder.rnn.weight_ih${sfx}`, [G * He, k === 0 ? E : D * He]];
      yield [`encoder.rnn.weight_hh${sfx}`, [G * He, He]];
      yield [`encoder.rnn.bias_ih${sfx}`, [G * He]];
      yield [`encoder.rnn.bias_hh${sfx}`, [G * He]];
    }
  const Ld = o.decoderLayers;
  yield ['bridge_h.weight', [Ld * H, H]];
  yield ['bridge_h.bias', [Ld * H]];
  if (o.cell === 'lstm') {
    yield ['bridge_c.weight', [Ld * H, H]];
    yield ['bridge_c.bias', [Ld * H]];
  }
  yield ['decoder.embedding.weight', [o.targetVocabSize, E]];
  for (let k = 0; k < Ld; k++) {
    yield [`decoder.rnn.weight_ih_l${k}`, [G * H, k === 0 ? E + (o.inputFeeding ? H : 0) : H]];
    yield [`decoder.rnn.weight_hh_l${k}`, [G * H, H]];
    yield [`decoder.rnn.bias_ih_l${k}`, [G * H]];
    yield [`decoder.rnn.bias_hh_l${k}`, [G * H]];
  }
  if (o.attention === 'general') yield ['decoder.attention.linear_key.weight', [H, H]];
  if (o.attention === 'additive') {
    yield ['decoder.attention.v', [H]];
    yield ['decoder.attention.linear_query.weight', [H, H]];
    yield ['decoder.attention.linear_query.bias', [H]];
    yield ['decoder.attention.linear_key.weight', [H, H]];
  }
  if (o.attention !== 'none') yield ['decoder.combine.weight', [H, 2 * H]];
  yield ['decoder.out.weight', [o.targetVocabSize, H]];
  yield ['decoder.out.bias', [o.targetVocabSize]];
}

/** Seq2Seq options from a file's JSON, checked field by field and completed with the defaults. @internal */
export function parseSeq2SeqOptions(json: unknown, fail: (msg: string) => never): Required<Seq2SeqOptions> {
  if (!isJsonObject(json)) return fail(`metadata.options must be a JSON object, found ${showJson(json)}`);
  const bad = optionFailure(fail, 'metadata.options');
  for (const key of Object.keys(json)) if (!OPTION_KEYS.includes(key)) fail(`metadata.options has an unknown field ${show(key)} (known: ${OPTION_KEYS.join(', ')})`);
  const int = (field: string, value: unknown, min: number, max: number, fallback: number): number =>
    value === undefined ? fallback : typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : bad(field, `an integer in [${min}, ${max}]`, value);
  const bool = (field: string, value: unknown, fallback: boolean): boolean =>
    value === undefined ? fallback : typeof value === 'boolean' ? value : bad(field, 'a boolean', value);
  const cells = Object.keys(CELL_KINDS) as CellKind[];
  const cell = (json.cell ?? 'lstm') as CellKind;
  if (!cells.includes(cell)) bad('cell', `one of ${cells.map((c) => JSON.stringify(c)).join(', ')}`, json.cell);
  const attention = (json.attention ?? 'general') as (typeof ATTENTION)[number];
  if (!ATTENTION.includes(attention)) bad('attention', `one of ${ATTENTION.map((a) => JSON.stringify(a)).join(', ')}`, json.attention);
  const dropout = json.dropout === undefined ? 0.2 : (json.dropout as number);
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) bad('dropout', 'a number in [0, 1)', json.dropout);
  if (json.sourceVocabSize === undefined) fail('metadata.options.sourceVocabSize is missing');
  if (json.targetVocabSize === undefined) fail('metadata.options.targetVocabSize is missing');
  const o: Required<Seq2SeqOptions> = {
    sourceVocabSize: int('sourceVocabSize', json.sourceVocabSize, 1, MAX_ELEMENTS, 0),
    targetVocabSize: int('targetVocabSize', json.targetVocabSize, 1, MAX_ELEMENTS, 0),
    embeddingDim: int('embeddingDim', json.embeddingDim, 1, MAX_ELEMENTS, 128),
    hiddenSize: int('hiddenSize', json.hiddenSize, 1, MAX_ELEMENTS, 256),
    cell,
    encoderLayers: int('encoderLayers', json.encoderLayers, 1, MAX_LAYERS, 1),
    decoderLayers: int('decoderLayers', json.decoderLayers, 1, MAX_LAYERS, 1),
    bidirectional: bool('bidirectional', json.bidirectional, true),
    attention,
    inputFeeding: bool('inputFeeding', json.inputFeeding, attention !== 'none'),
    dropout,
    tieTargetEmbeddings: bool('tieTargetEmbeddings', json.tieTargetEmbeddings, false),
  };
  if (o.bidirectional && o.hiddenSize % 2 !== 0) fail(`metadata.options.hiddenSize must be even with a bidirectional encoder, found ${o.hiddenSize}`);
  if (o.inputFeeding && o.attention === 'none') fail('metadata.options.inputFeeding is true but attention is "none"');
  if (o.tieTargetEmbeddings && o.embeddingDim !== o.hiddenSize)
    fail(`metadata.options.tieTargetEmbeddings is true but embeddingDim (${o.embeddingDim}) differs from hiddenSize (${o.hiddenSize})`);
  return o;
}

/** The Seq2Seq as a model-file kind. @internal */
export const SEQ2SEQ_FILE: ModelKind<Required<Seq2SeqOptions>> = { format: FORMAT, parseOptions: parseSeq2SeqOptions, layout: seq2seqLayout };

/** The two vocabularies of a Seq2Seq file. */
export interface Seq2SeqVocabularies {
  source: Vocabulary;
  target: Vocabulary;
}

/**
 * Saves a Seq2Seq and its vocabularies as one safetensors file (atomically: a crash part-way
 * leaves any previous file whole).
 * @example saveSeq2Seq('g2p.safetensors', model, { source: letters, target: phonemes });
 */
export function saveSeq2Seq(path: string, model: Seq2Seq, vocabularies: Seq2SeqVocabularies): void {
  const ctx = 'saveSeq2Seq';
  if (!(model instanceof Seq2Seq)) throw typeError(ctx, 'model', 'a Seq2Seq', model);
  const v = checkOptions<Seq2SeqVocabularies>(ctx, 'vocabularies', vocabularies);
  if (!(v.source instanceof Vocabulary)) throw typeError(ctx, 'vocabularies.source', 'a Vocabulary', v.source);
  if (!(v.target instanceof Vocabulary)) throw typeError(ctx, 'vocabularies.target', 'a Vocabulary', v.target);
  if (v.source.size !== model.options.sourceVocabSize || v.target.size !== model.options.targetVocabSize)
    throw new RangeError(
      `${ctx}: the vocabularies have ${v.source.size} and ${v.target.size} tokens, the model ${model.options.sourceVocabSize} and ${model.options.targetVocabSize}`,
    );
  saveSafetensors(path, model.stateDict(), {
    format: FORMAT, options: JSON.stringify(model.options),
    sourceVocabulary: JSON.stringify(v.source.toJSON()), targetVocabulary: JSON.stringify(v.target.toJSON()),
  });
}

/**
 * Loads a file written by saveSeq2Seq (or `rnn-native seq2seq train`), checked before anything
 * is built: the format ("not an rnn-native model file" otherwise), the options, the tensors
 * they imply, both vocabularies and their sizes — so a small hostile file cannot ask for a
 * large model.
 * @example const { model, sourceVocabulary, targetVocabulary } = loadSeq2Seq('g2p.safetensors');
 */
export function loadSeq2Seq(source: string | Uint8Array): { model: Seq2Seq; sourceVocabulary: Vocabulary; targetVocabulary: Vocabulary } {
  const ctx = 'loadSeq2Seq';
  const { options, header } = openModelFile(ctx, source, SEQ2SEQ_FILE);
  const fail = (msg: string): never => {
    throw new Error(`${header.where}: ${msg}`);
  };
  const vocabulary = (field: 'sourceVocabulary' | 'targetVocabulary', size: number): Vocabulary => {
    const json = parseJsonField(header.metadata[field], `metadata.${field}`, fail, { maxDepth: 4 });
    if (!isJsonObject(json) || !Array.isArray(json.tokens)) return fail(`metadata.${field} must be an object { tokens, tokenization }, found ${showJson(json)}`);
    let v: Vocabulary | undefined;
    try {
      v = Vocabulary.fromJSON(json);
    } catch (err) {
      fail(`metadata.${field} is not a valid vocabulary (${(err as Error).message})`);
    }
    if (v!.size !== size) fail(`metadata.${field} has ${v!.size} tokens, but the model's options say ${size}`);
    return v!;
  };
  const sourceVocabulary = vocabulary('sourceVocabulary', options.sourceVocabSize);
  const targetVocabulary = vocabulary('targetVocabulary', options.targetVocabSize);
  const tensors = header.read();
  if (options.tieTargetEmbeddings) {
    const a = tensors['decoder.embedding.weight'].data, b = tensors['decoder.out.weight'].data;
    if (a.length !== b.length || a.some((x, i) => !Object.is(x, b[i]))) fail('metadata.options.tieTargetEmbeddings is true but decoder.out.weight differs from decoder.embedding.weight');
  }
  const model = new Seq2Seq(options);
  model.loadStateDict(tensors);
  return { model, sourceVocabulary, targetVocabulary };
}
