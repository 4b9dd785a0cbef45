#!/usr/bin/python3
"""PyTorch 1.13 reference for the training stack (test/fixtures/training.json):
Embedding, Linear, cross-entropy, the optimizers (with parameter groups and our maxNorm
constraint) and complete multi-step training runs.

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_training_fixtures.py [output.json]

Default output: test/fixtures/training.json (relative to the repository root). The output is
deterministic (torch.manual_seed per section, float32, CPU, single thread).

Every tensor is {"shape": [...], "data": [...]} flattened row-major; float32 values are written
exactly (float32 -> float64 -> JSON), so Math.fround of each value is the float32 torch had.
Options are written with our (camelCase) names.

Top level: {"generator", "layers": {"embedding", "linear", "crossEntropy"}, "optim", "training"}

layers.embedding[]     name, numEmbeddings, embeddingDim, paddingIdx (as passed, may be negative,
                       or null), indices (flat ints), shape, weight, output, gradOutput, gradWeight
                       (gradient of sum(output * gradOutput) w.r.t. weight)
layers.linear[]        name, inFeatures, outFeatures, bias (bool), x, weight, biasValue (or null),
                       output, gradOutput, gradInput, gradWeight, gradBias (or null)
layers.crossEntropy[]  name, logits (N, C), targets (flat ints), opts ({ignoreIndex?,
                       labelSmoothing?} as passed to ours), loss (F.cross_entropy, mean),
                       grad (d loss / d logits)
optim[]                name, optimizer ("SGD"|"Adam"|"AdamW"|"RMSprop"|"Adagrad"), options
                       (constructor defaults), groups ([{params: [param indices], ...options}]),
                       params ([{name, shape, init}]), lrChanges ([{beforeStep, group, lr}]: set
                       paramGroups[group].lr before that step, 0-based), steps[] each
                       {grads: [flat per param], params: [flat per param after the step]}.
                       The gradient of step k (0-based) is sin(3 p) + 0.1 (k + 1) + 0.05 j for
                       element j of param p, computed by torch from the current values; the
                       tests feed the recorded gradients. A group with maxNorm is emulated
                       after each opt.step() by p = torch.renorm(p, 2, 0, maxNorm) on its 2-D
                       params (renorm scales by maxNorm / (norm + 1e-7), as ours).
training[]             name, cell ("LSTM"|"GRU"), V, E, H, T, B, numLayers, paddingIdx,
                       ignoreIndex, labelSmoothing (null = default), clip ({kind: "norm",
                       maxNorm} | {kind: "value", clipValue}), optimizer ("Adam"|"AdamW"),
                       options, groups ([{modules: [...names], ...options}], the params of
                       those modules in module order), tokens, targets (flat (T, B) ints),
                       paramOrder (model.named_parameters() names, prefixed emb./rnn./head.),
                       initial, final ({name: tensor}), losses, norms (per step; norms is the
                       value clip_grad_norm_ returned, [] for clipValue).
                       Each step: zero_grad, emb(tokens) (T,B,E) -> rnn -> head on (T*B, H) ->
                       F.cross_entropy -> backward -> clip over emb, rnn, head params -> step.
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)


def tj(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).double().tolist()}


def flat(t):
    return t.detach().to(torch.float32).reshape(-1).double().tolist()


# ---- layers -------------------------------------------------------------------------------

def embedding_cases():
    torch.manual_seed(1)
    cases = []
    V, E = 7, 5
    for name, pad, shape, nonzero_pad_row in [
        ("no_padding_2d", None, (4, 3), False),
        ("padding_2", 2, (4, 3), False),
        ("padding_neg1_nonzero_row", -1, (2, 3, 2), True),
        ("no_padding_1d", None, (6,), False),
    ]:
        emb = nn.Embedding(V, E, padding_idx=pad)
        if nonzero_pad_row:
            with torch.no_grad():
                emb.weight[emb.padding_idx].uniform_(-1, 1)  # a loaded row is still looked up
        n = math.prod(shape)
        idx = torch.randint(0, V, (n,))
        # repeated indices, and the padding index present
        idx[0] = 3
        idx[1] = 3
        idx[-1] = 3
        if pad is not None:
            idx[2] = pad % V
            idx[-2] = pad % V
        idx = idx.reshape(shape)
        out = emb(idx)
        g = torch.rand(out.shape) * 2 - 1
        out.backward(g)
        cases.append({
            "name": name, "numEmbeddings": V, "embeddingDim": E, "paddingIdx": pad,
            "indices": idx.reshape(-1).tolist(), "shape": list(shape),
            "weight": tj(emb.weight), "output": tj(out), "gradOutput": tj(g), "gradWeight": tj(emb.weight.grad),
        })
    return cases


def linear_cases():
    torch.manual_seed(2)
    cases = []
    for name, in_f, out_f, bias, xshape in [
        ("3d_bias", 5, 4, True, (2, 3, 5)),
        ("3d_no_bias", 5, 4, False, (2, 3, 5)),
        ("2d_bias", 6, 7, True, (12, 6)),
        ("1d_bias", 3, 2, True, (3,)),
    ]:
        lin = nn.Linear(in_f, out_f, bias=bias)
        x = (torch.rand(xshape) * 2 - 1).requires_grad_(True)
        y = lin(x)
        g = torch.rand(y.shape) * 2 - 1
        y.backward(g)
        cases.append({
            "name": name, "inFeatures": in_f, "outFeatures": out_f, "bias": bias,
            "x": tj(x), "weight": tj(lin.weight), "biasValue": tj(lin.bias) if bias else None,
            "output": tj(y), "gradOutput": tj(g), "gradInput": tj(x.grad),
            "gradWeight": tj(lin.weight.grad), "gradBias": tj(lin.bias.grad) if bias else None,
        })
    return cases


def ce_cases():
    torch.manual_seed(3)
    cases = []
    N, C = 6, 7
    for name, opts, scale, targets in [
        ("default", {}, 2.0, None),
        ("ignore_default_-100", {}, 2.0, [1, -100, 4, -100, 0, 6]),
        ("ignore_index_0", {"ignoreIndex": 0}, 2.0, [0, 3, 0, 5, 2, 0]),
        ("label_smoothing_0.1", {"labelSmoothing": 0.1}, 2.0, None),
        ("ignore_2_and_smoothing_0.1", {"ignoreIndex": 2, "labelSmoothing": 0.1}, 2.0, [2, 1, 6, 2, 2, 4]),
        ("label_smoothing_1", {"labelSmoothing": 1.0}, 2.0, None),
        ("large_logits", {}, 60.0, None),
        ("large_logits_smoothing", {"labelSmoothing": 0.25}, 60.0, None),
    ]:
        logits = (torch.randn(N, C) * scale).requires_grad_(True)
        t = torch.tensor(targets) if targets is not None else torch.randint(0, C, (N,))
        loss = F.cross_entropy(logits, t, ignore_index=opts.get("ignoreIndex", -100),
                               label_smoothing=opts.get("labelSmoothing", 0.0), reduction="mean")
        loss.backward()
        cases.append({"name": name, "logits": tj(logits), "targets": t.tolist(), "opts": opts,
                      "loss": float(loss), "grad": tj(logits.grad)})
    return cases


# ---- optimizers ---------------------------------------------------------------------------

TORCH_NAMES = {"lr": "lr", "momentum": "momentum", "dampening": "dampening", "nesterov": "nesterov",
               "weightDecay": "weight_decay", "maximize": "maximize", "betas": "betas", "eps": "eps",
               "amsgrad": "amsgrad", "alpha": "alpha", "centered": "centered", "lrDecay": "lr_decay",
               "initialAccumulatorValue": "initial_accumulator_value"}


def to_torch(opts):
    out = {}
    for k, v in opts.items():
        if k in ("params", "maxNorm"):
            continue
        out[TORCH_NAMES[k]] = tuple(v) if k == "betas" else v
    return out


PARAM_SPECS = [("W", (3, 4)), ("s", (2,)), ("b", (4,)), ("U", (2, 3))]
# group 0 holds W and s (maxNorm, when given, is on this group: W is clipped, s is 1-D and left
# alone); group 1 holds b and U (2-D but never renormed: maxNorm is per group).
GROUP_PARAMS = [[0, 1], [2, 3]]

OPTIM_CONFIGS = [
    ("sgd_plain", "SGD", {"lr": 0.1},
     [{"lr": 0.2, "weightDecay": 0.01}, {"lr": 0.05}], []),
    ("sgd_momentum_dampening_maxnorm", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3},
     [{"weightDecay": 0.02, "maxNorm": 0.9}, {"lr": 0.05, "momentum": 0.5}], [(5, 0, 0.03)]),
    ("sgd_nesterov_weight_decay", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weightDecay": 0.1},
     [{"lr": 0.1}, {"weightDecay": 0.0}], []),
    ("sgd_maximize", "SGD", {"lr": 0.05, "momentum": 0.9, "maximize": True},
     [{"weightDecay": 0.05}, {"lr": 0.02}], []),
    ("adam_plain", "Adam", {"lr": 0.05},
     [{"lr": 0.1, "weightDecay": 0.0}, {"lr": 0.02, "weightDecay": 0.01}], []),
    ("adam_amsgrad_weight_decay_maxnorm", "Adam", {"lr": 0.05, "amsgrad": True, "weightDecay": 0.1},
     [{"maxNorm": 0.45}, {"lr": 0.02, "weightDecay": 0.0, "betas": [0.8, 0.99], "eps": 1e-6}], [(3, 1, 0.04)]),
    ("adam_maximize", "Adam", {"lr": 0.03, "maximize": True},
     [{"weightDecay": 0.02}, {"lr": 0.01}], []),
    ("adamw_plain", "AdamW", {"lr": 0.05},
     [{"lr": 0.1, "weightDecay": 0.1}, {"lr": 0.02}], []),
    ("adamw_amsgrad_maxnorm", "AdamW", {"lr": 0.05, "amsgrad": True, "weightDecay": 0.05},
     [{"maxNorm": 0.45, "weightDecay": 0.2}, {"lr": 0.02, "betas": [0.5, 0.9]}], []),
    ("rmsprop_plain", "RMSprop", {"lr": 0.01},
     [{"lr": 0.02, "weightDecay": 0.01}, {"alpha": 0.9}], []),
    ("rmsprop_centered_momentum_weight_decay_maxnorm", "RMSprop",
     {"lr": 0.01, "centered": True, "momentum": 0.9, "weightDecay": 0.05},
     [{"maxNorm": 0.8}, {"lr": 0.005, "weightDecay": 0.0, "alpha": 0.95, "eps": 1e-4}], []),
    ("adagrad_lr_decay_weight_decay_init_acc_maxnorm", "Adagrad",
     {"lr": 0.1, "lrDecay": 0.05, "weightDecay": 0.05, "initialAccumulatorValue": 0.3},
     # (no per-group initialAccumulatorValue: torch 1.13 ignores it and fills every sum with
     # the constructor's value; ours honours the group's, as the optimizer docs say group options do)
     [{"maxNorm": 0.5}, {"lr": 0.05, "weightDecay": 0.0}], []),
    ("adagrad_plain", "Adagrad", {"lr": 0.1},
     [{"weightDecay": 0.02}, {"lr": 0.3, "eps": 1e-3}], []),
]

STEPS = 8


def optim_cases():
    torch.manual_seed(4)
    cases = []
    for name, kind, options, group_opts, lr_changes in OPTIM_CONFIGS:
        params = [nn.Parameter(torch.rand(shape) * 2 - 1) for _, shape in PARAM_SPECS]
        init = [tj(p) for p in params]
        groups = []
        for gi, g in enumerate(group_opts):
            groups.append({"params": [params[i] for i in GROUP_PARAMS[gi]], **to_torch(g)})
        cls = getattr(torch.optim, kind)
        opt = cls(groups, foreach=False, **to_torch(options))
        steps = []
        for k in range(STEPS):
            for before, gi, lr in lr_changes:
                if before == k:
                    opt.param_groups[gi]["lr"] = lr
            grads = []
            for p in params:
                offs = 0.05 * torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape)
                with torch.no_grad():
                    p.grad = torch.sin(3 * p) + 0.1 * (k + 1) + offs
                grads.append(flat(p.grad))
            opt.step()
            for gi, g in enumerate(group_opts):
                if "maxNorm" in g:
                    for i in GROUP_PARAMS[gi]:
                        p = params[i]
                        if p.dim() == 2:
                            with torch.no_grad():
                                p.data = torch.renorm(p.data, 2, 0, g["maxNorm"])
            steps.append({"grads": grads, "params": [flat(p) for p in params]})
        cases.append({
            "name": name, "optimizer": kind, "options": options,
            "groups": [{"params": GROUP_PARAMS[gi], **g} for gi, g in enumerate(group_opts)],
            "params": [{"name": n, "shape": list(s), "init": init[i]} for i, (n, s) in enumerate(PARAM_SPECS)],
            "lrChanges": [{"beforeStep": b, "group": gi, "lr": lr} for b, gi, lr in lr_changes],
            "steps": steps,
        })
    return cases


# ---- full training runs -------------------------------------------------------------------

class Model(nn.Module):
    def __init__(self, cell, V, E, H, L, padding_idx):
        super().__init__()
        self.emb = nn.Embedding(V, E, padding_idx=padding_idx)
        self.rnn = (nn.LSTM if cell == "LSTM" else nn.GRU)(E, H, num_layers=L)
        self.head = nn.Linear(H, V)


TRAIN_CONFIGS = [
    # name, cell, paddingIdx, ignoreIndex, labelSmoothing, clip, optimizer, options, groups
    ("lstm_adam_clip_norm", "LSTM", None, None, None, {"kind": "norm", "maxNorm": 0.2}, "Adam",
     {"lr": 0.01}, [{"modules": ["rnn"], "lr": 0.02, "weightDecay": 1e-3}, {"modules": ["emb", "head"], "lr": 0.05}]),
    ("gru_adam_clip_norm", "GRU", None, None, None, {"kind": "norm", "maxNorm": 0.2}, "Adam",
     {"lr": 0.01}, [{"modules": ["rnn"], "lr": 0.02, "weightDecay": 1e-3}, {"modules": ["emb", "head"], "lr": 0.05}]),
    ("lstm_adam_clip_value", "LSTM", None, None, None, {"kind": "value", "clipValue": 0.02}, "Adam",
     {"lr": 0.01}, [{"modules": ["rnn"], "lr": 0.02, "weightDecay": 1e-3}, {"modules": ["emb", "head"], "lr": 0.05}]),
    ("lstm_adamw_padding_ignore_smoothing", "LSTM", 0, 0, 0.1, {"kind": "norm", "maxNorm": 0.15}, "AdamW",
     {"lr": 0.02, "amsgrad": True}, [{"modules": ["rnn"], "weightDecay": 0.05}, {"modules": ["emb", "head"], "lr": 0.03, "weightDecay": 0.0}]),
]


def training_cases():
    cases = []
    V, E, H, T, B, L = 7, 5, 6, 4, 3, 2
    for ci, (name, cell, pad, ignore, smooth, clip, kind, options, group_spec) in enumerate(TRAIN_CONFIGS):
        torch.manual_seed(100 + ci)
        model = Model(cell, V, E, H, L, pad)
        seq = torch.randint(0, V, (T + 1, B))
        if pad is not None:
            seq[0, 1] = pad  # the padding token as input, and (as ignoreIndex) as a target
            seq[2, 0] = pad
            seq[4, 2] = pad
        tokens, targets = seq[:-1].contiguous(), seq[1:].contiguous()
        initial = {n: tj(p) for n, p in model.named_parameters()}
        groups = []
        for g in group_spec:
            ps = [p for m in g["modules"] for p in getattr(model, m).parameters()]
            groups.append({"params": ps, **to_torch({k: v for k, v in g.items() if k != "modules"})})
        opt = getattr(torch.optim, kind)(groups, foreach=False, **to_torch(options))
        all_params = list(model.emb.parameters()) + list(model.rnn.parameters()) + list(model.head.parameters())
        losses, norms = [], []
        for _ in range(10):
            opt.zero_grad()
            x = model.emb(tokens)
            out, _ = model.rnn(x)
            logits = model.head(out.reshape(T * B, H))
            loss = F.cross_entropy(logits, targets.reshape(-1),
                                   ignore_index=-100 if ignore is None else ignore,
                                   label_smoothing=0.0 if smooth is None else smooth)
            loss.backward()
            if clip["kind"] == "norm":
                norms.append(float(torch.nn.utils.clip_grad_norm_(all_params, clip["maxNorm"])))
            else:
                torch.nn.utils.clip_grad_value_(all_params, clip["clipValue"])
            opt.step()
            losses.append(float(loss))
        cases.append({
            "name": name, "cell": cell, "V": V, "E": E, "H": H, "T": T, "B": B, "numLayers": L,
            "paddingIdx": pad, "ignoreIndex": ignore, "labelSmoothing": smooth, "clip": clip,
            "optimizer": kind, "options": options, "groups": group_spec,
            "tokens": tokens.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "paramOrder": [n for n, _ in model.named_parameters()],
            "initial": initial, "final": {n: tj(p) for n, p in model.named_parameters()},
            "losses": losses, "norms": norms,
        })
    return cases


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test", "fixtures", "training.json")
    data = {
        "generator": f"scripts/make_training_fixtures.py torch {torch.__version__}",
        "layers": {"embedding": embedding_cases(), "linear": linear_cases(), "crossEntropy": ce_cases()},
        "optim": optim_cases(),
        "training": training_cases(),
    }
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {out}: {os.path.getsize(out)} bytes, {len(data['optim'])} optimizer cases, "
          f"{len(data['training'])} training runs")


if __name__ == "__main__":
    main()
