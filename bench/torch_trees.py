"""The tree cells of rnn-native written in PyTorch, twice.

* node by node (`run_nodewise`): the straightforward way research code does it — a Python
  walk that applies the cell to one node at a time, each node as soon as its children are
  done. This is the reference of test/fixtures/trees.json (scripts/make_tree_fixtures.py),
  written from Tai, Sheng & Manning (2015), equations 2–8 (child-sum) and 9–14 (N-ary), and
  Socher et al.'s recursive unit, independently of the kernels' layout tricks.
* level-batched (`run_levels`): the same math with every level of the forest as one batch
  (index_select of the children's states, one matmul, elementwise ops, index_copy back): the
  fastest form we know in plain PyTorch. bench/torch_workloads.py times both.

Parameters use rnn-native's names and shapes (docs/trees.md):
  TreeRNN   weight_ih (H, I), weight_hh (H, K·H) (column block k = U_k), bias_ih, bias_hh (H)
  ChildSum  weight_ih (4H, I), weight_hh (4H, H), bias_ih, bias_hh (4H); gates i, f, g(u), o
  N-ary     weight_ih (4H, I) gates i, f, g, o; weight_hh ((3+K)·H, K·H) gate blocks
            i, f_0 … f_{K-1}, g, o; bias_ih (4H); bias_hh ((3+K)·H)
The forest: offsets (N + 1) and index (E) as in the layers: node n's children are
index[offsets[n]:offsets[n+1]], -1 for an empty position (zeros).
"""
import torch

KINDS = ("rnn_tanh", "rnn_relu", "childsum", "nary")


def make_params(kind, I, H, K, bias=True, generator=None, scale=None):
    """Parameters as a dict of leaf tensors (requires_grad), U(-1/sqrt(H), 1/sqrt(H)) by default."""
    bound = scale if scale is not None else 1.0 / H ** 0.5
    if kind in ("rnn_tanh", "rnn_relu"):
        shapes = {"weight_ih": (H, I), "weight_hh": (H, K * H), "bias_ih": (H,), "bias_hh": (H,)}
    elif kind == "childsum":
        shapes = {"weight_ih": (4 * H, I), "weight_hh": (4 * H, H), "bias_ih": (4 * H,), "bias_hh": (4 * H,)}
    else:
        shapes = {"weight_ih": (4 * H, I), "weight_hh": ((3 + K) * H, K * H), "bias_ih": (4 * H,), "bias_hh": ((3 + K) * H,)}
    out = {}
    for name, shape in shapes.items():
        if name.startswith("bias") and not bias:
            continue
        t = (torch.rand(shape, generator=generator) * 2 - 1) * bound
        out[name] = t.requires_grad_()
    return out


def children_of(offsets, index, n):
    return [int(c) for c in index[int(offsets[n]):int(offsets[n + 1])]]


def _bias(p, name, size):
    return p[name] if name in p else torch.zeros(size)


def node_step(kind, p, H, K, x, kids):
    """One node. x (I,); kids: a list of (h, c) pairs, None for an empty position. Returns (h, c)."""
    if kind in ("rnn_tanh", "rnn_relu"):
        pre = p["weight_ih"] @ x + _bias(p, "bias_ih", H) + _bias(p, "bias_hh", H)
        for k, kid in enumerate(kids):
            if kid is not None:
                pre = pre + p["weight_hh"][:, k * H:(k + 1) * H] @ kid[0]
        return (torch.relu(pre) if kind == "rnn_relu" else torch.tanh(pre)), None
    if kind == "childsum":
        W, U = p["weight_ih"], p["weight_hh"]
        wx = W @ x + _bias(p, "bias_ih", 4 * H) + _bias(p, "bias_hh", 4 * H)
        h_sum = torch.zeros(H)
        for kid in kids:
            if kid is not None:
                h_sum = h_sum + kid[0]                                     # (2)
        uh = U @ h_sum
        i = torch.sigmoid(wx[0:H] + uh[0:H])                               # (3)
        u = torch.tanh(wx[2 * H:3 * H] + uh[2 * H:3 * H])                  # (6)
        o = torch.sigmoid(wx[3 * H:] + uh[3 * H:])                         # (5)
        c = i * u
        for kid in kids:
            if kid is not None:
                f = torch.sigmoid(wx[H:2 * H] + U[H:2 * H] @ kid[0])       # (4)
                c = c + f * kid[1]                                         # (7)
        return o * torch.tanh(c), c                                        # (8)
    # N-ary
    W, U = p["weight_ih"], p["weight_hh"]
    wx = W @ x + _bias(p, "bias_ih", 4 * H)
    bh = _bias(p, "bias_hh", (3 + K) * H)
    hs = [kid[0] if kid is not None else torch.zeros(H) for kid in kids] + [torch.zeros(H)] * (K - len(kids))
    rec = U @ torch.cat(hs)                                                # Σ_l U_l h_l for every gate block
    blk = lambda t, b: t[b * H:(b + 1) * H]
    i = torch.sigmoid(wx[0:H] + blk(rec, 0) + blk(bh, 0))                  # (9)
    u = torch.tanh(wx[2 * H:3 * H] + blk(rec, 1 + K) + blk(bh, 1 + K))     # (12)
    o = torch.sigmoid(wx[3 * H:] + blk(rec, 2 + K) + blk(bh, 2 + K))       # (11)
    c = i * u
    for k, kid in enumerate(kids):
        if kid is not None:
            f = torch.sigmoid(wx[H:2 * H] + blk(rec, 1 + k) + blk(bh, 1 + k))  # (10)
            c = c + f * kid[1]                                             # (13)
    return o * torch.tanh(c), c                                            # (14)


