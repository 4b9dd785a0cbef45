// The exact exports of build/Release/rnn_native.node (or a prebuild). No logic here.
// Float32 entry points take Float32Array; the *64 twins take Float64Array and exist for
// finite-difference gradient checks.

/** Cell codes shared with native/kernels/recurrent_layer.h (CellType). */
export type CellCode = 0 | 1 | 2 | 3; // RnnTanh, RnnRelu, Lstm, Gru

type FloatArray = Float32Array | Float64Array;

/**
 * Converted weights for an eval forward (mode 0, float32 stacks): [format 1 (bf16) | 2 (int8), then
 * per layer and direction w_ih, scale_ih, sum_ih, w_hh, scale_hh, sum_hh]; matrices Uint16Array or
 * Int8Array, scales Float32Array and row sums Int32Array for int8 (else null). Biases come from `weights`.
 */
export type LowpWeights = Array<number | Uint16Array | Int8Array | Float32Array | Int32Array | null>;

export interface RecurrentStackHandle<A extends FloatArray> {
  /**
   * input (T,B,I) or (B,T,I), or token ids (T·B, each in [0, V)) into table (V, I) — exactly one;
   * h0/c0/hN/cN (L*D,B,H); output (T,B,D*H) or (B,T,D*H). mode 0 eval, 1 training (keeps the
   * activations, applies dropout), 2 keeps them without dropout (eval mode under autograd);
   * modes 1 and 2 write the activations into `arena` (arenaBytes(...) / 4 floats), mode 0 takes null.
   */
  forward(
    T: number, B: number, input: A | null, ids: Int32Array | null, V: number, table: A | null,
    h0: A | null, c0: A | null, lengths: Int32Array | null,
    weights: A[], mode: 0 | 1 | 2, seedLo: number, seedHi: number, output: A, hN: A, cN: A | null, arena: Float32Array | null,
    unused?: null, lowp?: LowpWeights | null,
  ): void;
  /** The bytes of the arena a forward in mode 1 or 2 keeps its activations in (a multiple of 64). */
  arenaBytes(T: number, B: number, mode: 1 | 2, tokens: boolean, hasLengths: boolean): number;
  /** An eval forward on a libuv worker thread, optionally followed by a Linear head on its output; resolves when the outputs are written. */
  forwardAsync(
    T: number, B: number, input: A | null, ids: Int32Array | null, V: number, table: A | null,
    h0: A | null, c0: A | null, lengths: Int32Array | null,
    weights: A[], mode: 0, seedLo: number, seedHi: number, output: A, hN: A, cN: A | null, arena: null,
    head?: [y: A, weight: A, bias: A | null, N: number, inFeatures: number, outFeatures: number] | null,
    lowp?: LowpWeights | null,
  ): Promise<void>;
  /**
   * Consumes the arena's activations (checked against this layer first): adds parameter
   * gradients into grads (null entries skipped); writes gradInput (or, after a token forward,
   * adds the table's gradient into gradTable except row paddingIdx), gradH0, gradC0 when
   * given. table: the token forward's table again.
   */
  backward(
    arena: Float32Array, gradOutput: A | null, gradHN: A | null, gradCN: A | null, weights: A[],
    grads: Array<A | null>, gradInput: A | null, table: A | null, gradTable: A | null, paddingIdx: number,
    gradH0: A | null, gradC0: A | null,
  ): void;
}

export interface RecurrentStackConstructor<A extends FloatArray> {
  new (
    cell: CellCode, inputSize: number, hiddenSize: number, numLayers: number, bidirectional: boolean,
    bias: boolean, batchFirst: boolean, dropout: number,
  ): RecurrentStackHandle<A>;
}

/** Weight storage of a decode step: 0 float32, 1 bf16 (Uint16Array), 2 int8 (Int8Array + per-row float32 scales). */
export type WeightFormatCode = 0 | 1 | 2;
type WeightArray = Float32Array | Uint16Array | Int8Array | Int32Array;

