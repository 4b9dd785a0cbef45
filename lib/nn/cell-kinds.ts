/**
 * The one table of recurrent cell kinds on the TypeScript side; its twin on the native side
 * is native/kernels/cell_kinds.h (a test checks that they agree). A new cell kind adds a row
 * here and there, its math in native/kernels/cells.{h,cc}, and a case where the kernels
 * dispatch on the cell type.
 */
import type { CellCode } from '../../binding';

/** The cell of a recurrent layer or language model. */
export type CellKind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

/** @internal */
export interface CellKindInfo {
  /** The native CellType. */
  code: CellCode;
  /** G: stacked gate blocks of H rows in weight_ih / weight_hh. */
  gates: number;
  /** Carries c besides h (LSTM). */
  hasCellState: boolean;
  /** The layer class's name, for messages. */
  label: 'RNN' | 'LSTM' | 'GRU';
}

/** @internal */
export const CELL_KINDS: Readonly<Record<CellKind, CellKindInfo>> = Object.freeze({
  rnn_tanh: { code: 0, gates: 1, hasCellState: false, label: 'RNN' },
  rnn_relu: { code: 1, gates: 1, hasCellState: false, label: 'RNN' },
  lstm: { code: 2, gates: 4, hasCellState: true, label: 'LSTM' },
  gru: { code: 3, gates: 3, hasCellState: false, label: 'GRU' },
});
