/**
 * What `rnn-native train` prints while it runs: losses in bits per token (the unit named:
 * bits/char or bits/word) and perplexity, as the demo reports them, never in nats. On a
 * terminal, a progress line redrawn in place; otherwise one line per epoch. (Internal to the package.)
 */
import type { BatchInfo, EpochInfo } from '../train/fit-sync';

/** Nats (what the loss functions return) to bits. */
export const bits = (nats: number): number => nats / Math.LN2;

/** `0.03 s`, `4.2 s`, `125 s`. */
const seconds = (s: number): string => `${s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : s.toFixed(0)} s`;

/** `val 2.031 bits/char, perplexity 4.09` (or `train …` when there is no validation loss). */
export function lossSummary(e: Pick<EpochInfo, 'valLoss' | 'trainLoss'>, unit: string, prefix = 'val', noun = 'text'): string {
  if (Number.isFinite(e.valLoss)) return `${prefix} ${bits(e.valLoss).toFixed(3)} ${unit}, perplexity ${Math.exp(e.valLoss).toFixed(2)}`;
  return `train ${bits(e.trainLoss).toFixed(3)} ${unit} (no validation ${noun})`;
}

export interface ReporterOptions {
  /** 'bits/char' or 'bits/word'. */
  unit: string;
  /** The --epochs limit, or null when the run is bounded by time or patience only. */
  epochs: number | null;
  /** --max-seconds, to show the time left. */
  maxSeconds?: number;
  /** Redraw a progress line (a terminal). */
  live: boolean;
  stream: NodeJS.WritableStream;
  /** What the validation data is called when there is none: 'text' (the default) or 'pairs'. */
  validationNoun?: string;
}

export class Reporter {
  private last = 0;
  private tokensPerSecond = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(private readonly o: ReporterOptions) {}

  private epochName(epoch: number): string {
    return this.o.epochs === null ? `epoch ${epoch + 1}` : `epoch ${epoch + 1}/${this.o.epochs}`;
  }

  /** One batch done: redraws the progress line, at most 10 times a second. */
  batch(b: BatchInfo): void {
    if (!this.o.live) return;
    this.tokensPerSecond = this.tokensPerSecond === 0 ? b.tokensPerSecond : 0.9 * this.tokensPerSecond + 0.1 * b.tokensPerSecond;
    const now = Date.now();
    if (now - this.last < 100 && b.batch < b.batchesPerEpoch) return;
    this.last = now;
    const width = 20;
    const frac = Math.min(1, b.batch / b.batchesPerEpoch);
    const filled = Math.round(frac * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
    const left = this.o.maxSeconds === undefined ? '' : `  ${Math.max(0, Math.ceil(this.o.maxSeconds - (now - this.started) / 1000))} s left`;
    this.o.stream.write(
      `\r\x1b[K${this.epochName(b.epoch)} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  train ${bits(b.loss).toFixed(3)} ${this.o.unit}` +
        `  lr ${b.lr.toExponential(2)}  ${Math.round(this.tokensPerSecond).toLocaleString('en-US')} tok/s${left}`,
    );
    this.drawn = true;
  }

  /** One epoch done (or the run stopped inside it): one line. */
  epoch(e: EpochInfo): void {
    const head = e.partial ? `stopped in ${this.epochName(e.epoch)} after ${seconds(e.seconds)}` : `${this.epochName(e.epoch)} done in ${seconds(e.seconds)}`;
    const val = Number.isFinite(e.valLoss) ? `, ${lossSummary(e, this.o.unit)}` : ` (no validation ${this.o.validationNoun ?? 'text'})`;
    const accuracy = e.metrics?.tokenAccuracy !== undefined ? `, token accuracy ${e.metrics.tokenAccuracy.toFixed(1)}%` : '';
    this.line(`${head}: train ${bits(e.trainLoss).toFixed(3)} ${this.o.unit}${val}${accuracy}`);
  }

  /** A line of its own, clearing the progress line first. */
  line(text: string): void {
    this.o.stream.write(`${this.drawn ? '\r\x1b[K' : ''}${text}\n`);
    this.drawn = false;
  }

  /** Leaves the terminal on a fresh line. */
  end(): void {
    if (this.drawn) this.o.stream.write('\n');
    this.drawn = false;
  }
}