/**
 * One generation step of a language model for B independent rows (native/binding/decode_binding.cc):
 * tokens (B) each in [0, tableRows); hIn/hOut, cIn/cOut (B, L, H) (c: LSTM only, else null; in and
 * out distinct); logits (B, V); specs (B, 5) rows [greedy 0|1, temperature, topK (0 = all), topP, u]
 * and next (B), or both null. weights: [table (tableRows, E) float32, then per layer w_ih, scale_ih,
 * sum_ih, w_hh, scale_hh, sum_hh, b_ih, b_hh, then head w, scale, sum, b]; matrices in the handle's
 * format, scales (Float32Array) and row sums (Int32Array) int8 only (else null), biases float32 or null.
 */
export interface DecodeStepHandle {
  run(B: number, tokens: Int32Array, weights: Array<WeightArray | null>, hIn: Float32Array, cIn: Float32Array | null,
    hOut: Float32Array, cOut: Float32Array | null, logits: Float32Array, specs: Float64Array | null, next: Int32Array | null): void;
  runAsync(B: number, tokens: Int32Array, weights: Array<WeightArray | null>, hIn: Float32Array, cIn: Float32Array | null,
    hOut: Float32Array, cOut: Float32Array | null, logits: Float32Array, specs: Float64Array | null, next: Int32Array | null): Promise<void>;
}
export interface DecodeStepConstructor {
  new (cell: CellCode, numLayers: number, embeddingDim: number, hiddenSize: number, vocabSize: number, tableRows: number,
    format: WeightFormatCode): DecodeStepHandle;
}

/** Binary ops: 0 add, 1 sub, 2 mul. Unary ops: 0 tanh, 1 sigmoid, 2 relu. */
export type BinaryCode = 0 | 1 | 2;
export type UnaryCode = 0 | 1 | 2;

/**
 * The functional ops and cells (native/binding/ops_binding.cc). Every float array of one call
 * is a Float32Array, or every one a Float64Array (the gradient checks' float64 twins).
 */
