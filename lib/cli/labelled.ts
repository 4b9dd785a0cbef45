/**
 * What `rnn-native classify` reads and loads: labelled texts (`label<TAB>text`, one a line),
 * the optional ε of `--adversarial` and `--attack`, and a classifier model file with its
 * loader's errors turned into one line. (Internal to the package.)
 */
import { loadSequenceClassifier } from '../io/classifier-file';
import type { SequenceClassifier } from '../models/sequence-classifier';
import type { Vocabulary } from '../data/vocabulary';
import { CliError } from './args';
import { checkReadable, readText } from './files';
import { textLines } from './pairs';

export interface LabelledTexts {
  labels: string[];
  texts: string[];
  /** The 1-based line of each example in its file, for messages. */
  lines: number[];
}

/** A line quoted for a message, cut to 60 characters. */
export function preview(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}...` : line);
}

/**
 * Reads `label<TAB>text` lines: the label is everything before the first tab, the text the
 * rest. Blank lines are skipped; a line without a tab, with an empty label or an empty text
 * is a CliError naming the file and the line.
 */
export function readLabelled(file: string): LabelledTexts {
  const lines = textLines(readText(file));
  const out: LabelledTexts = { labels: [], texts: [], lines: [] };
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    const tab = line.indexOf('\t');
    if (tab < 0) throw new CliError(`${where}: no tab in ${preview(line)}; each line is label<TAB>text`);
    const label = line.slice(0, tab).trim();
    const text = line.slice(tab + 1);
    if (label === '') throw new CliError(`${where}: the label (before the tab) is empty in ${preview(line)}`);
    if (text.trim() === '') throw new CliError(`${where}: the text (after the tab) is empty in ${preview(line)}`);
    out.labels.push(label);
    out.texts.push(text);
    out.lines.push(i + 1);
  });
  if (out.texts.length === 0)
    throw new CliError(lines.length === 0 ? `${file} is empty: there are no labelled texts in it` : `${file} holds only blank lines: there are no labelled texts in it`);
  return out;
}

/** The class id of every label, or a CliError naming the line of the first unknown one. */
export function classIds(file: string, data: LabelledTexts, labels: readonly string[]): Int32Array {
  const index = new Map(labels.map((l, i) => [l, i]));
  return Int32Array.from(data.labels, (l, k) => {
    const id = index.get(l);
    if (id === undefined)
      throw new CliError(`${file}:${data.lines[k]}: unknown label ${JSON.stringify(l)}; the model knows ${labels.map((x) => JSON.stringify(x)).join(', ')}`);
    return id;
  });
}

/**
 * The ε that `--adversarial` and `--attack` use when given without a value: the perturbation
 * norm per sequence, in units of the normalised embeddings (each dimension has variance 1
 * over the vocabulary), that examples/spam found to keep clean accuracy and raise robustness.
 */
export const DEFAULT_EPSILON = 2;

/**
 * `--name` may stand alone (then it means `fallback`) or take a number: `--adversarial`,
 * `--adversarial 3`, `--adversarial=3`. Rewrites a bare one as `--name=<fallback>` so that the
 * strict parser sees a value. Anything after a bare flag that is not a number stays as it was.
 */
export function optionalNumber(args: string[], name: string, fallback: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (args[i] === `--${name}` && (next === undefined || !/^[-+]?(\d|\.\d)/.test(next))) out.push(`--${name}=${fallback}`);
    else out.push(args[i]);
  }
  return out;
}

/** Loads a classifier file, turning the loader's errors into one line that names the file. */
export function loadClassifier(file: string, command: string): { model: SequenceClassifier; vocabulary: Vocabulary; labels: string[] } {
  checkReadable(file);
  try {
    return loadSequenceClassifier(file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/holds a language model/.test(message))
      throw new CliError(`${file} is a language model (saved by 'rnn-native train'); ${command} needs a model saved by 'rnn-native classify train'`);
    if (/holds a Seq2Seq model/.test(message))
      throw new CliError(`${file} is an encoder-decoder (saved by 'rnn-native seq2seq train'); ${command} needs a model saved by 'rnn-native classify train'`);
    throw new CliError(message.includes(file) ? message.replace(/^loadSequenceClassifier: /, '') : `${file}: ${message}`);
  }
}
