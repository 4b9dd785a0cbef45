/**
 * The shuffled batch order of the example-based tasks (encoder–decoders, classifiers): epoch
 * e's order comes from a generator seeded with (the run's order seed, e), so a run resumed
 * from a checkpoint, which restores the seed, continues the same order. (Internal to the package.)
 */
import { defaultGenerator, Generator } from '../../core/random';
import { Tensor } from '../../core/tensor';
import type { SafetensorsEntry } from '../../io/safetensors';

export class EpochOrder {
  /** Two 32-bit words drawn from the default generator when the task is prepared. */
  private readonly seed = [defaultGenerator.nextUint32(), defaultGenerator.nextUint32()];

  /** The generator that shuffles epoch `epoch`. */
  generator(epoch: number): Generator {
    return new Generator(this.seed[0] * 2 ** 21 + (this.seed[1] >>> 11) + epoch);
  }

  /** The checkpoint's state: the seed as four 16-bit halves (float32 holds them exactly), shape [4]. */
  saveState(): Record<string, Tensor> {
    const [a, b] = this.seed;
    return { orderSeed: new Tensor(Float32Array.from([a >>> 16, a & 0xffff, b >>> 16, b & 0xffff]), [4]) };
  }

  checkState(entries: readonly SafetensorsEntry[], damaged: (msg: string) => never): void {
    const names = entries.map((e) => e.name).join(',');
    if (names !== 'orderSeed' || entries[0].shape.length !== 1 || entries[0].shape[0] !== 4)
      damaged(`must hold one tensor orderSeed of shape [4], holds ${JSON.stringify(names)}`);
  }

  loadState(t: Record<string, Tensor>): void {
    const half = (x: number) => (Number.isFinite(x) ? Math.round(x) : 0) & 0xffff; // a damaged value changes the order, nothing else
    const v = t.orderSeed.data;
    this.seed[0] = ((half(v[0]) << 16) | half(v[1])) >>> 0;
    this.seed[1] = ((half(v[2]) << 16) | half(v[3])) >>> 0;
  }
}
