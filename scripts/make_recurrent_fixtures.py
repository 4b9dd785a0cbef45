#!/usr/bin/python3
"""Generate PyTorch reference fixtures for the recurrent layers (LSTM/GRU/RNN).

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_recurrent_fixtures.py [output.json]

Default output: test/fixtures/recurrent.json (relative to the repo root).
The output is deterministic (torch.manual_seed per case, float32, CPU).

Format
------
Top level: {"generator": "<script> torch <version>", "cases": [case, ...]}

Every tensor is {"shape": [...], "data": [...]} with data flattened row-major.
Values are float32 numbers written exactly (float32 -> float64 -> JSON), so
Math.fround(x) / np.float32(x) of each value reproduces the float32 bit-exactly.

Each case:
  name        unique descriptive string
  seed        the torch.manual_seed used for the case (1000 + case index, or
              that + k*100000 for RNN_RELU cases re-drawn so that every
              pre-activation is >= 1e-4 away from the ReLU kink)
  mode        "LSTM" | "GRU" | "RNN_TANH" | "RNN_RELU"
  config      {inputSize, hiddenSize, numLayers, bias, batchFirst,
               bidirectional, nonlinearity ("tanh"|"relu", RNN modes only)}
  T, B        sequence length and batch size
  input       (T,B,I), or (B,T,I) when batchFirst
  h0          (L*D,B,H) or null (null = no initial state passed, i.e. zeros)
  c0          (L*D,B,H) for LSTM when h0 given, else null
  lengths     [B ints in 1..T] or null. When given, the input was run through
              pack_padded_sequence(x, lengths, batch_first, enforce_sorted=False)
              and the output through pad_packed_sequence(total_length=T), so
              padded output positions are 0 and hN/cN are taken at each
              sequence's last valid step (in original batch order).
  paramOrder  parameter names in module.named_parameters() order
  params      {name: tensor} PyTorch parameter values (e.g. weight_ih_l0,
              weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l0_reverse, ...)
  output      (T,B,D*H) or (B,T,D*H) when batchFirst
  hN          (L*D,B,H)
  cN          (L*D,B,H) for LSTM, else null
  gradOutput, gradHN, gradCN (LSTM only, else null)
              random upstream gradients; the backward pass uses
              loss = sum(output*gradOutput) + sum(hN*gradHN) [+ sum(cN*gradCN)]
              (gradOutput at padded positions has no effect)
  gradInput   d loss / d input (same shape as input; 0 at padded positions)
  gradH0      d loss / d h0 (always reported; when h0 is null this is the
              gradient w.r.t. a zero initial state)
  gradC0      d loss / d c0 for LSTM (same convention), else null
  grads       {name: tensor} d loss / d parameter

Random init: parameters U[-0.5,0.5], input U[-1,1], h0/c0 U[-0.5,0.5],
upstream gradients U[-1,1].  RNN modes are additionally cross-checked
against a float64 step-by-step re-implementation while generating.
"""

import json
import os
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]
MODE_TAG = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnntanh", "RNN_RELU": "rnnrelu"}
# (I, H) pairs, always I != H
SIZES = [(3, 4), (5, 3), (2, 3), (4, 2), (3, 2), (2, 4)]


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).double().tolist()}


def uniform(shape, lo, hi):
    return torch.empty(*shape, dtype=torch.float32).uniform_(lo, hi)


def make_lengths(kind, T, B):
    """kind: None | 'mixed' | 'allT' | 'all1' | list (explicit)."""
    if kind is None:
        return None
    if isinstance(kind, list):
        assert len(kind) == B and all(1 <= v <= T for v in kind)
        return list(kind)
    if kind == "allT":
        return [T] * B
    if kind == "all1":
        return [1] * B
    assert kind == "mixed" and T >= 2 and B >= 2
    # random lengths, at least one == T and one < T, not sorted descending
    for _ in range(1000):
        lens = torch.randint(1, T + 1, (B,)).tolist()
        if T not in lens or min(lens) == T:
            continue
        if lens == sorted(lens, reverse=True):
            continue
        return lens
    raise RuntimeError("could not draw lengths")


def build_module(mode, cfg):
    common = dict(
        input_size=cfg["inputSize"],
        hidden_size=cfg["hiddenSize"],
        num_layers=cfg["numLayers"],
        bias=cfg["bias"],
        batch_first=cfg["batchFirst"],
        bidirectional=cfg["bidirectional"],
        dropout=0.0,
    )
    if mode == "LSTM":
        return torch.nn.LSTM(**common)
    if mode == "GRU":
        return torch.nn.GRU(**common)
    return torch.nn.RNN(nonlinearity=cfg["nonlinearity"], **common)


