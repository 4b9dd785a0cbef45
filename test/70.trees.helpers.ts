// Random forests for the tree-layer tests (not a test file itself: no .test.ts suffix).
import { Generator } from '../lib/core/random';

/** A forest as the layers read it, plus each tree's node ids (for one-tree-at-a-time checks). */
export interface Forest {
  N: number;
  offsets: Int32Array;
  index: Int32Array;
  /** Node ids of each tree, the root first. */
  trees: number[][];
}

export interface ForestOptions {
  trees: number;
  /** Largest number of nodes per tree. */
  maxNodes: number;
  /** Child slots per internal node: 1..maxKids. */
  maxKids: number;
  /** Probability that a slot is empty (−1) rather than a child. */
  empty?: number;
  /** Give the nodes random ids (the layers accept any order). Default true. */
  shuffle?: boolean;
}

/**
 * Random trees of mixed shapes: each grows from its root by giving random open nodes 1..maxKids
 * slots (some empty), so sizes, depths and fan-outs vary; then the node ids are shuffled.
 */
export function randomForest(g: Generator, o: ForestOptions): Forest {
  const kids: number[][] = [];
  const trees: number[][] = [];
  for (let t = 0; t < o.trees; t++) {
    const root = kids.length;
    kids.push([]);
    const members = [root];
    const target = 1 + Math.floor(g.uniform() * o.maxNodes);
    const open = [root];
    while (members.length < target && open.length > 0) {
      const at = Math.floor(g.uniform() * open.length);
      const parent = open.splice(at, 1)[0];
      const slots = 1 + Math.floor(g.uniform() * o.maxKids);
      for (let s = 0; s < slots; s++) {
        if ((o.empty ?? 0) > 0 && g.uniform() < o.empty!) {
          kids[parent].push(-1);
          continue;
        }
        if (members.length >= target) break;
        const id = kids.length;
        kids.push([]);
        members.push(id);
        open.push(id);
        kids[parent].push(id);
      }
    }
    trees.push(members);
  }
  const N = kids.length;
  const perm = Array.from({ length: N }, (_, i) => i);
  if (o.shuffle !== false)
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(g.uniform() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
  const inverse = new Array<number>(N);
  perm.forEach((newId, old) => (inverse[newId] = old));
  const offsets = new Int32Array(N + 1);
  const index: number[] = [];
  for (let n = 0; n < N; n++) {
    offsets[n] = index.length;
    for (const c of kids[inverse[n]]) index.push(c < 0 ? -1 : perm[c]);
  }
  offsets[N] = index.length;
  return { N, offsets, index: Int32Array.from(index), trees: trees.map((m) => m.map((id) => perm[id])) };
}

/** One tree of a forest on its own: its nodes renumbered 0.. in the order of `nodes`. */
export function subForest(f: Forest, nodes: number[]): { offsets: Int32Array; index: Int32Array } {
  const local = new Map(nodes.map((id, k) => [id, k]));
  const offsets = new Int32Array(nodes.length + 1);
  const index: number[] = [];
  nodes.forEach((id, k) => {
    offsets[k] = index.length;
    for (let e = f.offsets[id]; e < f.offsets[id + 1]; e++) index.push(f.index[e] < 0 ? -1 : local.get(f.index[e])!);
  });
  offsets[nodes.length] = index.length;
  return { offsets, index: Int32Array.from(index) };
}