def run_nodewise(kind, p, H, K, x, offsets, index, leaf_h=None, leaf_c=None):
    """Every node's (h, c), one node at a time, bottom-up (an explicit stack, no recursion).
    leaf_h/leaf_c (N, H): the states of the nodes without children, used instead of computing them."""
    N = x.shape[0]
    state = [None] * N
    is_child = [False] * N
    for n in range(N):
        for c in children_of(offsets, index, n):
            if c >= 0:
                is_child[c] = True
    lstm = kind in ("childsum", "nary")
    for root in (n for n in range(N) if not is_child[n]):
        stack = [(root, False)]
        while stack:
            n, expanded = stack.pop()
            kids = children_of(offsets, index, n)
            if not expanded:
                stack.append((n, True))
                stack.extend((c, False) for c in kids if c >= 0)
                continue
            if leaf_h is not None and all(c < 0 for c in kids):
                c = (leaf_c[n] if leaf_c is not None else torch.zeros(H)) if lstm else None
                state[n] = (leaf_h[n], c)
                continue
            state[n] = node_step(kind, p, H, K, x[n], [state[c] if c >= 0 else None for c in kids])
    h = torch.stack([s[0] for s in state])
    c = torch.stack([s[1] for s in state]) if lstm else None
    return h, c


def levels_of(offsets, index):
    """The level schedule (as the layers build it): a list of (nodes, child slots) per level,
    where child slots is a (n, max slots) LongTensor of child ids, -1 for empty."""
    N = len(offsets) - 1
    parent = [-1] * N
    pending = [0] * N
    for n in range(N):
        for c in children_of(offsets, index, n):
            if c >= 0:
                parent[c] = n
                pending[n] += 1
    level = [n for n in range(N) if pending[n] == 0]
    out = []
    while level:
        width = max((int(offsets[n + 1] - offsets[n]) for n in level), default=0)
        slots = torch.full((len(level), max(width, 1)), -1, dtype=torch.long)
        for r, n in enumerate(level):
            kids = children_of(offsets, index, n)
            if kids:
                slots[r, :len(kids)] = torch.tensor(kids)
        out.append((torch.tensor(level, dtype=torch.long), slots))
        nxt = []
        for n in level:
            up = parent[n]
            if up >= 0:
                pending[up] -= 1
                if pending[up] == 0:
                    nxt.append(up)
        level = nxt
    return out


def run_levels(kind, p, H, K, x, schedule):
    """Every node's (h, c), level by level: one batched step per level over all trees.
    schedule: levels_of(offsets, index) (computed once per forest, outside the timed step)."""
    N = x.shape[0]
    lstm = kind in ("childsum", "nary")
    # Row N of the state tables is a zero row that empty slots (-1) point at.
    h_all = torch.zeros(N + 1, H)
    c_all = torch.zeros(N + 1, H) if lstm else None
    wx_all = x @ p["weight_ih"].t() + _bias(p, "bias_ih", p["weight_ih"].shape[0])  # hoisted input projection
    for nodes, slots in schedule:
        kid = torch.where(slots >= 0, slots, torch.full_like(slots, N))          # (n, S)
        wx = wx_all.index_select(0, nodes)
        n, S = kid.shape
        kh = h_all.index_select(0, kid.reshape(-1)).reshape(n, S, H)
        if kind in ("rnn_tanh", "rnn_relu"):
            kh = torch.cat([kh, torch.zeros(n, K - S, H)], 1) if S < K else kh
            pre = wx + kh.reshape(n, K * H) @ p["weight_hh"].t() + _bias(p, "bias_hh", H)
            h = torch.relu(pre) if kind == "rnn_relu" else torch.tanh(pre)
            h_all = h_all.index_copy(0, nodes, h)
            continue
        kc = c_all.index_select(0, kid.reshape(-1)).reshape(n, S, H)
        if kind == "childsum":
            U = p["weight_hh"]
            g = wx + _bias(p, "bias_hh", 4 * H) + kh.sum(1) @ U.t()
            i, u, o = torch.sigmoid(g[:, :H]), torch.tanh(g[:, 2 * H:3 * H]), torch.sigmoid(g[:, 3 * H:])
            fx = wx[:, H:2 * H] + _bias(p, "bias_hh", 4 * H)[H:2 * H]
            f = torch.sigmoid(fx.unsqueeze(1) + kh @ U[H:2 * H].t())              # (n, S, H)
            c = i * u + (f * kc).sum(1)
        else:
            if S < K:
                kh = torch.cat([kh, torch.zeros(n, K - S, H)], 1)
                kc = torch.cat([kc, torch.zeros(n, K - S, H)], 1)
            rec = kh.reshape(n, K * H) @ p["weight_hh"].t() + _bias(p, "bias_hh", (3 + K) * H)
            i = torch.sigmoid(wx[:, :H] + rec[:, :H])
            f = torch.sigmoid(wx[:, H:2 * H].unsqueeze(1) + rec[:, H:(1 + K) * H].reshape(n, K, H))
            u = torch.tanh(wx[:, 2 * H:3 * H] + rec[:, (1 + K) * H:(2 + K) * H])
            o = torch.sigmoid(wx[:, 3 * H:] + rec[:, (2 + K) * H:])
            c = i * u + (f * kc).sum(1)
        h = o * torch.tanh(c)
        h_all = h_all.index_copy(0, nodes, h)
        c_all = c_all.index_copy(0, nodes, c)
    return h_all[:N], (c_all[:N] if lstm else None)
