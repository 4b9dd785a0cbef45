/** A one-line terminal progress bar for training (stderr, redrawn in place). (Internal to the package.) */
import type { BatchInfo, EpochInfo, ValidationInfo } from './fit-sync';

export class ProgressBar {
  private last = 0;
  private smoothed = 0;
  constructor(private readonly epochs: number, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  batch(b: BatchInfo): void {
    this.smoothed = this.smoothed === 0 ? b.tokensPerSecond : 0.9 * this.smoothed + 0.1 * b.tokensPerSecond;
    const now = Date.now();
    if (now - this.last < 100 && b.batch < b.batchesPerEpoch) return; // at most 10 redraws a second
    this.last = now;
    const width = 24;
    const frac = Math.min(1, b.batch / b.batchesPerEpoch);
    const filled = Math.round(frac * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
    this.stream.write(
      `\repoch ${b.epoch + 1}/${this.epochs} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  loss ${b.loss.toFixed(4)}  ` +
        `lr ${b.lr.toExponential(2)}  ${Math.round(this.smoothed).toLocaleString('en-US')} tok/s `,
    );
  }

  validation(v: ValidationInfo): void {
    this.stream.write(
      `\rstep ${v.step}: val loss ${v.valLoss.toFixed(4)} (perplexity ${v.perplexity.toFixed(2)}, ${v.bitsPerToken.toFixed(3)} bits/token)` +
        ' '.repeat(40) + '\n',
    );
  }

  epoch(e: EpochInfo): void {
    const what = e.partial ? `stopped in epoch ${e.epoch + 1}/${this.epochs} after` : `epoch ${e.epoch + 1}/${this.epochs} done in`;
    this.stream.write(
      `\r${what} ${e.seconds.toFixed(1)} s: train loss ${e.trainLoss.toFixed(4)}, ` +
        `val loss ${e.valLoss.toFixed(4)} (perplexity ${e.perplexity.toFixed(2)}, ${e.bitsPerToken.toFixed(3)} bits/token)` +
        ' '.repeat(10) + '\n',
    );
  }
}
