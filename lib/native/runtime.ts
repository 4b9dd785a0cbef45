import { native } from './addon';
import { checkInteger } from '../core/validate';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg: { version: string } = require('../../package.json');

/**
 * Sets how many threads the library's kernel pool uses, process-wide (OpenBLAS itself stays
 * single-threaded; the kernels split work on top of it). The default is the number of cores.
 * See docs/threading.md for the policy.
 *
 * @example setNumThreads(1); // leave the other core to the rest of the service
 */
export function setNumThreads(n: number): void {
  native.setNumThreads(checkInteger('setNumThreads', 'n', n, 1, 1024));
}

/**
 * The number of threads the native kernels use.
 * @example console.log(getNumThreads());
 */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Versions: this package, the OpenBLAS build it runs on, and the N-API version.
 * @example console.log(version.openblas); // "OpenBLAS 0.3.21 … SkylakeX MAX_THREADS=64"
 */
export const version: { readonly package: string; readonly openblas: string; readonly napi: number } = Object.freeze({
  package: pkg.version,
  openblas: native.openblasConfig().trim(),
  napi: native.napiVersion,
});