def rnn_preactivations(rnn, cfg, x, h0, lengths):
    """Float64 re-computation of a plain RNN (tanh/relu) forward, one sequence
    at a time (only valid steps).  Returns (outputs per batch element,
    final states, all pre-activation values) -- used to keep ReLU cases away
    from the kink and as an independent check of the packed semantics."""
    p = {n: v.detach().double() for n, v in rnn.named_parameters()}
    L, H = cfg["numLayers"], cfg["hiddenSize"]
    D = 2 if cfg["bidirectional"] else 1
    act = torch.relu if cfg["nonlinearity"] == "relu" else torch.tanh
    X = x.detach().double()
    if cfg["batchFirst"]:
        X = X.transpose(0, 1)
    T, B = X.shape[0], X.shape[1]
    pre_all, outs, hns = [], [], torch.zeros(L * D, B, H, dtype=torch.float64)
    for b in range(B):
        ln = T if lengths is None else lengths[b]
        inp = X[:ln, b]
        for l in range(L):
            dir_outs = []
            for d in range(D):
                sfx = "_l%d%s" % (l, "_reverse" if d else "")
                h = h0[l * D + d, b].detach().double()
                res = [None] * ln
                steps = range(ln - 1, -1, -1) if d else range(ln)
                for t in steps:
                    a = p["weight_ih" + sfx] @ inp[t] + p["weight_hh" + sfx] @ h
                    if cfg["bias"]:
                        a = a + p["bias_ih" + sfx] + p["bias_hh" + sfx]
                    pre_all.append(a)
                    h = act(a)
                    res[t] = h
                hns[l * D + d, b] = h
                dir_outs.append(torch.stack(res))
            inp = torch.cat(dir_outs, dim=1)
        outs.append(inp)
    return outs, hns, torch.cat(pre_all)


RELU_MARGIN = 1e-4  # min |pre-activation| required in RNN_RELU cases


def run_case(spec, seed):
    """Run a case; for RNN_RELU re-seed (seed += 100000) until every
    pre-activation is at least RELU_MARGIN away from the ReLU kink."""
    for attempt in range(100):
        res = run_case_once(spec, seed + 100000 * attempt)
        if res is not None:
            return res
    raise RuntimeError("no seed with ReLU margin for " + spec["name"])


