/**
 * The files of `rnn-native seq2seq`: tab-separated pairs (`source<TAB>target`, one a line) and
 * the tokens of each side, split per character (`char`) or on whitespace (`space`).
 * (Internal to the package.)
 */
import { Vocabulary } from '../data/vocabulary';
import { CliError } from './args';
import { readText } from './files';

export type SideTokens = 'char' | 'space';

export interface TextPairs {
  sources: string[];
  targets: string[];
  /** The 1-based line of each pair in its file, for messages. */
  lines: number[];
}

/** The lines of a text file: a BOM dropped, CRLF read as LF, no empty last line. */
export function textLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The tokens of one side of a pair. */
export function tokensOf(text: string, kind: SideTokens): string[] {
  return kind === 'char' ? Array.from(text) : text.split(/\s+/).filter(Boolean);
}

/**
 * Reads `source<TAB>target` pairs. Blank lines are skipped; any other line must hold exactly
 * one tab with tokens on both sides, else a CliError naming the file, the line and what is wrong with it.
 */
export function readPairs(file: string, sourceTokens: SideTokens, targetTokens: SideTokens): TextPairs {
  const text = readText(file);
  const out: TextPairs = { sources: [], targets: [], lines: [] };
  const lines = textLines(text);
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.trim() === '') return;
    const tabs = line.split('\t').length - 1;
    if (tabs === 0) throw new CliError(`${where}: no tab in ${preview(line)}; each line is source<TAB>target`);
    if (tabs > 1) throw new CliError(`${where}: ${tabs} tabs in ${preview(line)}; each line is source<TAB>target, with one tab`);
    const [source, target] = line.split('\t');
    if (tokensOf(source, sourceTokens).length === 0) throw new CliError(`${where}: the source (before the tab) is empty in ${preview(line)}`);
    if (tokensOf(target, targetTokens).length === 0) throw new CliError(`${where}: the target (after the tab) is empty in ${preview(line)}`);
    out.sources.push(source);
    out.targets.push(target);
    out.lines.push(i + 1);
  });
  if (out.sources.length === 0)
    throw new CliError(lines.length === 0 ? `${file} is empty: there are no pairs to train on` : `${file} holds only blank lines: there are no pairs to train on`);
  return out;
}

/** A line quoted for a message, cut to 60 characters. */
function preview(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}...` : line);
}

/** A vocabulary of every token on one side: `<eos>`, `<unk>`, then the tokens in code-point order. */
export function vocabularyOf(texts: string[], kind: SideTokens): Vocabulary {
  const seen = new Set<string>();
  for (const t of texts) for (const tok of tokensOf(t, kind)) seen.add(tok);
  seen.delete(Vocabulary.EOS);
  seen.delete(Vocabulary.UNK);
  const sorted = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Vocabulary([Vocabulary.EOS, Vocabulary.UNK, ...sorted], kind === 'char' ? 'char' : 'word');
}
