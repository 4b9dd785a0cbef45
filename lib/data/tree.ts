/**
 * Trees for the tree layers (TreeRNN, ChildSumTreeLSTM, NaryTreeLSTM): build one from nested
 * arrays or a bracketed string, and batch many into the flat layout the layers read — node ids
 * in pre-order, tree after tree, and each node's children as compressed lists.
 */
import type { TreeChildren } from '../nn/trees';
import { typeError } from '../core/validate';

/**
 * Nested arrays for Tree.fromArray: `[label, child, …]`, a bare label for a leaf, null for an empty position.
 * @example const e: NestedTree<string | number> = ['+', ['*', 3, 4], 5];
 */
export type NestedTree<T> = T | null | Array<NestedTree<T>>;

/**
 * A labelled, ordered tree. Children may be null: an empty position (an N-ary layer reads it
 * as zeros), which keeps the positions of the children after it.
 *
 * @example
 * const t = Tree.parse('(+ (* 3 4) 5)');
 * t.label;            // '+'
 * t.size;             // 5 nodes
 * t.depth;            // 2
 * String(t);          // '(+ (* 3 4) 5)'
 * Tree.fromArray(['+', ['*', 3, 4], 5]).toString(); // the same tree, labels 3, 4, 5 numbers
 */
export class Tree<T = string> {
  readonly label: T;
  readonly children: ReadonlyArray<Tree<T> | null>;
  /** Nodes in the tree (empty positions not counted). */
  readonly size: number;
  /** Edges on the longest path from the root to a leaf: 0 for a single node. */
  readonly depth: number;

  constructor(label: T, children: ReadonlyArray<Tree<T> | null> = []) {
    if (!Array.isArray(children)) throw typeError('Tree', 'children', 'an array of Trees (or null for an empty position)', children);
    let size = 1;
    let depth = 0;
    children.forEach((c, k) => {
      if (c === null) return;
      if (!(c instanceof Tree)) throw typeError('Tree', `children[${k}]`, 'a Tree or null', c);
      size += c.size;
      depth = Math.max(depth, c.depth + 1);
    });
    this.label = label;
    this.children = Object.freeze(children.slice());
    this.size = size;
    this.depth = depth;
  }

  /** True for a node without (non-empty) children. @example Tree.parse('(+ 1 2)').children[0]!.isLeaf; // true */
  get isLeaf(): boolean {
    return this.children.every((c) => c === null);
  }

  /**
   * A tree from nested arrays: `[label, child, …]`, where each child is again such an array, a
   * bare label (a leaf) or null (an empty position). A bare label alone is a one-node tree.
   *
   * @example
   * const t = Tree.fromArray(['S', ['NP', 'I'], ['VP', 'ran', null]]);
   */
  static fromArray<T>(nested: NestedTree<T>): Tree<T> {
    const build = (v: NestedTree<T>, path: string): Tree<T> => {
      if (!Array.isArray(v)) return new Tree(v as T);
      if (v.length === 0) throw new RangeError(`Tree.fromArray: nested${path} is an empty array; a node is [label, ...children]`);
      if (Array.isArray(v[0])) throw new RangeError(`Tree.fromArray: nested${path}[0] must be a label, not an array; a node is [label, ...children]`);
      const kids = v.slice(1).map((c, k) => (c === null ? null : build(c as NestedTree<T>, `${path}[${k + 1}]`)));
      return new Tree(v[0] as T, kids);
    };
    if (nested === null) throw typeError('Tree.fromArray', 'nested', 'a label or [label, ...children]', nested);
    return build(nested, '');
  }

  /**
   * A tree from its bracketed form: `(label child …)`, a bare token for a leaf, `()` for an
   * empty position. Tokens are runs of characters other than whitespace and parentheses.
   *
   * @example
   * Tree.parse('(+ (* 3 4) 5)');
   * Tree.parse('(S (NP I) (VP ran ()))');   // VP's second position is empty
   */
  static parse(text: string): Tree<string> {
    const ctx = 'Tree.parse';
    if (typeof text !== 'string') throw typeError(ctx, 'text', 'a string', text);
    const re = /\s*(\(|\)|[^\s()]+)/gy;
    const tokens: Array<{ t: string; at: number }> = [];
    let m: RegExpExecArray | null;
    let last = 0;
    while ((m = re.exec(text)) !== null) {
      tokens.push({ t: m[1], at: m.index + m[0].length - m[1].length });
      last = re.lastIndex;
    }
    if (text.slice(last).trim() !== '') throw new RangeError(`${ctx}: unexpected character at ${last}`);
    if (tokens.length === 0) throw new RangeError(`${ctx}: the text holds no tree`);
    // An explicit stack: a deep tree must not overflow the call stack.
    type Frame = { label: string | null; kids: Array<Tree<string> | null>; at: number };
    const stack: Frame[] = [];
    let result: Tree<string> | null | undefined;
    const finish = (node: Tree<string> | null, at: number): void => {
      if (stack.length === 0) {
        if (result !== undefined) throw new RangeError(`${ctx}: text after the tree at character ${at}`);
        result = node;
      } else stack[stack.length - 1].kids.push(node);
    };
    for (let i = 0; i < tokens.length; i++) {
      const { t, at } = tokens[i];
      if (t === '(') {
        if (stack.length === 0 && result !== undefined) throw new RangeError(`${ctx}: text after the tree at character ${at}`);
        const next = tokens[i + 1];
        if (next && next.t === ')') {
          // () : an empty position
          if (stack.length === 0) throw new RangeError(`${ctx}: an empty position "()" at character ${at} is not a tree`);
          stack[stack.length - 1].kids.push(null);
          i++;
          continue;
        }
        if (!next || next.t === '(') throw new RangeError(`${ctx}: a label was expected after "(" at character ${at}`);
        stack.push({ label: next.t, kids: [], at });
        i++;
      } else if (t === ')') {
        const frame = stack.pop();
        if (!frame) throw new RangeError(`${ctx}: unmatched ")" at character ${at}`);
        finish(new Tree(frame.label as string, frame.kids), at);
      } else {
        finish(new Tree(t), at);
      }
    }
    if (stack.length > 0) throw new RangeError(`${ctx}: missing ")" for the "(" at character ${stack[stack.length - 1].at}`);
    return result as Tree<string>;
  }

