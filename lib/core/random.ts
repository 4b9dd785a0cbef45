import { checkInteger, rangeError, typeError } from './validate';

/**
 * A small, fast, seedable generator (xoshiro128**) used for parameter initialisation,
 * dropout seeds and sampling. Its state can be saved and restored, so a resumed run
 * draws the same numbers as one that never stopped.
 *
 * @example
 * const g = new Generator(42);
 * g.uniform(); // in [0, 1)
 */
export class Generator {
  private s = new Uint32Array(4);

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Resets the state from an integer seed (splitmix32 expansion, so seed 0 is fine). */
  seed(seed: number): void {
    checkInteger('Generator.seed', 'seed', seed, 0, Number.MAX_SAFE_INTEGER);
    let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Fills `out` with uniform values in [lo, hi). */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    const span = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + span * this.uniform();
    return out;
  }

  /** A copy of the internal state (4 unsigned 32-bit words). */
  getState(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    if (!Array.isArray(state)) throw typeError('Generator.setState', 'state', 'an array of 4 unsigned 32-bit integers', state);
    if (state.length !== 4 || !state.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32))
      throw rangeError('Generator.setState', 'state', 'an array of 4 unsigned 32-bit integers', state);
    this.s.set(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator used when none is given: initialisation, dropout, sampling. */
export const defaultGenerator = new Generator(0x5eed);

/**
 * Seeds the default generator, making initialisation, dropout and sampling reproducible.
 * @example manualSeed(1234);
 */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
