// The exact exports of build/Release/rnn_native.node (or a prebuild). No logic here.
// Float32 entry points take Float32Array; the *64 twins take Float64Array and exist for
// finite-difference gradient checks.

/** Cell codes shared with native/kernels/recurrent_layer.h (CellType). */
export type CellCode = 0 | 1 | 2 | 3; // RnnTanh, RnnRelu, Lstm, Gru

type FloatArray = Float32Array | Float64Array;

export interface RecurrentStackHandle<A extends FloatArray> {
  /** input (T,B,I) or (B,T,I); h0/c0/hN/cN (L*D,B,H); output (T,B,D*H) or (B,T,D*H). */
  forward(
    T: number, B: number, input: A, h0: A | null, c0: A | null, lengths: Int32Array | null,
    weights: A[], training: boolean, seedLo: number, seedHi: number, output: A, hN: A, cN: A | null,
  ): void;
  /** Adds parameter gradients into grads; writes gradInput, gradH0, gradC0. */
  backward(
    gradOutput: A | null, gradHN: A | null, gradCN: A | null, weights: A[], grads: A[],
    gradInput: A, gradH0: A, gradC0: A | null,
  ): void;
  /** [T, B] saved by the last training forward, or null. */
  savedShape(): [number, number] | null;
}

export interface RecurrentStackConstructor<A extends FloatArray> {
  new (
    cell: CellCode, inputSize: number, hiddenSize: number, numLayers: number, bidirectional: boolean,
    bias: boolean, batchFirst: boolean, dropout: number,
  ): RecurrentStackHandle<A>;
}

export interface NativeBinding {
  setNumThreads(n: number): void;
  getNumThreads(): number;
  openblasConfig(): string;
  hardwareConcurrency(): number;
  readonly napiVersion: number;
  RecurrentStack: RecurrentStackConstructor<Float32Array>;
  RecurrentStack64: RecurrentStackConstructor<Float64Array>;
  /** The norm of all gradients taken as one vector (accumulated in double); normType Infinity = max |g|. */
  gradNorm(grads: Float32Array[], normType: number): number;
  /** Multiplies every element by factor (rounded to float32). */
  scaleGrads(grads: Float32Array[], factor: number): void;
  clipGradValue(grads: Float32Array[], clipValue: number): void;
}