  /**
   * The nodes in pre-order (a node before its children, children in order): node ids in a batch.
   * @example Tree.parse('(+ (* 3 4) 5)').nodes().map((n) => n.label); // ['+', '*', '3', '4', '5']
   */
  nodes(): Array<Tree<T>> {
    const out: Array<Tree<T>> = [];
    const stack: Array<Tree<T>> = [this];
    while (stack.length > 0) {
      const t = stack.pop()!;
      out.push(t);
      for (let k = t.children.length - 1; k >= 0; k--) {
        const c = t.children[k];
        if (c) stack.push(c);
      }
    }
    return out;
  }

  /**
   * The bracketed form (Tree.parse reads it back; labels are written with String()).
   * @example Tree.fromArray(['+', 1, ['*', 2, 3]]).toString(); // '(+ 1 (* 2 3))'
   */
  toString(): string {
    if (this.children.length === 0) return String(this.label);
    return `(${String(this.label)} ${this.children.map((c) => (c === null ? '()' : c.toString())).join(' ')})`;
  }

  /**
   * The nested-array form (Tree.fromArray reads it back).
   * @example Tree.parse('(+ 1 2)').toArray(); // ['+', '1', '2']
   */
  toArray(): NestedTree<T> {
    if (this.children.length === 0) return this.label;
    return [this.label, ...this.children.map((c) => (c === null ? null : c.toArray()))] as NestedTree<T>;
  }

  /**
   * Many trees as one batch for a tree layer: node ids in pre-order, tree after tree.
   *
   * @example
   * const batch = Tree.batch([Tree.parse('(+ 1 2)'), Tree.parse('(* (- 7 3) 2)')]);
   * const ids = batch.labelIds((label) => vocab.indexOf(label));     // (N) for an Embedding
   * const out = lstm.forward(embedding.forward(ids, [batch.size]), batch.children);
   * out.root.h;                                                      // (2, H): one row per tree
   */
  static batch<T>(trees: ReadonlyArray<Tree<T>>): TreeBatch<T> {
    if (!Array.isArray(trees)) throw typeError('Tree.batch', 'trees', 'an array of Trees', trees);
    if (trees.length === 0) throw new RangeError('Tree.batch: expected at least one tree');
    let N = 0;
    let E = 0;
    trees.forEach((t, i) => {
      if (!(t instanceof Tree)) throw typeError('Tree.batch', `trees[${i}]`, 'a Tree', t);
      N += t.size;
      for (const n of t.nodes()) E += n.children.length;
    });
    const offsets = new Int32Array(N + 1);
    const index = new Int32Array(E);
    const labels: T[] = new Array(N);
    const roots = new Int32Array(trees.length);
    const treeOf = new Int32Array(N);
    let id = 0;
    let e = 0;
    trees.forEach((t, i) => {
      const nodes: Array<Tree<T>> = (t as Tree<T>).nodes();
      const base = id;
      const ids = new Map<Tree<T>, number>();
      nodes.forEach((n, k) => ids.set(n, base + k));
      roots[i] = base;
      for (const n of nodes) {
        labels[id] = n.label;
        treeOf[id] = i;
        offsets[id] = e;
        for (const c of n.children) index[e++] = c === null ? -1 : ids.get(c)!;
        id++;
      }
    });
    offsets[N] = e;
    return new TreeBatch({ offsets, index }, labels, roots, treeOf);
  }
}

/**
 * A batch of trees in the layers' layout: pass `children` to a tree layer's forward with one
 * row of x per node (`size` rows, in node-id order).
 *
 * @example
 * const batch = Tree.batch(trees);
 * batch.size;        // N, the rows of x
 * batch.roots;       // each tree's root node id, in the order of `trees`
 */
export class TreeBatch<T> {
  /** Node count (the rows of x). */
  readonly size: number;
  constructor(
    /** Each node's children, for a layer's forward. */
    readonly children: TreeChildren,
    /** Each node's label, by node id. */
    readonly labels: T[],
    /** Each tree's root node id. */
    readonly roots: Int32Array,
    /** Each node's tree. */
    readonly tree: Int32Array,
  ) {
    this.size = labels.length;
  }

  /**
   * Each node's label mapped to an integer id (an Embedding's input), by node id.
   * @example const ids = batch.labelIds((l) => vocab.get(l)!);
   */
  labelIds(lookup: (label: T, node: number) => number): Int32Array {
    if (typeof lookup !== 'function') throw typeError('TreeBatch.labelIds', 'lookup', 'a function (label, node) => id', lookup);
    const out = new Int32Array(this.size);
    for (let n = 0; n < this.size; n++) {
      const v = lookup(this.labels[n], n);
      if (!Number.isInteger(v)) throw new RangeError(`TreeBatch.labelIds: lookup returned ${String(v)} for node ${n} (label ${String(this.labels[n])}); expected an integer`);
      out[n] = v;
    }
    return out;
  }
}
