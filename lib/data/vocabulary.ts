import { checkBoolean, checkInt32Array, checkInteger, checkKnownOptions, checkOneOf, checkOptions, rangeError, typeError } from '../core/validate';

/**
 * How text splits into tokens: 'char' per character (code point); 'word' on whitespace;
 * 'wordpunct' into runs of letters, digits and marks, and every other non-space character on
 * its own (`"Free!!"` → `Free`, `!`, `!`), as NLTK's wordpunct_tokenize.
 */
export type Tokenization = 'char' | 'word' | 'wordpunct';
const TOKENIZATIONS = ['char', 'word', 'wordpunct'] as const;

/** What Vocabulary.fromTexts builds from. */
export interface VocabularyOptions {
  /** Default 'wordpunct'. */
  tokenization?: Tokenization;
  /** Lower-case text before splitting it (here and in every later encode). Default false. */
  lowercase?: boolean;
  /** Keep tokens seen at least this often; rarer ones become `<unk>`. Default 1. */
  minCount?: number;
  /** Keep at most this many tokens (`<eos>` and `<unk>` included), the most frequent. Default: no limit. */
  maxSize?: number;
}

/**
 * Maps text to token ids and back, by character or by word. Id 0 is the end symbol
 * `<eos>` (generation stops there), id 1 `<unk>`, which stands for every token never seen.
 * A vocabulary that lower-cases does so in every encode.
 *
 * @example
 * const vocab = Vocabulary.fromText('hello world', 'char');
 * const ids = vocab.encode('hello');  // Int32Array
 * vocab.decode(ids);                  // 'hello'
 */
export class Vocabulary {
  static readonly EOS = '<eos>';
  static readonly UNK = '<unk>';
  readonly tokens: readonly string[];
  readonly tokenization: Tokenization;
  /** Whether encode() lower-cases the text first. */
  readonly lowercase: boolean;
  /**
   * How often each token occurred in the texts a vocabulary was built from (fromTexts; `<unk>`
   * counts the tokens left out), else null. Not saved in files.
   */
  counts: Float64Array | null = null;
  private readonly index: Map<string, number>;