export interface OpsBinding {
  binary(op: BinaryCode, out: Float32Array, a: Float32Array, b: Float32Array): void;
  binaryBackward(op: BinaryCode, da: Float32Array | null, db: Float32Array | null, g: Float32Array, a: Float32Array, b: Float32Array): void;
  unary(op: UnaryCode, out: Float32Array, x: Float32Array): void;
  unaryBackward(op: UnaryCode, dx: Float32Array, g: Float32Array, y: Float32Array): void;
  softmax(log: boolean, out: Float32Array, x: Float32Array, outer: number, n: number, inner: number): void;
  softmaxBackward(log: boolean, dx: Float32Array, g: Float32Array, y: Float32Array, outer: number, n: number, inner: number): void;
  maskedFill(out: Float32Array, x: Float32Array, mask: Uint8Array, value: number): void;
  sum(x: Float32Array): number;
  accumulate(dst: Float32Array, src: Float32Array): void;
  scale(out: Float32Array, x: Float32Array, factor: number): void;
  copyBlock(dst: Float32Array, dstOffset: number, dstStride: number, src: Float32Array, srcOffset: number, srcStride: number, rows: number, cols: number, add: boolean): void;
  /** x viewed as (A, N0, M, N1, C) → out (A, N1, M, N0, C). */
  swapDims(out: Float32Array, x: Float32Array, A: number, N0: number, M: number, N1: number, C: number): void;
  gather(out: Float32Array, x: Float32Array, index: Int32Array, outer: number, n: number, inner: number): void;
  scatterAdd(dx: Float32Array, g: Float32Array, index: Int32Array, outer: number, n: number, inner: number): void;
  /** C (batch, M, N) (+)= op(A) (M, K) · op(B) (K, N). */
  matmul(C: Float32Array, A: Float32Array, B: Float32Array, batch: number, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  dropoutMask(mask: Float32Array, p: number, seedLo: number, seedHi: number): void;
  layerNorm(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array, weight: Float32Array | null, bias: Float32Array | null, rows: number, n: number, eps: number): void;
  layerNormBackward(dx: Float32Array | null, dweight: Float32Array | null, dbias: Float32Array | null, g: Float32Array, x: Float32Array, mean: Float32Array, rstd: Float32Array, weight: Float32Array | null, rows: number, n: number): void;
  nllLoss(grad: Float32Array, logp: Float32Array, targets: Int32Array, N: number, C: number, ignoreIndex: number): number;
  mseLoss(grad: Float32Array, x: Float32Array, y: Float32Array): number;
  bceWithLogits(grad: Float32Array, x: Float32Array, y: Float32Array, posWeight: Float32Array | null, columns: number): number;
  argmax(out: Int32Array, x: Float32Array, rows: number, n: number): void;
  /** The k largest of each row of x (rows, n), descending, with their indices (rows, k). */
  topk(values: Float32Array, indices: Int32Array, x: Float32Array, rows: number, n: number, k: number): void;
  /** s (B,Tq,S) = Σ_a v[a] tanh(q[b,t,a] + k[b,j,a]); tanhSaved (B,Tq,S,A) kept for backward when given. */
  additiveScores(s: Float32Array, tanhSaved: Float32Array | null, q: Float32Array, k: Float32Array, v: Float32Array, B: number, Tq: number, S: number, A: number): void;
  additiveScoresBackward(dq: Float32Array | null, dk: Float32Array | null, dv: Float32Array | null, g: Float32Array, tanhSaved: Float32Array, v: Float32Array, B: number, Tq: number, S: number, A: number): void;
  /** One cell step: saved (B, (G+1)·H) is what backward needs. */
  cellForward(cell: CellCode, B: number, I: number, H: number, x: Float32Array, h: Float32Array, c: Float32Array | null,
    weights: [Float32Array, Float32Array, Float32Array | null, Float32Array | null], hOut: Float32Array, cOut: Float32Array | null, saved: Float32Array): void;
  cellBackward(cell: CellCode, B: number, I: number, H: number, x: Float32Array, h: Float32Array, c: Float32Array | null,
    weights: [Float32Array, Float32Array, Float32Array | null, Float32Array | null], grads: Array<Float32Array | null>, saved: Float32Array,
    gradH: Float32Array | null, gradC: Float32Array | null, dx: Float32Array | null, dh: Float32Array | null, dc: Float32Array | null): void;
  /** Test hooks: one row of the cell kernels (fast or reference), float32. */
  cellUnitsForward(cell: CellCode, reference: boolean, H: number, g: Float32Array, gh: Float32Array | null, bhn: Float32Array | null,
    hIn: Float32Array, cIn: Float32Array | null, hOut: Float32Array, cOut: Float32Array | null, ghn: Float32Array | null): void;
  cellUnitsBackward(cell: CellCode, reference: boolean, H: number, g: Float32Array, dh: Float32Array, dc: Float32Array | null,
    cIn: Float32Array | null, cOut: Float32Array | null, ghn: Float32Array | null, hPrev: Float32Array | null, hOut: Float32Array | null,
    dhPrev: Float32Array, dcPrev: Float32Array | null): void;
  /** The native table of cell kinds (native/kernels/cell_kinds.h). */
  cellKinds(): Array<{ code: number; name: string; gates: number; hasCellState: boolean }>;
}

export interface NativeBinding extends OpsBinding, TreeBinding {
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
  /** The compute budget: its tokens (cores), those held now and the most at once, calls computing now and the most at once, and the calls (and waits) since the last reset; reset = true restarts the counts. */
  computeBudget(reset?: boolean): { tokens: number; held: number; maxHeld: number; running: number; maxRunning: number; calls: number; waited: number };
  /** out (n) = src (n) rounded to bf16 (the upper 16 bits after round-to-nearest-even). */
  convertBf16(src: Float32Array, out: Uint16Array): void;
  /** Int8 weights of src (N, K): q (N, K), scale (N) = max|row| / 127, sum (N) = Σ q (K ≤ 65536). */
  quantizeInt8(src: Float32Array, N: number, K: number, q: Int8Array, scale: Float32Array, sum: Int32Array): void;
  /** The kernel a weight format's products run on here: 'avx512f', 'avx512bf16', 'avx512vnni' or 'portable'. */
  rowDotIsa(format: WeightFormatCode): string;
  /** Test hook: the portable decode kernels for every format (process-wide), or the CPU's own again. */
  rowDotForcePortable(on: boolean): void;
  /** Benchmark/test hook: every call takes the whole budget (one at a time, as under a process-wide lock). */
  setComputeExclusive(on: boolean): void;
  readonly napiVersion: number;
  RecurrentStack: RecurrentStackConstructor<Float32Array>;
  RecurrentStack64: RecurrentStackConstructor<Float64Array>;
  DecodeStep: DecodeStepConstructor;
  /** The norm of all gradients taken as one vector (accumulated in double); normType Infinity = max |g|. */
  gradNorm(grads: Float32Array[], normType: number): number;
  /** Multiplies every element by factor (rounded to float32). */
  scaleGrads(grads: Float32Array[], factor: number): void;
  clipGradValue(grads: Float32Array[], clipValue: number): void;

