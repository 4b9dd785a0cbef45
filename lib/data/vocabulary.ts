import { checkInt32Array, checkOneOf, checkOptions, rangeError, typeError } from '../core/validate';

export type Tokenization = 'char' | 'word';

/**
 * Maps text to token ids and back, by character or by word. Id 0 is the end symbol
 * `<eos>` (generation stops there), id 1 `<unk>`, which stands for every token never seen.
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
  private readonly index: Map<string, number>;

  constructor(tokens: string[], tokenization: Tokenization = 'char') {
    const ctx = 'Vocabulary';
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw typeError(ctx, 'tokens', 'an array of strings', tokens);
    this.tokenization = checkOneOf(ctx, 'tokenization', tokenization, ['char', 'word'] as const);
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
    const kind = checkOneOf('Vocabulary.fromText', 'tokenization', tokenization, ['char', 'word'] as const);
    const distinct = [...new Set(split(text, kind))].sort();
    return new Vocabulary([Vocabulary.EOS, Vocabulary.UNK, ...distinct.filter((t) => t !== Vocabulary.EOS && t !== Vocabulary.UNK)], kind);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of the end symbol. */
  get eos(): number {
    return 0;
  }

  /** Text → ids (unknown tokens → `<unk>`); `{ eos: true }` appends the end symbol. */
  encode(text: string, opts?: { eos?: boolean }): Int32Array {
    if (typeof text !== 'string') throw typeError('Vocabulary.encode', 'text', 'a string', text);
    const o = checkOptions<{ eos: boolean }>('Vocabulary.encode', 'opts', opts);
    const parts = split(text, this.tokenization);
    const out = new Int32Array(parts.length + (o.eos ? 1 : 0));
    parts.forEach((p, i) => (out[i] = this.index.get(p) ?? 1));
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

  /** A JSON-friendly description (stored in model files). */
  toJSON(): { tokens: string[]; tokenization: Tokenization } {
    return { tokens: this.tokens.slice(), tokenization: this.tokenization };
  }

  static fromJSON(json: unknown): Vocabulary {
    if (json === null || typeof json !== 'object') throw typeError('Vocabulary.fromJSON', 'json', 'an object { tokens, tokenization }', json);
    const j = json as { tokens: string[]; tokenization: Tokenization };
    return new Vocabulary(j.tokens, j.tokenization);
  }
}

function split(text: string, kind: Tokenization): string[] {
  if (kind === 'char') return Array.from(text); // code points, not UTF-16 halves
  return text.split(/\s+/).filter((w) => w.length > 0);
}
