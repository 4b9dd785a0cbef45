/**
 * What `rnn-native classify` prints: training progress (a redrawn line on a terminal, one
 * line per epoch otherwise) with the validation accuracy, and classification reports as a
 * table — accuracy, per-class precision / recall / F1 with their support, the confusion
 * matrix — or as JSON. Losses are cross-entropies in nats. (Internal to the package.)
 */
import type { ClassificationReport } from '../data/metrics';
import type { BatchInfo, EpochInfo } from '../train/types';

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const seconds = (s: number): string => `${s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : s.toFixed(0)} s`;

/** The report as aligned text lines (a header line with the accuracy first). */
export function reportLines(r: ClassificationReport, labels: readonly string[], title: string): string[] {
  const width = Math.max(5, ...labels.map((l) => l.length));
  const lines = [`${title}: accuracy ${pct(r.accuracy)} (${r.confusion.flat().reduce((a, b) => a + b, 0)} examples), macro F1 ${pct(r.macroF1)}`];
  lines.push(`  ${'class'.padEnd(width)}  precision     recall         F1  support`);
  for (const l of labels) {
    const c = r.classes[l];
    lines.push(`  ${l.padEnd(width)}  ${pct(c.precision).padStart(9)}  ${pct(c.recall).padStart(9)}  ${pct(c.f1).padStart(9)}  ${String(c.support).padStart(7)}`);
  }
  const cell = Math.max(6, ...r.confusion.flat().map((n) => String(n).length), ...labels.map((l) => l.length));
  lines.push(`  confusion (rows: true class, columns: predicted)`);
  lines.push(`  ${''.padEnd(width)}  ${labels.map((l) => l.padStart(cell)).join(' ')}`);
  r.confusion.forEach((row, t) => lines.push(`  ${labels[t].padEnd(width)}  ${row.map((n) => String(n).padStart(cell)).join(' ')}`));
  return lines;
}

/** The report as JSON: accuracy and per-class figures in percent, the confusion matrix as counts. */
export function reportJson(r: ClassificationReport): Record<string, unknown> {
  const round = (x: number) => Math.round(x * 1e6) / 1e4; // percent, 4 decimals
  return {
    accuracy: round(r.accuracy),
    macroF1: round(r.macroF1),
    classes: Object.fromEntries(Object.entries(r.classes).map(([l, c]) => [l, { precision: round(c.precision), recall: round(c.recall), f1: round(c.f1), support: c.support }])),
    confusion: r.confusion,
  };
}

/** Progress while `classify train` runs. */
export class TrainingReporter {
  private last = 0;
  private rate = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(private readonly o: { epochs: number | null; maxSeconds?: number; live: boolean; stream: NodeJS.WritableStream }) {}

  private epochName(epoch: number): string {
    return this.o.epochs === null ? `epoch ${epoch + 1}` : `epoch ${epoch + 1}/${this.o.epochs}`;
  }

  /** One batch done: redraws the progress line, at most 10 times a second. */
  batch(b: BatchInfo): void {
    if (!this.o.live) return;
    this.rate = this.rate === 0 ? b.tokensPerSecond : 0.9 * this.rate + 0.1 * b.tokensPerSecond;
    const now = Date.now();
    if (now - this.last < 100 && b.batch < b.batchesPerEpoch) return;
    this.last = now;
    const frac = Math.min(1, b.batch / b.batchesPerEpoch);
    const filled = Math.round(frac * 20);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(20 - filled);
    const left = this.o.maxSeconds === undefined ? '' : `  ${Math.max(0, Math.ceil(this.o.maxSeconds - (now - this.started) / 1000))} s left`;
    this.o.stream.write(`\r\x1b[K${this.epochName(b.epoch)} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  loss ${b.loss.toFixed(4)}  ${Math.round(this.rate)} texts/s${left}`);
    this.drawn = true;
  }

  /** One epoch done (or the run stopped inside it): train loss, validation loss, accuracy and macro F1. */
  epoch(e: EpochInfo): void {
    const head = e.partial ? `stopped in ${this.epochName(e.epoch)} after ${seconds(e.seconds)}` : `${this.epochName(e.epoch)} done in ${seconds(e.seconds)}`;
    const val = Number.isFinite(e.valLoss) && e.metrics
      ? `, val loss ${e.valLoss.toFixed(4)}, accuracy ${e.metrics.accuracy.toFixed(2)}%, macro F1 ${e.metrics.macroF1.toFixed(2)}%`
      : ' (no validation texts)';
    this.line(`${head}: train loss ${e.trainLoss.toFixed(4)}${val}`);
  }

  /** A line of its own, clearing the progress line first. */
  line(text: string): void {
    this.o.stream.write(`${this.drawn ? '\r\x1b[K' : ''}${text}\n`);
    this.drawn = false;
  }

  end(): void {
    if (this.drawn) this.o.stream.write('\n');
    this.drawn = false;
  }
}
