/**
 * `rnn-native classify predict <model> [--input FILE] [--proba]`: classifies texts (one a
 * line, from --input or stdin) with a model saved by `classify train`, writing one label a line
 * in order — with --proba, each class's probability after it (`spam<TAB>ham:0.0123<TAB>spam:0.9877`).
 * A terminal's lines are answered one by one; piped input is classified in batches. An empty
 * line is an error naming it. (Internal to the package.)
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { MAX_ELEMENTS } from '../core/validate';
import { CliError, integer, Options, parseWithOne } from './args';
import { checkReadable } from './files';
import { HELP } from './help';
import { loadClassifier } from './labelled';

export const CLASSIFY_PREDICT_OPTIONS: Options = { input: { type: 'string' }, proba: { type: 'boolean' }, batch: { type: 'string' } };

export async function classifyPredict(args: string[], others: Record<string, string>): Promise<number> {
  const parsed = parseWithOne('classify predict', 'one model file', args, CLASSIFY_PREDICT_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;
  const batchSize = integer(v, 'batch', { min: 1, max: MAX_ELEMENTS }) ?? 64;
  const inputFile = v.input as string | undefined;
  if (inputFile !== undefined) checkReadable(inputFile);
  const { model, vocabulary, labels } = loadClassifier(file, 'classify predict');
  const maxLength = model.options.maxLength ?? undefined;
  const where = inputFile ?? 'stdin';

  const input = inputFile !== undefined ? fs.createReadStream(inputFile, 'utf8') : process.stdin;
  const batch = inputFile === undefined && process.stdin.isTTY ? 1 : batchSize; // a person typing gets each answer at once
  const C = labels.length;
  const flush = (lines: string[]): void => {
    const p = model.predictProba(lines.map((l) => vocabulary.encode(l, maxLength === undefined ? {} : { maxLength }))).data;
    const rows = lines.map((_, i) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[i * C + c] > p[i * C + best]) best = c;
      return v.proba ? [labels[best], ...labels.map((l, c) => `${l}:${p[i * C + c].toFixed(4)}`)].join('\t') : labels[best];
    });
    process.stdout.write(rows.map((r) => `${r}\n`).join(''));
  };

  const reader = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
  let pending: string[] = [];
  let lineNo = 0;
  try {
    for await (const raw of reader) {
      const line = lineNo === 0 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      lineNo++;
      if (line.trim() === '') {
        if (pending.length > 0) flush(pending); // the lines before it are answered
        pending = [];
        throw new CliError(`${where}:${lineNo}: the text is empty; each line is one text to classify`);
      }
      pending.push(line);
      if (pending.length >= batch) {
        flush(pending);
        pending = [];
      }
      if (process.stdout.destroyed) break; // `| head` closed the pipe
    }
    if (pending.length > 0 && !process.stdout.destroyed) flush(pending);
  } finally {
    reader.close();
  }
  return 0;
}
