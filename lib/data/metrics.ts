/** Classification metrics over predicted and true class ids. */
import { checkInt32Array, checkInteger, rangeError } from '../core/validate';

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
  const ignore = opts?.ignoreIndex;
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
