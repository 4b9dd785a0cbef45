#!/usr/bin/python3
"""PyTorch reference fixtures for the composable (autograd) layer of rnn-native:
functional ops with their backward, losses, single-step cells run over several
steps, an attention encoder-decoder (seq2seq) training step, and adversarial
training's double pass (Miyato et al. 2017).

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_composition_fixtures.py [output-directory]

Default output directory: test/fixtures (relative to the repository root).
Files written: ops.json, losses.json, cells.json, seq2seq.json, adversarial.json.
The output is deterministic (torch.manual_seed per case, float32, CPU, one
thread, deterministic algorithms); re-running gives byte-identical files.

Common format
-------------
Top level of every file: {"generator": "scripts/make_composition_fixtures.py
torch <version>", "cases": [case, ...]}

Every tensor is {"shape": [...], "data": [...]} with data flattened row-major.
A 0-d tensor (a scalar loss / sum / mean, and its upstream gradient) has
"shape": [] and a one-element "data": [v].  Float32 values are written exactly
(float32 -> float64 -> JSON), so Math.fround(x) of each value reproduces the
float32 torch had.  Plain numbers (loss, loss1, loss2, posWeight entries) are
float32 values written the same way.

Integer arrays (ids, targets, lengths, masks, indices) are plain JSON arrays of
ints (flattened row-major / time-major where multi-dimensional).

Every case has "name" (unique within its file) and "seed" (the
torch.manual_seed used for the case: 1000 + i in ops.json, 2000 + i in
losses.json, 3000 + i in cells.json, 4000 + i in seq2seq.json, 5000 + i in
adversarial.json, with + k*100000 for cases re-drawn k times).

Upstream gradient convention: for a case with output tensor(s), R is drawn
U[-1,1] with the output's shape, stored as "gradOutput", and the backward pass
uses loss = sum(output * R).  "grads" = {name: d loss / d that tensor} for each
float input that requires grad (and each parameter, under its name).

Dims may be negative, exactly as passed to PyTorch.

ops.json
--------
case = {name, seed, op, args, inputs: {name: tensor}, output, gradOutput,
        grads: {name: tensor}}; every input is U[-1,1] and requires grad
(grads has an entry for every input).

  op                  inputs           args               PyTorch
  "matmul"            a, b             {}                 torch.matmul(a, b): (3,4)@(4,5)
                                                          and batched (2,3,4)@(2,4,5) (= bmm)
  "add" "sub" "mul"   a, b             {}                 a + b, a - b, a * b; b's shape is
                                                          a's shape or a's trailing dims
                                                          ((2,3,4) with (2,3,4), (4), (3,4))
  "tanh" "sigmoid"    x (3,5)          {}                 torch.tanh / sigmoid / relu
  "relu"                                                  (relu: every |x| >= 1e-3)
  "softmax"           x (2,3,4)        {dim}              torch.softmax(x, dim), dim -1, 0, 1
  "logSoftmax"        x (2,3,4)        {dim}              torch.log_softmax(x, dim)
  "maskedFill"        x (2,3,4)        {mask, value}      x.masked_fill(mask, value), value 0.5;
                                                          mask: x.numel() ints 0/1 (1 = fill),
                                                          flattened row-major, same shape as x
  "maskedFill+softmax" x (2,3,4)       {mask, value,      torch.softmax(x.masked_fill(mask,
                                        dim}              -inf), dim); value is the STRING
                                                          "-Infinity", dim is -1; no row along
                                                          the last dim is fully masked
  "cat"               x0, x1[, x2]     {dim}              torch.cat([x0, x1, x2], dim):
                                                          (2,3),(2,1),(2,4) dim -1;
                                                          (2,3),(4,3) dim 0
  "sum" "mean"        x (3,4)          {}                 x.sum(), x.mean(): output shape []
  "transpose"         x (2,3,4)        {dim0, dim1}       x.transpose(dim0, dim1)
  "reshape"           x (2,3,4)        {shape}            x.reshape(shape), shape [6,4]
  "narrow"            x (4,5,3)        {dim, start,       torch.narrow(x, dim, start, length)
                                        length}
  "indexSelect"       x (6,4)          {dim, index}       torch.index_select(x, dim, index),
                                                          dim 0, index [5,0,5,2] (repeated
                                                          index: gradients summed)
  "layerNorm"         x (3,4,6),       {normalizedShape,  F.layer_norm(x, normalizedShape,
                      weight (6),       eps}              weight, bias, eps), eps 1e-5
                      bias (6)

losses.json
-----------
case = {name, seed, op, args, inputs: {name: tensor}, output (shape []),
        gradOutput (shape [], one number R; loss' = output * R),
        grads: {name: tensor}}.  Reduction is always "mean".  The float input is
always named "input" (the first argument's PyTorch name); integer class
targets are args.targets (plain ints).

  op                   inputs                      args
  "crossEntropy"       input (6,5) logits          {targets (6 ints), ignoreIndex, labelSmoothing}
                                                   F.cross_entropy(input, targets,
                                                   ignore_index=..., label_smoothing=...)
  "nllLoss"            input (6,5) = log_softmax   {targets, ignoreIndex}
                       of U[-1,1] logits, stored   F.nll_loss(input, targets, ignore_index=...)
                       as the leaf input
  "mseLoss"            input (3,4), target (3,4)   {}           F.mse_loss(input, target)
  "bceWithLogitsLoss"  input (3,4) logits,         {} or {posWeight: [4 floats]}
                       target (3,4) in U[0,1]      F.binary_cross_entropy_with_logits(input,
                                                   target, pos_weight=posWeight)
ignoreIndex and labelSmoothing are always written explicitly (defaults -100, 0).
"target" inputs do NOT require grad: grads has only "input".
Mean cross-entropy with ignore_index and label smoothing (torch 1.13 and ours):
over the n rows whose target != ignoreIndex,
  loss = (1/n) * sum_i [ (1-ls) * (-logp[i, t_i]) + (ls/C) * sum_c (-logp[i, c]) ]
(checked in float64 while generating).

cells.json
----------
Single-step cells (torch.nn.RNNCell(nonlinearity=tanh|relu) / LSTMCell /
GRUCell) run over `steps` steps:
  h_t (, c_t) = cell(x[t], h_{t-1} (, c_{t-1}))   t = 0..steps-1
  loss = sum_t sum(h_t * gradH[t]) (+ sum_t sum(c_t * gradC[t]) for LSTM)
case = {name, seed, mode ("RNN_TANH"|"RNN_RELU"|"LSTM"|"GRU"),
        config: {inputSize, hiddenSize, bias}, steps, B,
        paramOrder (cell.named_parameters() names: weight_ih, weight_hh
                    [, bias_ih, bias_hh]),
        params: {name: tensor}   weight_ih (G*H, I), weight_hh (G*H, H),
                                 bias_ih (G*H), bias_hh (G*H); PyTorch gate
                                 order (LSTM i,f,g,o; GRU r,z,n)
        x (steps,B,I), h0 (B,H), c0 (B,H) for LSTM else null,
        h (steps,B,H) all h_t stacked, c (steps,B,H) for LSTM else null,
        gradH (steps,B,H), gradC (steps,B,H) for LSTM else null,
        gradX (steps,B,I), gradH0 (B,H), gradC0 (B,H) for LSTM else null,
        grads: {paramName: tensor}}
Random init: params U[-0.5,0.5], x U[-1,1], h0/c0 U[-0.5,0.5], gradH/gradC
U[-1,1].  RNN_RELU cases are re-drawn (seed + k*100000) until every
pre-activation is >= 1e-4 away from 0.

seq2seq.json
------------
Attention encoder-decoder, one forward + backward (no optimizer step).
Modules, registered in this order in a torch.nn.ModuleDict (parameter names
are "<module>.<param>", e.g. "encoder.weight_ih_l0_reverse"):
  src_emb  nn.Embedding(Vs, E, padding_idx=0)
  tgt_emb  nn.Embedding(Vt, E, padding_idx=0)
  encoder  nn.LSTM(E, H, bidirectional=True)      time-major, one layer
  bridge_h nn.Linear(2H, H);  bridge_c nn.Linear(2H, H)
  decoder  nn.LSTM(E, H)                          time-major, one layer
  key      nn.Linear(2H, H, bias=False)
  combine  nn.Linear(3H, H);  out nn.Linear(H, Vt)
All parameters U[-0.3,0.3], then row 0 of both embeddings set to 0.
Forward:
  xs = src_emb(src)                                          (S,B,E)
  enc_packed, (hN, cN) = encoder(pack_padded_sequence(xs, srcLengths,
                                                      enforce_sorted=False))
  enc, _ = pad_packed_sequence(enc_packed, total_length=S)   (S,B,2H)
  h_cat = hN.transpose(0,1).reshape(B, 2H)   c_cat likewise  [fwd | bwd]
  h0 = tanh(bridge_h(h_cat)).reshape(1,B,H)  c0 = tanh(bridge_c(c_cat))...
  dec, _ = decoder(tgt_emb(tgtIn), (h0, c0))                 (Tt,B,H)
  keys = key(enc)                                            (S,B,H)
  q = dec.transpose(0,1)                                     (B,Tt,H)
  k = keys.transpose(0,1).transpose(1,2)                     (B,H,S)
  scores = bmm(q, k)                                         (B,Tt,S)
  mask[b,t,s] = s >= srcLengths[b]
  attn = softmax(scores.masked_fill(mask, -inf), -1)         (B,Tt,S)
  ctx = bmm(attn, enc.transpose(0,1))                        (B,Tt,2H)
  comb = tanh(combine(cat([ctx, q], -1)))                    (B,Tt,H)
  logits = out(comb).reshape(B*Tt, Vt)          row = b*Tt + t (batch-major)
  loss = F.cross_entropy(logits, tgtOut.transpose(0,1).reshape(B*Tt),
                         ignore_index=-100)
case = {name, seed, sizes: {Vs, Vt, E, H, B, S, Tt},
        src (S*B ints, time-major: src[s*B + b]; 0 at s >= srcLengths[b],
             1..Vs-1 elsewhere),
        srcLengths (B ints; max may be < S),
        tgtLengths (B ints, informative: positions t >= tgtLengths[b] hold
                    tgtIn 0 and tgtOut -100),
        tgtIn (Tt*B ints, time-major; 1..Vt-1 or 0 past the target length),
        tgtOut (Tt*B ints, time-major; 1..Vt-1 or -100 past the target length),
        paramOrder, params: {name: tensor}, loss (number), logits (B*Tt, Vt),
        attn (B,Tt,S), grads: {name: tensor}}

adversarial.json
----------------
Model (torch.nn.ModuleDict, names "emb.weight", "rnn.weight_ih_l0", ...,
"head.weight", "head.bias"): emb = nn.Embedding(V, E) (no padding_idx),
rnn = nn.LSTM(E, H) (time-major, one layer, zero initial state),
head = nn.Linear(H, C); all parameters U[-0.3,0.3].
  classify(e) = head(hN[0]) where _, (hN, _) = rnn(pack_padded_sequence(e,
                lengths, enforce_sorted=False))               (B, C)
  e = emb(ids); e.retain_grad()                               (T,B,E)
  loss1 = F.cross_entropy(classify(e), targets); loss1.backward()
  g = e.grad                                                  (T,B,E)
  norm[b] = sqrt(sum_{t,k} g[t,b,k]^2)   (all T steps; padded steps have g 0)
  r = epsilon * g / (norm[b] + 1e-12)                         (detached)
  e2 = emb(ids) + r
  loss2 = F.cross_entropy(classify(e2), targets); loss2.backward()
  (parameter .grad accumulates over both backward passes)
case = {name, seed, sizes: {V, E, H, C, T, B},
        ids (T*B ints time-major; 0 at padded positions t >= lengths[b]),
        lengths (B ints), targets (B ints in 0..C-1), epsilon,
        paramOrder, params, loss1, loss2 (numbers), embGrad: g (T,B,E),
        r (T,B,E), grads: {name: accumulated gradient after both backwards}}
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

GENERATOR = "scripts/make_composition_fixtures.py torch %s" % torch.__version__
RELU_MARGIN = 1e-4


# ---------------------------------------------------------------- helpers

def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).double().tolist()}


def f32(x):
    """A python float rounded to float32 (written exactly)."""
    return float(torch.tensor(x, dtype=torch.float32).item())


def uniform(shape, lo, hi):
    return torch.empty(tuple(shape), dtype=torch.float32).uniform_(lo, hi)


def leaf(shape, lo=-1.0, hi=1.0):
    return uniform(shape, lo, hi).requires_grad_(True)


def check_unique(cases):
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"


def write(out_dir, fname, cases):
    check_unique(cases)
    path = os.path.join(out_dir, fname)
    with open(path, "w") as f:
        json.dump({"generator": GENERATOR, "cases": cases}, f,
                  separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote %s: %d cases, %d bytes" % (path, len(cases), os.path.getsize(path)))


def with_redraw(fn, seed):
    """fn(seed) returns a case or None (draw rejected); re-seed + k*100000."""
    for k in range(100):
        res = fn(seed + 100000 * k)
        if res is not None:
            return res
    raise RuntimeError("no acceptable draw")


# ---------------------------------------------------------------- ops

def op_case(name, op, args, shapes, fn, seed, accept=None):
    """shapes: ordered {inputName: shape}; fn(inputs dict) -> output tensor.
    accept(inputs) -> bool may reject a draw (then re-seeded)."""

    def once(s):
        torch.manual_seed(s)
        inputs = {k: leaf(sh) for k, sh in shapes.items()}
        if accept is not None and not accept(inputs):
            return None
        out = fn(inputs)
        r = uniform(tuple(out.shape), -1.0, 1.0)
        (out * r).sum().backward()
        return {
            "name": name,
            "seed": s,
            "op": op,
            "args": args,
            "inputs": {k: tensor_json(v) for k, v in inputs.items()},
            "output": tensor_json(out),
            "gradOutput": tensor_json(r),
            "grads": {k: tensor_json(v.grad) for k, v in inputs.items()},
        }

    return with_redraw(once, seed)


def draw_mask(numel, shape, p, no_full_last_row):
    """0/1 mask drawn from the global generator (after the case's seed);
    re-drawn until no row along the last dim is fully masked if asked, and
    until it has both 0s and 1s."""
    for _ in range(1000):
        m = (torch.rand(numel) < p).to(torch.int64)
        mm = m.reshape(shape)
        if m.sum() == 0 or m.sum() == numel:
            continue
        if no_full_last_row and (mm.sum(-1) == shape[-1]).any():
            continue
        return m
    raise RuntimeError("could not draw mask")


def ops_cases():
    specs = []  # (name, op, args, shapes, fn, accept)

    def add(name, op, args, shapes, fn, accept=None):
        specs.append((name, op, args, shapes, fn, accept))

    add("matmul_3x4_4x5", "matmul", {}, {"a": (3, 4), "b": (4, 5)},
        lambda i: torch.matmul(i["a"], i["b"]))
    add("matmul_batched_2x3x4_2x4x5", "matmul", {}, {"a": (2, 3, 4), "b": (2, 4, 5)},
        lambda i: torch.bmm(i["a"], i["b"]))

    binops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul}
    for op, f in binops.items():
        for bshape, tag in (((2, 3, 4), "same_2x3x4"), ((4,), "bcast_2x3x4_4"),
                            ((3, 4), "bcast_2x3x4_3x4")):
            add("%s_%s" % (op, tag), op, {}, {"a": (2, 3, 4), "b": bshape},
                lambda i, f=f: f(i["a"], i["b"]))

    add("tanh_3x5", "tanh", {}, {"x": (3, 5)}, lambda i: torch.tanh(i["x"]))
    add("sigmoid_3x5", "sigmoid", {}, {"x": (3, 5)}, lambda i: torch.sigmoid(i["x"]))
    add("relu_3x5", "relu", {}, {"x": (3, 5)}, lambda i: torch.relu(i["x"]),
        accept=lambda i: bool((i["x"].detach().abs() >= 1e-3).all()))

    for dim in (-1, 0, 1):
        add("softmax_2x3x4_dim%d" % dim, "softmax", {"dim": dim}, {"x": (2, 3, 4)},
            lambda i, d=dim: torch.softmax(i["x"], d))
    for dim in (-1, 0, 1):
        add("logSoftmax_2x3x4_dim%d" % dim, "logSoftmax", {"dim": dim}, {"x": (2, 3, 4)},
            lambda i, d=dim: torch.log_softmax(i["x"], d))

    # maskedFill: the mask is drawn from a separate generator seeded by the
    # case seed so that it does not depend on the input draw
    def mask_for(seed, no_full):
        g_state = torch.random.get_rng_state()
        torch.manual_seed(seed + 50000)
        m = draw_mask(24, (2, 3, 4), 0.35, no_full)
        torch.random.set_rng_state(g_state)
        return m

    # the seed is only known in build(); masks are attached there (see below)
    add("maskedFill_2x3x4_value0.5", "maskedFill", {"value": 0.5}, {"x": (2, 3, 4)}, None)
    add("maskedFill_softmax_2x3x4_neginf", "maskedFill+softmax",
        {"value": "-Infinity", "dim": -1}, {"x": (2, 3, 4)}, None)

    add("cat_2x3_2x1_2x4_dim-1", "cat", {"dim": -1},
        {"x0": (2, 3), "x1": (2, 1), "x2": (2, 4)},
        lambda i: torch.cat([i["x0"], i["x1"], i["x2"]], -1))
    add("cat_2x3_4x3_dim0", "cat", {"dim": 0}, {"x0": (2, 3), "x1": (4, 3)},
        lambda i: torch.cat([i["x0"], i["x1"]], 0))

    add("sum_3x4", "sum", {}, {"x": (3, 4)}, lambda i: i["x"].sum())
    add("mean_3x4", "mean", {}, {"x": (3, 4)}, lambda i: i["x"].mean())

    for d0, d1 in ((0, 1), (1, 2), (0, 2)):
        add("transpose_2x3x4_%d_%d" % (d0, d1), "transpose", {"dim0": d0, "dim1": d1},
            {"x": (2, 3, 4)}, lambda i, a=d0, b=d1: i["x"].transpose(a, b))

    add("reshape_2x3x4_to_6x4", "reshape", {"shape": [6, 4]}, {"x": (2, 3, 4)},
        lambda i: i["x"].reshape(6, 4))

    for dim, start, length in ((0, 1, 2), (1, 2, 3), (-1, 0, 2)):
        add("narrow_4x5x3_dim%d_start%d_len%d" % (dim, start, length), "narrow",
            {"dim": dim, "start": start, "length": length}, {"x": (4, 5, 3)},
            lambda i, d=dim, s=start, l=length: torch.narrow(i["x"], d, s, l))

    index = [5, 0, 5, 2]
    add("indexSelect_6x4_dim0", "indexSelect", {"dim": 0, "index": index}, {"x": (6, 4)},
        lambda i: torch.index_select(i["x"], 0, torch.tensor(index, dtype=torch.int64)))

    add("layerNorm_3x4x6", "layerNorm", {"normalizedShape": [6], "eps": 1e-5},
        {"x": (3, 4, 6), "weight": (6,), "bias": (6,)},
        lambda i: F.layer_norm(i["x"], [6], i["weight"], i["bias"], 1e-5))

    cases = []
    for idx, (name, op, args, shapes, fn, accept) in enumerate(specs):
        seed = 1000 + idx
        if op in ("maskedFill", "maskedFill+softmax"):
            neg = op == "maskedFill+softmax"
            m = mask_for(seed, neg)
            mb = m.reshape(2, 3, 4).bool()
            args = dict(args)
            args["mask"] = m.tolist()
            if neg:
                fn = lambda i, mb=mb: torch.softmax(i["x"].masked_fill(mb, float("-inf")), -1)
            else:
                fn = lambda i, mb=mb: i["x"].masked_fill(mb, 0.5)
            # keep key order mask, value[, dim]
            args = {k: args[k] for k in ("mask", "value", "dim") if k in args}
        cases.append(op_case(name, op, args, shapes, fn, seed, accept))
    return cases


# ---------------------------------------------------------------- losses

def ce_reference(logits, targets, ignore_index, ls):
    """float64 reference of mean cross entropy with ignore_index + label smoothing."""
    lp = torch.log_softmax(logits.detach().double(), -1)
    C = lp.shape[1]
    tot, n = 0.0, 0
    for i, t in enumerate(targets):
        if t == ignore_index:
            continue
        n += 1
        tot += (1 - ls) * (-lp[i, t].item()) + (ls / C) * (-lp[i].sum().item())
    return tot / n


def loss_case(name, op, seed, make):
    """make() (called after manual_seed) -> (args, inputs dict, grad-requiring
    names, output)."""
    torch.manual_seed(seed)
    args, inputs, req, out = make()
    assert out.dim() == 0
    r = uniform((), -1.0, 1.0)
    (out * r).sum().backward()
    return {
        "name": name,
        "seed": seed,
        "op": op,
        "args": args,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "output": tensor_json(out),
        "gradOutput": tensor_json(r),
        "grads": {k: tensor_json(inputs[k].grad) for k in req},
    }


def draw_targets(n, C, ignore_index=None, n_ignored=0, must_contain=None):
    t = torch.randint(0, C, (n,)).tolist()
    if must_contain is not None:
        # make sure the class `must_contain` occurs (it is the ignored class)
        pos = sorted(torch.randperm(n)[:2].tolist())
        for p in pos:
            t[p] = must_contain
        others = [c for c in range(C) if c != must_contain]
        for i in range(n):
            if i not in pos and t[i] == must_contain:
                t[i] = others[i % len(others)]
    if n_ignored:
        pos = torch.randperm(n)[:n_ignored].tolist()
        for p in pos:
            t[p] = ignore_index
    return t


def losses_cases():
    specs = []

    def ce(name, ignore_index, ls, n_ignored=0, contain=None):
        def make():
            x = leaf((6, 5))
            t = draw_targets(6, 5, ignore_index, n_ignored, contain)
            out = F.cross_entropy(x, torch.tensor(t), ignore_index=ignore_index,
                                  label_smoothing=ls)
            ref = ce_reference(x, t, ignore_index, ls)
            assert abs(out.item() - ref) < 1e-5, (name, out.item(), ref)
            args = {"targets": t, "ignoreIndex": ignore_index, "labelSmoothing": ls}
            return args, {"input": x}, ["input"], out
        specs.append((name, "crossEntropy", make))

    ce("crossEntropy_6x5", -100, 0.0)
    ce("crossEntropy_6x5_ignore2rows", -100, 0.0, n_ignored=2)
    ce("crossEntropy_6x5_ls0.1", -100, 0.1)
    ce("crossEntropy_6x5_ignore2_ls0.2", 2, 0.2, contain=2)

    def nll(name, ignore_index, n_ignored=0, contain=None):
        def make():
            x = torch.log_softmax(uniform((6, 5), -1.0, 1.0), -1).detach().requires_grad_(True)
            t = draw_targets(6, 5, ignore_index, n_ignored, contain)
            out = F.nll_loss(x, torch.tensor(t), ignore_index=ignore_index)
            args = {"targets": t, "ignoreIndex": ignore_index}
            return args, {"input": x}, ["input"], out
        specs.append((name, "nllLoss", make))

    nll("nllLoss_6x5", -100)
    nll("nllLoss_6x5_ignore2rows", -100, n_ignored=2)
    nll("nllLoss_6x5_ignore3", 3, contain=3)

    def mse():
        x = leaf((3, 4))
        tgt = uniform((3, 4), -1.0, 1.0)
        return {}, {"input": x, "target": tgt}, ["input"], F.mse_loss(x, tgt)
    specs.append(("mseLoss_3x4", "mseLoss", mse))

    def bce(pos):
        def make():
            x = leaf((3, 4))
            tgt = uniform((3, 4), 0.0, 1.0)
            if pos:
                pw = uniform((4,), 0.5, 2.0)
                out = F.binary_cross_entropy_with_logits(x, tgt, pos_weight=pw)
                args = {"posWeight": pw.double().tolist()}
            else:
                out = F.binary_cross_entropy_with_logits(x, tgt)
                args = {}
            return args, {"input": x, "target": tgt}, ["input"], out
        return make
    specs.append(("bceWithLogitsLoss_3x4", "bceWithLogitsLoss", bce(False)))
    specs.append(("bceWithLogitsLoss_3x4_posWeight", "bceWithLogitsLoss", bce(True)))

    return [loss_case(name, op, 2000 + i, make) for i, (name, op, make) in enumerate(specs)]


# ---------------------------------------------------------------- cells

def cell_case(spec, seed):
    mode, bias = spec["mode"], spec["bias"]
    I, H, B, steps = spec["I"], spec["H"], spec["B"], spec["steps"]
    is_lstm = mode == "LSTM"
    torch.manual_seed(seed)
    if mode == "LSTM":
        cell = nn.LSTMCell(I, H, bias=bias)
    elif mode == "GRU":
        cell = nn.GRUCell(I, H, bias=bias)
    else:
        cell = nn.RNNCell(I, H, bias=bias,
                          nonlinearity="tanh" if mode == "RNN_TANH" else "relu")
    with torch.no_grad():
        for _, p in cell.named_parameters():
            p.uniform_(-0.5, 0.5)
    order = [n for n, _ in cell.named_parameters()]
    params = dict(cell.named_parameters())

    x = leaf((steps, B, I))
    h0 = leaf((B, H), -0.5, 0.5)
    c0 = leaf((B, H), -0.5, 0.5) if is_lstm else None
    gh = uniform((steps, B, H), -1.0, 1.0)
    gc = uniform((steps, B, H), -1.0, 1.0) if is_lstm else None

    hs, cs, pre = [], [], []
    h, c = h0, c0
    for t in range(steps):
        if mode == "RNN_RELU":
            p64 = {n: v.detach().double() for n, v in params.items()}
            a = x[t].detach().double() @ p64["weight_ih"].t() + \
                h.detach().double() @ p64["weight_hh"].t()
            if bias:
                a = a + p64["bias_ih"] + p64["bias_hh"]
            pre.append(a.reshape(-1))
        if is_lstm:
            h, c = cell(x[t], (h, c))
            cs.append(c)
        else:
            h = cell(x[t], h)
        if mode == "RNN_RELU":
            # independent float64 check of the step
            assert torch.allclose(h.detach().double(), torch.relu(a), atol=1e-5)
        hs.append(h)
    if mode == "RNN_RELU":
        pre = torch.cat(pre)
        if pre.abs().min().item() < RELU_MARGIN:
            return None
    hs_t = torch.stack(hs)
    cs_t = torch.stack(cs) if is_lstm else None
    loss = (hs_t * gh).sum()
    if is_lstm:
        loss = loss + (cs_t * gc).sum()
    loss.backward()

    def opt(t):
        return None if t is None else tensor_json(t)

    return {
        "name": spec["name"],
        "seed": seed,
        "mode": mode,
        "config": {"inputSize": I, "hiddenSize": H, "bias": bias},
        "steps": steps,
        "B": B,
        "paramOrder": order,
        "params": {n: tensor_json(params[n]) for n in order},
        "x": tensor_json(x),
        "h0": tensor_json(h0),
        "c0": opt(c0),
        "h": tensor_json(hs_t),
        "c": opt(cs_t),
        "gradH": tensor_json(gh),
        "gradC": opt(gc),
        "gradX": tensor_json(x.grad),
        "gradH0": tensor_json(h0.grad),
        "gradC0": opt(c0.grad if c0 is not None else None),
        "grads": {n: tensor_json(params[n].grad) for n in order},
    }


def cells_cases():
    tags = {"RNN_TANH": "rnntanh", "RNN_RELU": "rnnrelu", "LSTM": "lstm", "GRU": "gru"}
    specs = []
    for mode, bias in (("RNN_TANH", True), ("RNN_RELU", True), ("LSTM", True),
                       ("LSTM", False), ("GRU", True), ("GRU", False)):
        specs.append(dict(mode=mode, bias=bias, I=4, H=5, B=3, steps=4))
    specs.append(dict(mode="LSTM", bias=True, I=7, H=16, B=2, steps=3))
    for s in specs:
        s["name"] = "%scell_%s_i%dh%db%dsteps%d" % (
            tags[s["mode"]], "bias" if s["bias"] else "nobias", s["I"], s["H"], s["B"], s["steps"])
    return [with_redraw(lambda sd, s=s: cell_case(s, sd), 3000 + i) for i, s in enumerate(specs)]


# ---------------------------------------------------------------- seq2seq

def seq2seq_case(name, seed, sizes, src_lengths, tgt_lengths):
    Vs, Vt, E, H = sizes["Vs"], sizes["Vt"], sizes["E"], sizes["H"]
    B, S, Tt = sizes["B"], sizes["S"], sizes["Tt"]
    assert len(src_lengths) == B and len(tgt_lengths) == B
    torch.manual_seed(seed)
    m = nn.ModuleDict()
    m["src_emb"] = nn.Embedding(Vs, E, padding_idx=0)
    m["tgt_emb"] = nn.Embedding(Vt, E, padding_idx=0)
    m["encoder"] = nn.LSTM(E, H, bidirectional=True)
    m["bridge_h"] = nn.Linear(2 * H, H)
    m["bridge_c"] = nn.Linear(2 * H, H)
    m["decoder"] = nn.LSTM(E, H)
    m["key"] = nn.Linear(2 * H, H, bias=False)
    m["combine"] = nn.Linear(3 * H, H)
    m["out"] = nn.Linear(H, Vt)
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.uniform_(-0.3, 0.3)
        m["src_emb"].weight[0].zero_()
        m["tgt_emb"].weight[0].zero_()
    order = [n for n, _ in m.named_parameters()]
    params = dict(m.named_parameters())

    src = torch.zeros(S, B, dtype=torch.int64)
    tgt_in = torch.zeros(Tt, B, dtype=torch.int64)
    tgt_out = torch.full((Tt, B), -100, dtype=torch.int64)
    for b in range(B):
        src[: src_lengths[b], b] = torch.randint(1, Vs, (src_lengths[b],))
        tgt_in[: tgt_lengths[b], b] = torch.randint(1, Vt, (tgt_lengths[b],))
        tgt_out[: tgt_lengths[b], b] = torch.randint(1, Vt, (tgt_lengths[b],))

    xs = m["src_emb"](src)
    packed = pack_padded_sequence(xs, torch.tensor(src_lengths), enforce_sorted=False)
    enc_packed, (hN, cN) = m["encoder"](packed)
    enc, _ = pad_packed_sequence(enc_packed, total_length=S)
    h_cat = hN.transpose(0, 1).reshape(B, 2 * H)
    c_cat = cN.transpose(0, 1).reshape(B, 2 * H)
    h0 = torch.tanh(m["bridge_h"](h_cat)).reshape(1, B, H)
    c0 = torch.tanh(m["bridge_c"](c_cat)).reshape(1, B, H)
    dec, _ = m["decoder"](m["tgt_emb"](tgt_in), (h0, c0))
    keys = m["key"](enc)
    q = dec.transpose(0, 1)
    k = keys.transpose(0, 1).transpose(1, 2)
    scores = torch.bmm(q, k)
    pos = torch.arange(S).reshape(1, 1, S)
    mask = (pos >= torch.tensor(src_lengths).reshape(B, 1, 1)).expand(B, Tt, S)
    attn = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    ctx = torch.bmm(attn, enc.transpose(0, 1))
    comb = torch.tanh(m["combine"](torch.cat([ctx, q], dim=-1)))
    logits = m["out"](comb).reshape(B * Tt, Vt)
    loss = F.cross_entropy(logits, tgt_out.transpose(0, 1).reshape(B * Tt), ignore_index=-100)
    loss.backward()

    assert (enc.detach()[torch.arange(S).reshape(S, 1) >= torch.tensor(src_lengths)] == 0).all()
    assert (attn.detach()[mask] == 0).all()

    return {
        "name": name,
        "seed": seed,
        "sizes": dict(sizes),
        "src": src.reshape(-1).tolist(),
        "srcLengths": list(src_lengths),
        "tgtLengths": list(tgt_lengths),
        "tgtIn": tgt_in.reshape(-1).tolist(),
        "tgtOut": tgt_out.reshape(-1).tolist(),
        "paramOrder": order,
        "params": {n: tensor_json(params[n]) for n in order},
        "loss": float(loss.item()),
        "logits": tensor_json(logits),
        "attn": tensor_json(attn),
        "grads": {n: tensor_json(params[n].grad) for n in order},
    }


def seq2seq_cases():
    return [
        seq2seq_case("seq2seq_vs11_vt9_e6_h5_b3_s6_t5", 4000,
                     dict(Vs=11, Vt=9, E=6, H=5, B=3, S=6, Tt=5), [4, 6, 2], [5, 3, 4]),
        # no source fills S (the last source position is padding everywhere),
        # a length-1 target
        seq2seq_case("seq2seq_vs8_vt7_e4_h3_b2_s5_t4_shortsrc", 4001,
                     dict(Vs=8, Vt=7, E=4, H=3, B=2, S=5, Tt=4), [3, 4], [1, 4]),
    ]


# ---------------------------------------------------------------- adversarial

def adversarial_case(name, seed, sizes, lengths, epsilon):
    V, E, H, C, T, B = (sizes[k] for k in ("V", "E", "H", "C", "T", "B"))
    assert len(lengths) == B and max(lengths) <= T
    torch.manual_seed(seed)
    m = nn.ModuleDict()
    m["emb"] = nn.Embedding(V, E)
    m["rnn"] = nn.LSTM(E, H)
    m["head"] = nn.Linear(H, C)
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.uniform_(-0.3, 0.3)
    order = [n for n, _ in m.named_parameters()]
    params = dict(m.named_parameters())

    ids = torch.zeros(T, B, dtype=torch.int64)
    for b in range(B):
        ids[: lengths[b], b] = torch.randint(0, V, (lengths[b],))
    targets = torch.randint(0, C, (B,))
    len_t = torch.tensor(lengths)

    def classify(e):
        packed = pack_padded_sequence(e, len_t, enforce_sorted=False)
        _, (hN, _) = m["rnn"](packed)
        return m["head"](hN[0])

    e = m["emb"](ids)
    e.retain_grad()
    loss1 = F.cross_entropy(classify(e), targets)
    loss1.backward()
    g = e.grad.detach().clone()
    norm = g.pow(2).sum(dim=(0, 2)).sqrt()                 # (B,)
    r = (epsilon * g / (norm.reshape(1, B, 1) + 1e-12)).detach()
    e2 = m["emb"](ids) + r
    loss2 = F.cross_entropy(classify(e2), targets)
    loss2.backward()

    for b in range(B):
        assert (g[lengths[b]:, b] == 0).all()
        assert abs(r[:, b].double().pow(2).sum().sqrt().item() - epsilon) < 1e-5

    return {
        "name": name,
        "seed": seed,
        "sizes": dict(sizes),
        "ids": ids.reshape(-1).tolist(),
        "lengths": list(lengths),
        "targets": targets.tolist(),
        "epsilon": epsilon,
        "paramOrder": order,
        "params": {n: tensor_json(params[n]) for n in order},
        "loss1": float(loss1.item()),
        "loss2": float(loss2.item()),
        "embGrad": tensor_json(g),
        "r": tensor_json(r),
        "grads": {n: tensor_json(params[n].grad) for n in order},
    }


def adversarial_cases():
    return [
        adversarial_case("adversarial_v13_e6_h5_c3_t7_b4", 5000,
                         dict(V=13, E=6, H=5, C=3, T=7, B=4), [7, 3, 5, 6], 0.5),
        adversarial_case("adversarial_v9_e4_h3_c2_t5_b3_len1", 5001,
                         dict(V=9, E=4, H=3, C=2, T=5, B=3), [1, 5, 3], 1.0),
    ]


# ---------------------------------------------------------------- main

def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    write(out_dir, "ops.json", ops_cases())
    write(out_dir, "losses.json", losses_cases())
    write(out_dir, "cells.json", cells_cases())
    write(out_dir, "seq2seq.json", seq2seq_cases())
    write(out_dir, "adversarial.json", adversarial_cases())


if __name__ == "__main__":
    main()