  /** Whether the addon was built with Gloo (native/distributed). */
  readonly distAvailable: boolean;
  /** "Gloo 0.5.0 (TCP transport)", or what to install when distAvailable is false. */
  readonly distBackend: string;
  /** Rendezvous and connection (store 'tcp': where = MASTER_ADDR; 'file': where = a directory, port unused). */
  distInit(rank: number, worldSize: number, store: 'tcp' | 'file', where: string, port: number, iface: string, timeoutMs: number): Promise<void>;
  /** Closes the group (after the collective in flight); false when there was none. */
  distDestroy(): Promise<boolean>;
  /** [rank, worldSize, timeoutMs] of the process's group (shared by all its threads), or null. */
  distInfo(): [number, number, number] | null;
  /**
   * op: 0 sum, 1 mean, 2 max, 3 min. The async calls work in place on data, on a libuv thread,
   * and hold it until they settle: pass an array nobody else touches or transfers meanwhile
   * (lib/distributed passes a private copy).
   */
  distAllReduce(data: Float32Array, op: number, timeoutMs: number): Promise<void>;
  distBroadcast(data: Float32Array, src: number, timeoutMs: number): Promise<void>;
  distBarrier(timeoutMs: number): Promise<void>;
  /** In place, blocking the calling thread (the training loop); tag is checked equal on every rank. */
  distAllReduceSync(data: Float32Array, op: number, timeoutMs: number, tag: number, who: string): void;
  distBroadcastSync(data: Float32Array, src: number, timeoutMs: number, tag: number, who: string): void;
  /** Throws on every rank unless all passed the same safe integer `value` (named `what` in the message). */
  distAgreeSync(value: number, what: string, timeoutMs: number, who: string): void;
  /** A 32-bit hash of the bits of the arrays, in order. */
  distChecksum(arrays: Float32Array[]): number;

