#!/usr/bin/python3
"""PyTorch reference fixtures for the tree layers (TreeRNN, ChildSumTreeLSTM, NaryTreeLSTM).

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_tree_fixtures.py [output-directory]

Default output directory: test/fixtures. File written: trees.json. Deterministic
(torch.manual_seed and random.Random per case, float32, CPU, one thread): re-running gives
a byte-identical file.

The reference is bench/torch_trees.py's node-by-node implementation: a Python walk applying
each cell to one node at a time, written from the equations (Tai, Sheng & Manning 2015,
2–8 and 9–14; Socher et al.'s recursive unit); the script also checks that the level-batched
PyTorch version agrees with it.

Format
------
{"generator": "scripts/make_tree_fixtures.py torch <version>", "cases": [case, ...]}
Tensors are {"shape": [...], "data": [...]} flattened row-major, float32 values written
exactly. case = {
  name, seed, kind ("rnn_tanh" | "rnn_relu" | "childsum" | "nary"),
  config: {inputSize, hiddenSize, arity (K; 0 for childsum), bias},
  forest: {offsets: [N + 1 ints], index: [E ints, -1 = empty position]}  node ids shuffled,
  trees: [[node ids of each tree, root first], ...],
  paramOrder: [names], params: {name: tensor},
  x (N, I), leafH (N, H) | null, leafC (N, H) | null  (with leaf states, the nodes without
  children take these rows as their state),
  roots: [ids ascending],
  weights: {h (N, H), c (N, H) | null, rootH (R, H), rootC (R, H) | null}: the loss is
    sum(h * weights.h) + sum(root_h * weights.rootH) (+ the same for c, the LSTMs),
  outputs: {h, c | null}, loss (a number),
  grads: {"x": .., each parameter by name, "leafH", "leafC" when given}
}
"training": [run, ...], a few optimizer steps of a small classifier, to match losses step by
step: run = {name, seed, kind, config, forest, x (N, I), targets (R ints, one per root in
ascending id order), classes, lr, steps, params (the tree layer's initial parameters),
head: {weight (classes, H), bias (classes)}, losses: [the loss before each step]}.
Model: logits = head(tree(x).h[roots]); loss = cross_entropy(logits, targets) (mean);
torch.optim.SGD(all parameters, lr) after each backward (tree parameters first, then head).
"""
import json
import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
from torch_trees import levels_of, make_params, run_levels, run_nodewise  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def random_forest(rng, trees, max_nodes, max_kids, empty):
    """Random trees of mixed shapes (random open nodes get 1..max_kids slots, some empty), ids shuffled."""
    kids, members_of = [], []
    for _ in range(trees):
        root = len(kids)
        kids.append([])
        members, open_ = [root], [root]
        target = 1 + rng.randrange(max_nodes)
        while len(members) < target and open_:
            parent = open_.pop(rng.randrange(len(open_)))
            for _ in range(1 + rng.randrange(max_kids)):
                if empty > 0 and rng.random() < empty:
                    kids[parent].append(-1)
                    continue
                if len(members) >= target:
                    break
                node = len(kids)
                kids.append([])
                members.append(node)
                open_.append(node)
                kids[parent].append(node)
        members_of.append(members)
    N = len(kids)
    perm = list(range(N))
    rng.shuffle(perm)
    inverse = [0] * N
    for old, new in enumerate(perm):
        inverse[new] = old
    offsets, index = [], []
    for n in range(N):
        offsets.append(len(index))
        index.extend(-1 if c < 0 else perm[c] for c in kids[inverse[n]])
    offsets.append(len(index))
    return offsets, index, [[perm[m] for m in members] for members in members_of]


CASES = [
    # name, kind, K, bias, (trees, max_nodes, max_kids, empty), leaf states
    ("treernn-tanh-arity2", "rnn_tanh", 2, True, (5, 12, 2, 0.2), False),
    ("treernn-relu-arity3", "rnn_relu", 3, True, (4, 12, 3, 0.2), False),
    ("treernn-tanh-leaf-states", "rnn_tanh", 2, True, (4, 10, 2, 0.1), True),
    ("childsum", "childsum", 0, True, (5, 12, 4, 0.15), False),
    ("childsum-nobias", "childsum", 0, False, (3, 12, 3, 0.0), False),
    ("childsum-leaf-states", "childsum", 0, True, (4, 10, 3, 0.1), True),
    ("nary-arity2", "nary", 2, True, (5, 12, 2, 0.2), False),
    ("nary-arity3", "nary", 3, True, (4, 14, 3, 0.25), False),
    ("nary-arity2-leaf-states", "nary", 2, True, (4, 10, 2, 0.1), True),
]


