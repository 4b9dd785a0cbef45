/**
 * `rnn-native classify evaluate <model> --input <test.tsv> [--attack [EPSILON]] [--json]`:
 * accuracy, per-class precision / recall / F1 and the confusion matrix of a model saved by
 * `classify train` on labelled texts; with --attack, the same under the embedding-space attack
 * adversarial training defends against; with --json, one JSON line at the end
 * (`{"accuracy": …, "macroF1": …, "classes": {…}, "confusion": […]}`, figures in percent, and
 * `"attack": {"epsilon": …, …}` with --attack). (Internal to the package.)
 */
import { MAX_ELEMENTS } from '../core/validate';
import { evaluateClassifier } from '../train/adversarial';
import { CliError, integer, number, Options, parseWithOne } from './args';
import { reportJson, reportLines } from './classify-report';
import { checkReadable } from './files';
import { HELP } from './help';
import { classIds, DEFAULT_EPSILON, loadClassifier, optionalNumber, readLabelled } from './labelled';

export const CLASSIFY_EVALUATE_OPTIONS: Options = {
  input: { type: 'string' }, attack: { type: 'string' }, json: { type: 'boolean' }, batch: { type: 'string' },
};

export async function classifyEvaluate(rawArgs: string[], others: Record<string, string>): Promise<number> {
  const args = optionalNumber(rawArgs, 'attack', DEFAULT_EPSILON);
  const parsed = parseWithOne('classify evaluate', 'one model file', args, CLASSIFY_EVALUATE_OPTIONS, others, HELP);
  if (!parsed) return 0;
  const { values: v, positional: file } = parsed;
  if (v.input === undefined) throw new CliError('classify evaluate needs --input <file>: the labelled texts (label<TAB>text) to evaluate on', true);
  const inputFile = String(v.input);
  const epsilon = number(v, 'attack', { min: 0, minExclusive: true });
  const batchSize = integer(v, 'batch', { min: 1, max: MAX_ELEMENTS }) ?? 64;
  checkReadable(inputFile);
  const { model, vocabulary, labels } = loadClassifier(file, 'classify evaluate');
  const data = readLabelled(inputFile);
  const target = classIds(inputFile, data, labels);
  const maxLength = model.options.maxLength ?? undefined;
  const sequences = data.texts.map((t) => vocabulary.encode(t, maxLength === undefined ? {} : { maxLength }));

  const clean = evaluateClassifier(model, { sequences, labels: target }, { labels, batchSize });
  const lines = reportLines(clean, labels, `${inputFile}`);
  const json: Record<string, unknown> = reportJson(clean);
  if (epsilon !== undefined) {
    const attacked = evaluateClassifier(model, { sequences, labels: target }, { labels, batchSize, epsilon });
    lines.push(...reportLines(attacked, labels, `under attack (ε ${epsilon})`));
    json.attack = { epsilon, ...reportJson(attacked) };
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (v.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  return 0;
}
