/** Classification metrics over predicted and true class ids. */
import { checkInt32Array, checkInteger, checkKnownOptions, checkOptions, rangeError, typeError } from '../core/validate';

function checkPair(ctx: string, predicted: Int32Array, target: Int32Array): void {
  checkInt32Array(ctx, 'predicted', predicted);
  checkInt32Array(ctx, 'target', target, predicted.length);
}

/**
 * The fraction of positions where predicted equals target (0..1); positions whose target is
 * `ignoreIndex` are left out.
 * @example accuracy(argmax(logits), labels) // 0.93
 */
export function accuracy(predicted: Int32Array, target: Int32Array, opts?: { ignoreIndex?: number }): number {
  const ctx = 'accuracy';
  checkPair(ctx, predicted, target);
  const o = checkOptions<{ ignoreIndex: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['ignoreIndex']);
  const ignore = o.ignoreIndex === undefined ? undefined : checkInteger(ctx, 'opts.ignoreIndex', o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
  let right = 0, counted = 0;
  for (let i = 0; i < target.length; i++) {
    if (target[i] === ignore) continue;
    counted++;
    if (predicted[i] === target[i]) right++;
  }
  return counted ? right / counted : NaN;
}

/**
 * The confusion matrix: entry [t][p] counts positions of true class t predicted as p.
 * @example const m = confusionMatrix(predicted, labels, 2); // [[tn, fp], [fn, tp]]
 */
export function confusionMatrix(predicted: Int32Array, target: Int32Array, numClasses: number): number[][] {
  const ctx = 'confusionMatrix';
  checkPair(ctx, predicted, target);
  checkInteger(ctx, 'numClasses', numClasses, 1, 1 << 16);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < target.length; i++) {
    const t = target[i], p = predicted[i];
    if (t < 0 || t >= numClasses) throw rangeError(ctx, `target[${i}]`, `a class in [0, ${numClasses})`, t);
    if (p < 0 || p >= numClasses) throw rangeError(ctx, `predicted[${i}]`, `a class in [0, ${numClasses})`, p);
    m[t][p]++;
  }
  return m;
}

/** Precision, recall and F1 of one class, with how many examples truly belong to it. */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** What classificationReport() measures. */
export interface ClassificationReport {
  /** The fraction of examples classified right (0..1). */
  accuracy: number;
  /** Per class, by label (or by class id as a string when no labels are given). */
  classes: Record<string, ClassMetrics>;
  /** The unweighted mean F1 over the classes. */
  macroF1: number;
  /** Entry [t][p] counts examples of true class t predicted as p. */
  confusion: number[][];
}

/**
 * Accuracy, per-class precision, recall and F1, their macro average and the confusion
 * matrix, as scikit-learn's classification_report computes them (a ratio with nothing to
 * count is 0, as its zero_division=0).
 * @example
 * const r = classificationReport(predicted, labels, 2, ['ham', 'spam']);
 * r.classes.spam.f1; // 0.97
 */
export function classificationReport(predicted: Int32Array, target: Int32Array, numClasses: number, labels?: string[]): ClassificationReport {
  const ctx = 'classificationReport';
  if (labels !== undefined && (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')))
    throw typeError(ctx, 'labels', `an array of ${numClasses} class names`, labels);
  if (labels !== undefined && labels.length !== numClasses) throw rangeError(ctx, 'labels', `an array of ${numClasses} class names (numClasses)`, labels);
  const m = confusionMatrix(predicted, target, numClasses);
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const classes: Record<string, ClassMetrics> = {};
  let right = 0, f1Sum = 0;
  for (let c = 0; c < numClasses; c++) {
    right += m[c][c];
    let truly = 0, called = 0;
    for (let k = 0; k < numClasses; k++) {
      truly += m[c][k];
      called += m[k][c];
    }
    const precision = ratio(m[c][c], called), recall = ratio(m[c][c], truly);
    const f1 = ratio(2 * precision * recall, precision + recall);
    f1Sum += f1;
    classes[labels ? labels[c] : String(c)] = { precision, recall, f1, support: truly };
  }
  return { accuracy: ratio(right, target.length), classes, macroF1: f1Sum / numClasses, confusion: m };
}