def run_case_once(spec, seed):
    mode = spec["mode"]
    I, H, L = spec["I"], spec["H"], spec["L"]
    T, B = spec["T"], spec["B"]
    bi, bf, bias = spec["bi"], spec["bf"], spec["bias"]
    D = 2 if bi else 1
    is_lstm = mode == "LSTM"

    cfg = {
        "inputSize": I,
        "hiddenSize": H,
        "numLayers": L,
        "bias": bias,
        "batchFirst": bf,
        "bidirectional": bi,
    }
    if mode.startswith("RNN"):
        cfg["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"

    torch.manual_seed(seed)
    rnn = build_module(mode, cfg)
    with torch.no_grad():
        for _, p in rnn.named_parameters():
            p.uniform_(-0.5, 0.5)
    param_order = [n for n, _ in rnn.named_parameters()]

    x_shape = (B, T, I) if bf else (T, B, I)
    x = uniform(x_shape, -1.0, 1.0).requires_grad_(True)
    state_shape = (L * D, B, H)
    if spec["state"]:
        h0 = uniform(state_shape, -0.5, 0.5)
        c0 = uniform(state_shape, -0.5, 0.5) if is_lstm else None
    else:
        h0 = torch.zeros(state_shape)
        c0 = torch.zeros(state_shape) if is_lstm else None
    h0.requires_grad_(True)
    if c0 is not None:
        c0.requires_grad_(True)

    lengths = make_lengths(spec["lengths"], T, B)

    out_shape = (B, T, D * H) if bf else (T, B, D * H)
    g_out = uniform(out_shape, -1.0, 1.0)
    g_hn = uniform(state_shape, -1.0, 1.0)
    g_cn = uniform(state_shape, -1.0, 1.0) if is_lstm else None

    state = (h0, c0) if is_lstm else h0
    if lengths is None:
        out, st = rnn(x, state)
    else:
        packed = pack_padded_sequence(
            x, torch.tensor(lengths, dtype=torch.int64), batch_first=bf, enforce_sorted=False
        )
        out_p, st = rnn(packed, state)
        out, _ = pad_packed_sequence(out_p, batch_first=bf, total_length=T)
    if is_lstm:
        hn, cn = st
    else:
        hn, cn = st, None
    assert tuple(out.shape) == out_shape, (out.shape, out_shape)
    assert tuple(hn.shape) == state_shape

    if mode.startswith("RNN"):
        ref_outs, ref_hn, pre = rnn_preactivations(rnn, cfg, x, h0, lengths)
        o_tb = out.detach().double()
        if bf:
            o_tb = o_tb.transpose(0, 1)
        for b, ob in enumerate(ref_outs):
            ln = ob.shape[0]
            assert torch.allclose(o_tb[:ln, b], ob, atol=1e-5), spec["name"]
            assert (o_tb[ln:, b] == 0).all()
        assert torch.allclose(hn.detach().double(), ref_hn, atol=1e-5), spec["name"]
        if mode == "RNN_RELU" and pre.abs().min().item() < RELU_MARGIN:
            return None

    loss = (out * g_out).sum() + (hn * g_hn).sum()
    if is_lstm:
        loss = loss + (cn * g_cn).sum()
    loss.backward()

    def opt(t):
        return None if t is None else tensor_json(t)

    params = dict(rnn.named_parameters())
    return {
        "name": spec["name"],
        "seed": seed,
        "mode": mode,
        "config": cfg,
        "T": T,
        "B": B,
        "input": tensor_json(x),
        "h0": tensor_json(h0) if spec["state"] else None,
        "c0": tensor_json(c0) if (spec["state"] and is_lstm) else None,
        "lengths": lengths,
        "paramOrder": param_order,
        "params": {n: tensor_json(params[n]) for n in param_order},
        "output": tensor_json(out),
        "hN": tensor_json(hn),
        "cN": opt(cn),
        "gradOutput": tensor_json(g_out),
        "gradHN": tensor_json(g_hn),
        "gradCN": opt(g_cn),
        "gradInput": tensor_json(x.grad),
        "gradH0": tensor_json(h0.grad),
        "gradC0": opt(c0.grad if c0 is not None else None),
        "grads": {n: tensor_json(params[n].grad) for n in param_order},
    }


def spec_name(s):
    parts = [MODE_TAG[s["mode"]], "l%d" % s["L"], "bi" if s["bi"] else "uni",
             "bf" if s["bf"] else "tf"]
    if not s["bias"]:
        parts.append("nobias")
    ln = s["lengths"]
    if ln is None:
        pass
    elif ln == "allT":
        parts.append("lenallT")
    elif ln == "all1":
        parts.append("lenall1")
    else:
        parts.append("len")
    parts.append("state" if s["state"] else "nostate")
    parts.append("i%dh%dt%db%d" % (s["I"], s["H"], s["T"], s["B"]))
    if s.get("tag"):
        parts.append(s["tag"])
    return "_".join(parts)


def case_specs():
    specs = []
    for mode in MODES:
        k = 0
        # full factorial: numLayers x bidirectional x lengths x initial state
        for L in (1, 2):
            for bi in (False, True):
                for has_len in (False, True):
                    for has_state in (False, True):
                        bf = bool(((L - 1) ^ int(bi) ^ int(has_len) ^ int(has_state)) & 1)
                        I, H = SIZES[k % len(SIZES)]
                        T = 3 + (k % 4)          # 3..6
                        B = 2 + (k % 3)          # 2..4
                        specs.append(dict(mode=mode, L=L, bi=bi, bf=bf, bias=True,
                                          lengths="mixed" if has_len else None,
                                          state=has_state, I=I, H=H, T=T, B=B))
                        k += 1
        extras = [
            # bias=False, uni and bi
            dict(L=1, bi=False, bf=False, bias=False, lengths=None, state=True,
                 I=3, H=4, T=4, B=3),
            dict(L=2, bi=True, bf=True, bias=False, lengths="mixed", state=True,
                 I=5, H=3, T=5, B=3),
            dict(L=1, bi=True, bf=False, bias=False, lengths=None, state=False,
                 I=2, H=3, T=3, B=2),
            # batchFirst + lengths + bidirectional + 2 layers
            dict(L=2, bi=True, bf=True, bias=True, lengths="mixed", state=False,
                 I=4, H=3, T=6, B=4),
            # 3 layers
            dict(L=3, bi=False, bf=False, bias=True, lengths=None, state=True,
                 I=3, H=2, T=4, B=2),
            dict(L=3, bi=True, bf=True, bias=True, lengths="mixed", state=True,
                 I=2, H=3, T=5, B=3),
            # B = 1
            dict(L=2, bi=True, bf=False, bias=True, lengths=None, state=True,
                 I=3, H=4, T=5, B=1),
            dict(L=1, bi=True, bf=True, bias=True, lengths=[3], state=True,
                 I=4, H=3, T=5, B=1, tag="short"),
            # T = 1
            dict(L=2, bi=True, bf=False, bias=True, lengths=None, state=True,
                 I=5, H=3, T=1, B=3),
            dict(L=1, bi=False, bf=True, bias=True, lengths="all1", state=False,
                 I=3, H=4, T=1, B=2),
            # lengths all equal T / all 1
            dict(L=2, bi=True, bf=False, bias=True, lengths="allT", state=True,
                 I=3, H=2, T=4, B=3),
            dict(L=2, bi=True, bf=True, bias=True, lengths="all1", state=True,
                 I=2, H=4, T=4, B=3),
        ]
        for e in extras:
            e["mode"] = mode
            specs.append(e)
    for s in specs:
        s["name"] = spec_name(s)
    names = [s["name"] for s in specs]
    assert len(set(names)) == len(names), "duplicate case names"
    return specs


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, "test", "fixtures", "recurrent.json")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    cases = [run_case(s, 1000 + i) for i, s in enumerate(case_specs())]
    doc = {
        "generator": "scripts/make_recurrent_fixtures.py torch %s" % torch.__version__,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote %s: %d cases, %d bytes" % (out_path, len(cases), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