  /** out (N,E) = weight (V,E) rows at indices (N); indices are range-checked. Float32 or float64 throughout. */
  embeddingForward(out: Float32Array, weight: Float32Array, V: number, E: number, indices: Int32Array): void;
  /** gradWeight (V,E) += scatter of gradOutput (N,E); paddingIdx -1 for none. */
  embeddingBackward(gradWeight: Float32Array, V: number, E: number, indices: Int32Array, gradOutput: Float32Array, paddingIdx: number): void;
  /** y (N,out) = x (N,in) W^T + b. */
  linearForward(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, inFeatures: number, outFeatures: number): void;
  /** linearForward on a libuv worker thread; resolves when y is written. */
  linearForwardAsync(y: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, inFeatures: number, outFeatures: number): Promise<void>;
  /** gradWeight += dy^T x; gradBias += colsum(dy); gradInput = dy W (each when given). */
  linearBackward(
    gradInput: Float32Array | null, gradWeight: Float32Array | null, gradBias: Float32Array | null, gradOutput: Float32Array,
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

/** Tree cell codes shared with native/kernels/tree_layer.h (TreeCell). */
export type TreeCellCode = 0 | 1 | 2 | 3; // TreeRNN tanh, TreeRNN relu, child-sum TreeLSTM, N-ary TreeLSTM

/**
 * The validated level schedule of a batch of trees (native/kernels/tree_plan.h), as plain
 * arrays; the forward and backward calls copy and bounds-check it.
 */
export interface TreePlanHandle {
  readonly numNodes: number;
  readonly numEdges: number;
  readonly numLevels: number;
  /** The most child slots any node has. */
  readonly maxChildren: number;
  /** (N) the nodes level by level. */
  readonly order: Int32Array;
  /** (numLevels + 1) first position of each level in order. */
  readonly levelStarts: Int32Array;
  /** (N + 1) by position: each node's slots in edgeChild / edgePos. */
  readonly edgeStarts: Int32Array;
  /** (E) by position: child node id, or -1. */
  readonly edgeChild: Int32Array;
  /** (E) by position: the child's position, or -1. */
  readonly edgePos: Int32Array;
  /** (N) each node's level (0: no children). */
  readonly level: Int32Array;
  /** Node ids without a parent, ascending. */
  readonly roots: Int32Array;
}

/**
 * The tree layers (native/binding/tree_binding.cc). Float arrays are all Float32Array, or all
 * Float64Array (the gradient checks' twins); weights are [weight_ih, weight_hh, bias_ih | null,
 * bias_hh | null]. K: child positions (TreeRNN, N-ary), 0 for the child-sum cell.
 */
export interface TreeBinding {
  /** Validates the children lists (offsets (N + 1), index) and sorts the nodes into levels; a RangeError names a bad node. */
  treePlan(offsets: Int32Array, index: Int32Array, maxChildren: number): TreePlanHandle;
  /** Elements of the buffer a training forward fills for its backward. */
  treeSavedSize(cell: TreeCellCode, N: number, E: number, I: number, H: number, K: number): number;
  /** x (N, I); leafH/leafC (N, H) or null; writes h, c (N, H), and saved (treeSavedSize) unless null (eval). */
  treeForward(
    plan: TreePlanHandle, cell: TreeCellCode, I: number, H: number, K: number, x: Float32Array,
    weights: Array<Float32Array | null>, leafH: Float32Array | null, leafC: Float32Array | null,
    h: Float32Array, c: Float32Array | null, saved: Float32Array | null,
  ): void;
  /** Consumes saved: adds into grads (null entries skipped); writes dx (N, I), dLeafH, dLeafC (N, H) when given. */
  treeBackward(
    plan: TreePlanHandle, cell: TreeCellCode, I: number, H: number, K: number, weights: Array<Float32Array | null>,
    grads: Array<Float32Array | null>, saved: Float32Array, leaf: boolean, dh: Float32Array | null, dc: Float32Array | null,
    dx: Float32Array | null, dLeafH: Float32Array | null, dLeafC: Float32Array | null,
  ): void;
  /** Test hooks: one node of the tree cell math (fast or reference), float32. */
  treeUnitsForward(cell: TreeCellCode, reference: boolean, H: number, K: number, g: Float32Array, xg: Float32Array | null,
    b: Float32Array | null, fk: Float32Array | null, cs: Float32Array | null, kpos: Int32Array, c: Float32Array | null, h: Float32Array): void;
  treeUnitsBackward(cell: TreeCellCode, reference: boolean, H: number, K: number, g: Float32Array, dxg: Float32Array | null,
    fk: Float32Array | null, cs: Float32Array | null, kpos: Int32Array, c: Float32Array | null, dh: Float32Array,
    dc: Float32Array | null, dcs: Float32Array | null): void;
}
