/**
 * The tape: what every op and module records when a gradient is wanted, and the backward
 * pass that walks it. Modelled on PyTorch's autograd (a node per call that keeps what its
 * own backward needs, `ctx` in `autograd.Function`) and micrograd's walk (gradients summed
 * per tensor, nodes run in reverse topological order). Nodes are coarse — a whole recurrent
 * sequence, a GEMM, a softmax — so the walk costs microseconds per op.
 * (Internal to the package.)
 */
import { native } from '../native/addon';

/** What the tape needs of a tensor (Tensor, in tensor.ts, is one; no import, so no cycle). */
export interface Tensor {
  readonly data: Float32Array;
  readonly requiresGrad: boolean;
  grad: Float32Array | null;
  gradFn: Node | null;
  outputIndex: number;
  retainsGrad: boolean;
}

/** What the walk tells a node about its inputs while it runs. */
export interface BackwardInfo {
  /**
   * True when `input` feeds no other op of this backward pass and nobody asked for its
   * gradient (retainGrad): its producer's work can then be fused into this node's (the
   * recurrent layer's embedding shortcut).
   */
  soleConsumer(input: Tensor): boolean;
}

/**
 * One recorded call. `inputs` are the tensors whose gradient the call can compute (null for
 * an input that needs none); `backward` receives the gradients of the call's outputs (null
 * for an output nobody differentiated) and returns one gradient per input (null or undefined
 * for none). It must not modify the arrays it receives, and may return one of them.
 * Parameters a node updates itself (a layer's weights) are not inputs: the node ADDS into
 * their `.grad` directly, as the explicit backward methods do.
 */
export abstract class Node {
  readonly inputs: Array<Tensor | null>;
  private consumed = false;

  /** name: the op's name in messages ('LSTMBackward'); outputs: how many tensors it returned. */
  constructor(readonly name: string, inputs: ReadonlyArray<Tensor | null | undefined>, readonly outputs = 1) {
    this.inputs = inputs.map((t) => (t && t.requiresGrad ? t : null));
  }

  protected abstract backward(gradOutputs: Array<Float32Array | null>, info: BackwardInfo): Array<Float32Array | null | undefined>;

  /** Frees what the forward kept (native activations, pooled buffers). Runs once. */
  protected release(): void {}

  /** Whether a backward already went through this node. */
  get isConsumed(): boolean {
    return this.consumed;
  }

  /** Runs the node's backward once; a second run is an error, as in PyTorch without retain_graph. */
  run(gradOutputs: Array<Float32Array | null>, info: BackwardInfo): Array<Float32Array | null | undefined> {
    this.checkNotConsumed();
    this.consumed = true;
    try {
      return this.backward(gradOutputs, info);
    } finally {
      this.release();
    }
  }

  /** Marks the node used without computing anything (no gradient reached it) and frees what it kept. */
  drop(): void {
    if (this.consumed) return;
    this.consumed = true;
    this.release();
  }

  checkNotConsumed(): void {
    if (this.consumed)
      throw new RangeError(
        `backward: ${this.name} was already differentiated: a backward pass frees the activations it uses, so a second backward through the same graph needs a new forward`,
      );
  }
}

/** A gradient waiting for its tensor's producer, and whether the walk may add into it in place. */
interface Slot {
  grad: Float32Array;
  owned: boolean;
}

/** grad (may be borrowed) added to a slot: the first contribution is kept by reference, a second one makes a copy to sum into. */
function addToSlot(slots: Array<Slot | undefined>, index: number, grad: Float32Array): void {
  const slot = slots[index];
  if (!slot) {
    slots[index] = { grad, owned: false };
    return;
  }
  if (!slot.owned) {
    slot.grad = slot.grad.slice();
    slot.owned = true;
  }
  native.accumulate(slot.grad, grad);
}

/** Adds a gradient into a tensor's `.grad` (allocated on first use, like PyTorch's). */
function accumulateGrad(t: Tensor, grad: Float32Array): void {
  if (t.grad) native.accumulate(t.grad, grad);
  else t.grad = grad.slice();
}

/**
 * Backpropagates `seed` (d root / d root, usually 1) through everything recorded on the way
 * to `root`: nodes run once each, after every consumer of their outputs, gradients of a
 * tensor used several times are summed, and leaves that require grad receive theirs in
 * `.grad` (added to what is there).
 */
export function runBackward(root: Tensor, seed: Float32Array): void {
  if (root.retainsGrad) accumulateGrad(root, seed);
  const start = root.gradFn;
  if (!start) {
    if (!root.retainsGrad) accumulateGrad(root, seed); // a leaf that requires grad
    return;
  }
  start.checkNotConsumed();
  // Discover the graph: for each node, how many edges lead into its outputs (it runs when all
  // have delivered); for each tensor, how many ops of this pass consume it.
  const pendingConsumers = new Map<Node, number>([[start, 0]]);
  const uses = new Map<Tensor, number>();
  const stack: Node[] = [start];
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const t of node.inputs) {
      if (!t) continue;
      uses.set(t, (uses.get(t) ?? 0) + 1);
      const producer = t.gradFn;
      if (!producer) continue;
      const seen = pendingConsumers.get(producer);
      if (seen === undefined) {
        pendingConsumers.set(producer, 1);
        stack.push(producer);
      } else pendingConsumers.set(producer, seen + 1);
    }
  }
  const info: BackwardInfo = { soleConsumer: (t) => uses.get(t) === 1 && !t.retainsGrad };
  const waiting = new Map<Node, Array<Slot | undefined>>();
  const seedSlots: Array<Slot | undefined> = [];
  addToSlot(seedSlots, root.outputIndex, seed);
  waiting.set(start, seedSlots);

  const ready: Node[] = [start];
  while (ready.length > 0) {
    const node = ready.pop()!;
    const slots = waiting.get(node);
    waiting.delete(node);
    let results: Array<Float32Array | null | undefined> | null = null;
    if (slots && slots.some((s) => s !== undefined)) {
      const grads: Array<Float32Array | null> = [];
      for (let i = 0; i < node.outputs; i++) grads.push(slots[i]?.grad ?? null);
      results = node.run(grads, info);
    } else {
      node.drop();
    }
    for (let i = 0; i < node.inputs.length; i++) {
      const t = node.inputs[i];
      if (!t) continue;
      const g = results ? results[i] : null;
      if (g) {
        if (t.retainsGrad) accumulateGrad(t, g);
        if (t.gradFn) {
          let s = waiting.get(t.gradFn);
          if (!s) waiting.set(t.gradFn, (s = []));
          addToSlot(s, t.outputIndex, g);
        } else if (!t.retainsGrad) {
          accumulateGrad(t, g);
        }
      }
      const producer = t.gradFn;
      if (producer) {
        const left = pendingConsumers.get(producer)! - 1;
        pendingConsumers.set(producer, left);
        if (left === 0) ready.push(producer);
      }
    }
  }
}
