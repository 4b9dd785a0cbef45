/**
 * Numerical faults during training: finding a non-finite loss, gradient or weight cheaply,
 * and (detectAnomaly) re-running a failing batch module by module to name the first module
 * whose output, or whose backward pass, was non-finite.
 * (Internal to the package.)
 */
import { native } from '../native/addon';
import { defaultGenerator } from '../core/random';
import { LanguageModel, LMState } from '../models/language-model';
import { crossEntropy } from '../nn/loss';
import { Parameter } from '../core/tensor';

/** Whether every element of every array is finite: one native pass (sum of |x| in double). */
export function allFinite(arrays: Float32Array[]): boolean {
  // Finite float32 values cannot overflow a double sum of |x| at any size we allow, so the sum is
  // finite exactly when no element is ±Infinity or NaN.
  return arrays.length === 0 || Number.isFinite(native.gradNorm(arrays, 1));
}

/** The name of the first parameter whose `pick` (data or grad) holds a non-finite value, or null. */
export function firstNonFinite(named: Array<[string, Parameter]>, pick: 'data' | 'grad'): string | null {
  for (const [name, p] of named) if (!allFinite([p[pick]])) return name;
  return null;
}

/**
 * The error of a step whose loss or gradient was non-finite with `nonFinite: 'stop'` (or whose
 * weights were). `step` is the failing step (1-based, as BatchInfo.step); the model holds the
 * weights from before it.
 */
export class NonFiniteError extends Error {
  constructor(message: string, readonly step: number) {
    super(message);
    this.name = 'Error';
  }
}

/**
 * Re-runs one batch module by module, as LanguageModel.forward/backward compute it
 * (embedding → rnn → head → cross-entropy, then head, rnn, embedding backward), and names the
 * first one whose result holds a non-finite value. `rng` is the default generator's state
 * before the failing step, so dropout draws the same masks; the generator is restored after,
 * and the gradients zeroed. Never throws: a failing re-run is reported in the result.
 */
export function diagnose(model: LanguageModel, x: Int32Array, T: number, B: number, state: LMState | undefined, y: Int32Array, rng: number[] | null): string {
  const after = defaultGenerator.getState();
  const H = model.options.hiddenSize;
  const finite = (a: Float32Array) => allFinite([a]);
  const gradsOf = (prefix: string): string | null =>
    firstNonFinite(model.namedParameters().filter(([n]) => n.startsWith(`${prefix}.`)), 'grad');
  try {
    if (rng) defaultGenerator.setState(rng);
    model.zeroGrad();
    const emb = model.embedding.forward(x, [T, B]);
    if (!finite(emb.data)) return "the first non-finite output is embedding's (forward)";
    const r = model.rnn.forward(emb, state);
    if (!finite(r.output.data) || !finite(r.h.data) || (r.c !== undefined && !finite(r.c.data)))
      return "the first non-finite output is rnn's (forward; embedding's output is finite)";
    const logits = model.head.forward(r.output.reshape([T * B, H]));
    if (!finite(logits.data)) return "the first non-finite output is head's (forward; embedding's and rnn's outputs are finite)";
    const { loss, grad } = crossEntropy(logits, y);
    if (!Number.isFinite(loss) || !finite(grad.data)) return 'the cross-entropy of finite logits is non-finite';
    const dOut = model.head.backward(grad);
    const headGrad = gradsOf('head');
    if (headGrad || !finite(dOut.data))
      return `the forward pass is finite; the first non-finite gradient is head's (backward: ${headGrad ? `gradient of ${headGrad}` : 'gradient of its input'})`;
    const g = model.rnn.backward(dOut.reshape([T, B, H]));
    const rnnGrad = gradsOf('rnn');
    if (rnnGrad || !finite(g.gradInput.data))
      return `the forward pass is finite; the first non-finite gradient is rnn's (backward: ${rnnGrad ? `gradient of ${rnnGrad}` : 'gradient of its input'}; head's are finite)`;
    model.embedding.backward(g.gradInput);
    const embGrad = gradsOf('embedding');
    if (embGrad) return `the forward pass is finite; the first non-finite gradient is embedding's (backward: gradient of ${embGrad})`;
    return 'the module-by-module re-run of the batch was finite throughout (the fault did not reproduce)';
  } catch (err) {
    return `the module-by-module re-run failed (${(err as Error).message})`;
  } finally {
    defaultGenerator.setState(after);
    model.zeroGrad();
  }
}
