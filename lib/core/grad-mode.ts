/**
 * Whether ops record themselves for backward (PyTorch's grad mode). On by default;
 * `noGrad(fn)` turns it off while fn runs.
 */
import { typeError } from './validate';

let enabled = true;

/** True unless inside noGrad(). @internal */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Runs `fn` with recording off, as `with torch.no_grad():` — nothing it computes keeps
 * activations for backward or has a gradient history. Covers the synchronous part of `fn`
 * (the code up to its first `await`, if it is async).
 *
 * @example
 * const logits = noGrad(() => head.forward(lstm.forward(x).output));
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw typeError('noGrad', 'fn', 'a function', fn);
  const previous = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}
