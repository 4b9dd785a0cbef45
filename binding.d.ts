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
  /** forward on a libuv worker thread (training must be false); resolves when the outputs are written. */
  forwardAsync(
    T: number, B: number, input: A, h0: A | null, c0: A | null, lengths: Int32Array | null,
    weights: A[], training: false, seedLo: number, seedHi: number, output: A, hN: A, cN: A | null,
    head?: [y: A, weight: A, bias: A | null, N: number, inFeatures: number, outFeatures: number] | null,
  ): Promise<void>;
  /** forward with layer 0 reading table (V, I) rows by ids (T·B, each in [0, V)), not materialised. */
  forwardTokens(
    T: number, B: number, ids: Int32Array, h0: A | null, c0: A | null, lengths: Int32Array | null,
    weights: A[], training: boolean, seedLo: number, seedHi: number, output: A, hN: A, cN: A | null,
    V: number, table: A,
  ): void;
  /** forwardTokens on a libuv worker thread (training must be false), optionally followed by a Linear head like forwardAsync's. */
  forwardTokensAsync(
    T: number, B: number, ids: Int32Array, h0: A | null, c0: A | null, lengths: Int32Array | null,
    weights: A[], training: false, seedLo: number, seedHi: number, output: A, hN: A, cN: A | null,
    V: number, table: A,
    head?: [y: A, weight: A, bias: A | null, N: number, inFeatures: number, outFeatures: number] | null,
  ): Promise<void>;
  /** backward after a training forwardTokens: adds the table's gradient into gradTable (row paddingIdx excepted; -1: none). */
  backwardTokens(
    gradOutput: A | null, gradHN: A | null, gradCN: A | null, weights: A[], grads: A[],
    gradTable: A, paddingIdx: number, gradH0: A, gradC0: A | null,
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
  /** Bytes from the start of the buffer's data to the next 64-byte boundary. */
  alignmentSkip(buffer: ArrayBuffer): number;
  /** The activation kernels in use: 'avx512f', 'avx2' or 'scalar'. */
  vecMathIsa(): string;
  /** Test hook: applies one ISA's sigmoid/tanh kernel in place; false if the CPU lacks it. */
  applyActivation(kind: 'sigmoid' | 'tanh', x: Float32Array, isa: 'avx512f' | 'avx2' | 'scalar'): boolean;
  readonly napiVersion: number;
  RecurrentStack: RecurrentStackConstructor<Float32Array>;
  RecurrentStack64: RecurrentStackConstructor<Float64Array>;
  /** The norm of all gradients taken as one vector (accumulated in double); normType Infinity = max |g|. */
  gradNorm(grads: Float32Array[], normType: number): number;
  /** Multiplies every element by factor (rounded to float32). */
  scaleGrads(grads: Float32Array[], factor: number): void;
  clipGradValue(grads: Float32Array[], clipValue: number): void;

  /** out (N,E) = weight (V,E) rows at indices (N); indices are range-checked. */
  embeddingForward(out: Float32Array, weight: Float32Array, V: number, E: number, indices: Int32Array): void;
  /** gradWeight (V,E) += scatter of gradOutput (N,E); paddingIdx -1 for none. */
  embeddingBackward(gradWeight: Float32Array, V: number, E: number, indices: Int32Array, gradOutput: Float32Array, paddingIdx: number): void;
  /** y (N,out) = x (N,in) W^T + b. */
  linearForward(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, inFeatures: number, outFeatures: number): void;
  /** linearForward on a libuv worker thread; resolves when y is written. */
  linearForwardAsync(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, inFeatures: number, outFeatures: number): Promise<void>;
  /** gradWeight += dy^T x; gradBias += colsum(dy); gradInput = dy W (when given). */
  linearBackward(
    gradInput: Float32Array | null, gradWeight: Float32Array, gradBias: Float32Array | null, gradOutput: Float32Array,
    x: Float32Array, weight: Float32Array, N: number, inFeatures: number, outFeatures: number,
  ): void;
  /** Writes d(loss)/d(logits) into grad (N,C); returns the mean loss (NaN if all rows ignored). */
  crossEntropy(grad: Float32Array, logits: Float32Array, targets: Int32Array, N: number, C: number, ignoreIndex: number, labelSmoothing: number): number;

  sgdStep(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, hyper: {
    lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean; firstStep: boolean;
  }): void;
  adamStep(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, maxExpAvgSq: Float32Array | null, hyper: {
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; amsgrad: boolean; maximize: boolean; decoupled: boolean; step: number;
  }): void;
  rmspropStep(param: Float32Array, grad: Float32Array, squareAvg: Float32Array, momentumBuffer: Float32Array | null, gradAvg: Float32Array | null, hyper: {
    lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean; maximize: boolean;
  }): void;
  adagradStep(param: Float32Array, grad: Float32Array, stateSum: Float32Array, hyper: {
    lr: number; lrDecay: number; eps: number; weightDecay: number; maximize: boolean; step: number;
  }): void;
  /** Rows of a (rows, cols) matrix with L2 norm above maxNorm are scaled to maxNorm/(norm+1e-7). */
  maxNormRows(param: Float32Array, rows: number, cols: number, maxNorm: number): void;
}
