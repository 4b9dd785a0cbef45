/** How Seq2Seq.translate decodes (its own file, so that the worker-thread modules can share it). */
export interface DecodeOptions {
  /** 'beam' (default when beamSize > 1), 'greedy' (default otherwise) or 'sample'. */
  mode?: 'greedy' | 'beam' | 'sample';
  /** Beams per source (default 5). */
  beamSize?: number;
  /** At most this many tokens per output (default: 2 × the longest source + 10). */
  maxLength?: number;
  /** Hypotheses are ranked by log-probability / length^lengthPenalty (default 1: the mean). */
  lengthPenalty?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}