  constructor(tokens: string[], tokenization: Tokenization = 'char', opts?: { lowercase?: boolean }) {
    const ctx = 'Vocabulary';
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw typeError(ctx, 'tokens', 'an array of strings', tokens);
    this.tokenization = checkOneOf(ctx, 'tokenization', tokenization, TOKENIZATIONS);
    const o = checkOptions<{ lowercase: boolean }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['lowercase']);
    this.lowercase = checkBoolean(ctx, 'opts.lowercase', o.lowercase ?? false);
    if (tokens[0] !== Vocabulary.EOS || tokens[1] !== Vocabulary.UNK)
      throw new RangeError(`${ctx}: tokens must start with "${Vocabulary.EOS}", "${Vocabulary.UNK}"`);
    this.index = new Map();
    tokens.forEach((t, i) => {
      if (this.index.has(t)) throw rangeError(ctx, `tokens[${i}]`, 'a token not already in the list', t);
      this.index.set(t, i);
    });
    this.tokens = Object.freeze(tokens.slice());
  }

  /** Builds the vocabulary of a text: its distinct characters or words, in sorted order. */
  static fromText(text: string, tokenization: Tokenization = 'char'): Vocabulary {
    if (typeof text !== 'string') throw typeError('Vocabulary.fromText', 'text', 'a string', text);
    const kind = checkOneOf('Vocabulary.fromText', 'tokenization', tokenization, TOKENIZATIONS);
    const distinct = [...new Set(split(text, kind))].sort();
    return new Vocabulary([Vocabulary.EOS, Vocabulary.UNK, ...distinct.filter((t) => t !== Vocabulary.EOS && t !== Vocabulary.UNK)], kind);
  }

  /**
   * Builds the vocabulary of a collection of texts (documents, messages): their tokens seen at
   * least `minCount` times, the most frequent first (ties in code-point order), at most
   * `maxSize` in all. `counts` then holds each token's count (what a frequency-weighted
   * embedding normalisation reads).
   * @example
   * const vocab = Vocabulary.fromTexts(messages, { lowercase: true, minCount: 2 });
   * vocab.encode('FREE money!', { maxLength: 400 }); // ids of "free", "money", "!"
   */
  static fromTexts(texts: string[], opts?: VocabularyOptions): Vocabulary {
    const ctx = 'Vocabulary.fromTexts';
    if (!Array.isArray(texts)) throw typeError(ctx, 'texts', 'an array of strings', texts);
    const o = checkOptions<VocabularyOptions>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['tokenization', 'lowercase', 'minCount', 'maxSize']);
    const tokenization = checkOneOf(ctx, 'opts.tokenization', o.tokenization ?? 'wordpunct', TOKENIZATIONS);
    const lowercase = checkBoolean(ctx, 'opts.lowercase', o.lowercase ?? false);
    const minCount = checkInteger(ctx, 'opts.minCount', o.minCount ?? 1, 1);
    const maxSize = o.maxSize === undefined ? Infinity : checkInteger(ctx, 'opts.maxSize', o.maxSize, 2);
    const counts = new Map<string, number>();
    texts.forEach((text, i) => {
      if (typeof text !== 'string') throw typeError(ctx, `texts[${i}]`, 'a string', text);
      for (const t of split(lowercase ? text.toLowerCase() : text, tokenization)) counts.set(t, (counts.get(t) ?? 0) + 1);
    });
    let unknown = (counts.get(Vocabulary.UNK) ?? 0) + (counts.get(Vocabulary.EOS) ?? 0);
    counts.delete(Vocabulary.UNK);
    counts.delete(Vocabulary.EOS);
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const kept: Array<[string, number]> = [];
    for (const entry of ranked) {
      if (entry[1] >= minCount && kept.length + 2 < maxSize) kept.push(entry);
      else unknown += entry[1];
    }
    const vocab = new Vocabulary([Vocabulary.EOS, Vocabulary.UNK, ...kept.map(([t]) => t)], tokenization, { lowercase });
    vocab.counts = Float64Array.from([0, unknown, ...kept.map(([, n]) => n)]);
    return vocab;
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of the end symbol. */
  get eos(): number {
    return 0;
  }

  /** The tokens of a text as encode() reads them (lower-cased when the vocabulary lower-cases). */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw typeError('Vocabulary.tokenize', 'text', 'a string', text);
    return split(this.lowercase ? text.toLowerCase() : text, this.tokenization);
  }

  /**
   * Text → ids (unknown tokens → `<unk>`); `{ eos: true }` appends the end symbol;
   * `{ maxLength }` keeps the text's first maxLength tokens (truncation, before the end symbol).
   */
  encode(text: string, opts?: { eos?: boolean; maxLength?: number }): Int32Array {
    const ctx = 'Vocabulary.encode';
    if (typeof text !== 'string') throw typeError(ctx, 'text', 'a string', text);
    const o = checkOptions<{ eos: boolean; maxLength: number }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['eos', 'maxLength']);
    const maxLength = o.maxLength === undefined ? Infinity : checkInteger(ctx, 'opts.maxLength', o.maxLength, 1);
    const parts = this.tokenize(text);
    const n = Math.min(parts.length, maxLength);
    const out = new Int32Array(n + (o.eos ? 1 : 0)); // with eos, the last slot stays 0 (<eos>)
    for (let i = 0; i < n; i++) out[i] = this.index.get(parts[i]) ?? 1;
    return out;
  }

  /** Ids → text; the end symbol ends the text unless `{ keepEos: true }`. */
  decode(ids: Int32Array | number[], opts?: { keepEos?: boolean }): string {
    if (Array.isArray(ids))
      ids.forEach((id, i) => {
        if (typeof id !== 'number') throw typeError('Vocabulary.decode', `ids[${i}]`, 'a token id (number)', id);
        if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length)
          throw rangeError('Vocabulary.decode', `ids[${i}]`, `a token id in [0, ${this.tokens.length})`, id);
      });
    const arr = Array.isArray(ids) ? Int32Array.from(ids) : checkInt32Array('Vocabulary.decode', 'ids', ids);
    const o = checkOptions<{ keepEos: boolean }>('Vocabulary.decode', 'opts', opts);
    const parts: string[] = [];
    for (const id of arr) {
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) throw rangeError('Vocabulary.decode', 'ids', `ids in [0, ${this.tokens.length})`, id);
      if (id === 0 && !o.keepEos) break;
      parts.push(this.tokens[id]);
    }
    return this.tokenization === 'char' ? parts.join('') : parts.join(' ');
  }

  /** A JSON-friendly description (stored in model files); `lowercase` appears only when true. */
  toJSON(): { tokens: string[]; tokenization: Tokenization; lowercase?: true } {
    return { tokens: this.tokens.slice(), tokenization: this.tokenization, ...(this.lowercase ? { lowercase: true as const } : {}) };
  }

  static fromJSON(json: unknown): Vocabulary {
    if (json === null || typeof json !== 'object') throw typeError('Vocabulary.fromJSON', 'json', 'an object { tokens, tokenization }', json);
    const j = json as { tokens: string[]; tokenization: Tokenization; lowercase?: boolean };
    return new Vocabulary(j.tokens, j.tokenization, j.lowercase === undefined ? undefined : { lowercase: j.lowercase });
  }
}

/** A run of letters, marks and digits, or one other non-space character. */
const WORDPUNCT = /[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]/gu;

function split(text: string, kind: Tokenization): string[] {
  if (kind === 'char') return Array.from(text); // code points, not UTF-16 halves
  if (kind === 'wordpunct') return text.match(WORDPUNCT) ?? [];
  return text.split(/\s+/).filter((w) => w.length > 0);
}
