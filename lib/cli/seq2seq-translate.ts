/**
 * `rnn-native seq2seq translate <model> [--input FILE]`: decodes source lines (from --input or
 * stdin) with a model saved by `seq2seq train`, one output line per input line, in order. A
 * terminal's lines are answered one by one; piped input is decoded in batches. (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { MAX_ELEMENTS } from '../core/validate';
import { loadSeq2Seq } from '../io/seq2seq-file';
import type { Seq2Seq } from '../models/seq2seq';
import type { Vocabulary } from '../data/vocabulary';
import { CliError, integer, number, Options, parseWithOne } from './args';
import { checkReadable } from './files';
import { HELP } from './help';

export const SEQ2SEQ_TRANSLATE_OPTIONS: Options = {
  beam: { type: 'string' }, 'max-length': { type: 'string' }, 'length-penalty': { type: 'string' },
  input: { type: 'string' }, batch: { type: 'string' },
};

/** Loads the model, turning the loader's errors into one line that names the file. */
function loadModel(file: string): { model: Seq2Seq; sourceVocabulary: Vocabulary; targetVocabulary: Vocabulary } {
  checkReadable(file);
  try {
    return loadSeq2Seq(file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/holds a language model/.test(message))
      throw new CliError(`${file} is a language model (saved by 'rnn-native train'); seq2seq translate needs a model saved by 'rnn-native seq2seq train'`);
    if (/holds a SequenceClassifier/.test(message))
      throw new CliError(`${file} is a text classifier (saved by 'rnn-native classify train'); seq2seq translate needs a model saved by 'rnn-native seq2seq train'`);
    throw new CliError(message.includes(file) ? message.replace(/^loadSeq2Seq: /, '') : `${file}: ${message}`);
  }
}

export async function seq2seqTranslate(args: string[], others: Record<string, string>): Promise<number> {
  const parsed = parseWithOne('seq2seq translate', 'one model file', args, SEQ2SEQ_TRANSLATE_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;
  const beamSize = integer(v, 'beam', { min: 1, max: 1024 }) ?? 5;
  const maxLength = integer(v, 'max-length', { min: 1, max: 1 << 20 });
  const lengthPenalty = number(v, 'length-penalty', { min: 0 }) ?? 1;
  const batchSize = integer(v, 'batch', { min: 1, max: MAX_ELEMENTS }) ?? 64;
  const inputFile = v.input as string | undefined;
  if (inputFile !== undefined) checkReadable(inputFile);
  const { model, sourceVocabulary, targetVocabulary } = loadModel(file);

  const input = inputFile !== undefined ? fs.createReadStream(inputFile, 'utf8') : process.stdin;
  // A person typing gets each answer at once; a file or a pipe is decoded in batches.
  const batch = inputFile === undefined && process.stdin.isTTY ? 1 : batchSize;
  const known = new Set(sourceVocabulary.tokens);
  const warned = new Set<string>();
  const opts = { mode: beamSize > 1 ? ('beam' as const) : ('greedy' as const), beamSize, lengthPenalty, ...(maxLength !== undefined ? { maxLength } : {}) };

  /** Decodes a batch of lines: an empty (or all-blank) line gives an empty output line. */
  const flush = (lines: string[]): void => {
    const ids = lines.map((l) => sourceVocabulary.encode(l));
    for (const l of lines)
      for (const tok of sourceVocabulary.tokenize(l))
        if (!known.has(tok) && !warned.has(tok) && warned.size < 10) {
          warned.add(tok);
          process.stderr.write(`rnn-native: note: the model never saw ${JSON.stringify(tok)}; it reads it as the unknown token\n`);
        }
    const rows = ids.map((x, i) => (x.length > 0 ? i : -1)).filter((i) => i >= 0);
    const outputs = rows.length > 0 ? model.translate(rows.map((i) => ids[i]), opts) : [];
    const text: string[] = lines.map(() => '');
    rows.forEach((i, k) => (text[i] = targetVocabulary.decode(outputs[k])));
    process.stdout.write(text.map((t) => `${t}\n`).join(''));
  };

  const reader = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
  let pending: string[] = [];
  let first = true;
  for await (const raw of reader) {
    const line = first && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    first = false;
    pending.push(line);
    if (pending.length >= batch) {
      flush(pending);
      pending = [];
    }
    if (process.stdout.destroyed) break; // `| head` closed the pipe
  }
  if (pending.length > 0 && !process.stdout.destroyed) flush(pending);
  return 0;
}