def make_case(i, name, kind, K, bias, shape, leaf):
    seed = 7000 + i
    torch.manual_seed(seed)
    rng = random.Random(seed)
    I, H = 5, 4
    offsets, index, trees = random_forest(rng, *shape)
    N = len(offsets) - 1
    lstm = kind in ("childsum", "nary")
    params = make_params(kind, I, H, K, bias=bias, scale=0.6)
    x = (torch.rand(N, I) * 2 - 1).requires_grad_()
    leaf_h = (torch.rand(N, H) * 2 - 1).requires_grad_() if leaf else None
    leaf_c = (torch.rand(N, H) * 2 - 1).requires_grad_() if leaf and lstm else None
    h, c = run_nodewise(kind, params, H, K, x, offsets, index, leaf_h, leaf_c)
    is_child = {ch for ch in index if ch >= 0}
    roots = [n for n in range(N) if n not in is_child]
    R = len(roots)
    w = {"h": torch.rand(N, H) * 2 - 1, "rootH": torch.rand(R, H) * 2 - 1}
    loss = (h * w["h"]).sum() + (h[roots] * w["rootH"]).sum()
    if lstm:
        w["c"], w["rootC"] = torch.rand(N, H) * 2 - 1, torch.rand(R, H) * 2 - 1
        loss = loss + (c * w["c"]).sum() + (c[roots] * w["rootC"]).sum()
    loss.backward()
    if not leaf:  # the level-batched version agrees with the node-by-node one
        with torch.no_grad():
            h2, c2 = run_levels(kind, params, H, K, x, levels_of(offsets, index))
        assert torch.allclose(h, h2, atol=1e-6), name
        if lstm:
            assert torch.allclose(c, c2, atol=1e-6), name
    grads = {"x": tensor(x.grad)}
    for pname, p in params.items():
        grads[pname] = tensor(p.grad)
    if leaf_h is not None:
        grads["leafH"] = tensor(leaf_h.grad)
    if leaf_c is not None:
        grads["leafC"] = tensor(leaf_c.grad)
    return {
        "name": name,
        "seed": seed,
        "kind": kind,
        "config": {"inputSize": I, "hiddenSize": H, "arity": K, "bias": bias},
        "forest": {"offsets": offsets, "index": index},
        "trees": trees,
        "paramOrder": list(params.keys()),
        "params": {k: tensor(v) for k, v in params.items()},
        "x": tensor(x),
        "leafH": tensor(leaf_h) if leaf_h is not None else None,
        "leafC": tensor(leaf_c) if leaf_c is not None else None,
        "roots": roots,
        "weights": {"h": tensor(w["h"]), "c": tensor(w["c"]) if lstm else None,
                    "rootH": tensor(w["rootH"]), "rootC": tensor(w["rootC"]) if lstm else None},
        "outputs": {"h": tensor(h), "c": tensor(c) if lstm else None},
        "loss": float(loss.item()),
        "grads": grads,
    }


TRAINING = [
    # name, kind, K
    ("train-nary-arity2", "nary", 2),
    ("train-childsum", "childsum", 0),
    ("train-treernn", "rnn_tanh", 2),
]


def make_training(i, name, kind, K):
    seed = 7500 + i
    torch.manual_seed(seed)
    rng = random.Random(seed)
    I, H, classes, lr, steps = 5, 6, 3, 0.5, 6
    offsets, index, _ = random_forest(rng, 6, 10, max(K, 3) if kind == "childsum" else K, 0.1)
    N = len(offsets) - 1
    params = make_params(kind, I, H, K, scale=0.5)
    head_w = ((torch.rand(classes, H) * 2 - 1) * 0.5).requires_grad_()
    head_b = ((torch.rand(classes) * 2 - 1) * 0.5).requires_grad_()
    x = torch.rand(N, I) * 2 - 1
    is_child = {ch for ch in index if ch >= 0}
    roots = [n for n in range(N) if n not in is_child]
    targets = torch.tensor([rng.randrange(classes) for _ in roots])
    initial = {k: tensor(v) for k, v in params.items()}
    head0 = {"weight": tensor(head_w), "bias": tensor(head_b)}
    opt = torch.optim.SGD(list(params.values()) + [head_w, head_b], lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        h, _ = run_nodewise(kind, params, H, K, x, offsets, index)
        loss = torch.nn.functional.cross_entropy(h[roots] @ head_w.t() + head_b, targets)
        losses.append(float(loss.item()))
        loss.backward()
        opt.step()
    return {
        "name": name, "seed": seed, "kind": kind,
        "config": {"inputSize": I, "hiddenSize": H, "arity": K, "bias": True},
        "forest": {"offsets": offsets, "index": index},
        "x": tensor(x), "targets": targets.tolist(), "classes": classes, "lr": lr, "steps": steps,
        "params": initial, "head": head0, "losses": losses,
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "test", "fixtures")
    cases = [make_case(i, *c) for i, c in enumerate(CASES)]
    training = [make_training(i, *t) for i, t in enumerate(TRAINING)]
    doc = {"generator": f"scripts/make_tree_fixtures.py torch {torch.__version__}", "cases": cases, "training": training}
    path = os.path.join(out_dir, "trees.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
