#!/usr/bin/python3
"""The demo (examples/demo.js) in PyTorch: the same char-level LSTM on the same text, trained
for the same wall time, reporting the validation bits per character it reaches.

    /usr/bin/python3 bench/demo_torch.py [--seconds 140] [--threads 2] [--smoke]

Configuration (bench/config.json, "demo"): Embedding(V, 64) → LSTM(512) → Linear(V), B 32,
T 64, Adam lr 3e-3, StepLR(400, 0.5) stepped per batch, clip_grad_norm_ 1, epochs until the wall time
(at most bench/config.json's "epochs"); validation = the last 2% of the text. The loop is fitSync's (lib/training.ts), line
for line: the training ids are cut into B parallel streams (column b is the b-th slice),
windows of T steps in order, the hidden state carried and detached between windows; the
wall-time limit is checked before each batch; every `validateEvery` batches the validation
loss is computed (that time counts, as in the demo), and once more at the end. Validation
is lib/training.ts's evaluate(): eval mode, B streams, state carried, mean cross-entropy.

The text comes from node (bench/demo_corpus.js builds the demo's corpus and its Vocabulary
and writes both to a temp file), so both sides train on identical token ids.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--smoke", action="store_true")
p.add_argument("--seed", type=int, default=1234)
p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
ARGS = p.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bench/torch_workloads.py: see there

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(json.dumps({"impl": "torch", "task": "demo", "error": "torch-missing", "message": str(e)}))
    sys.exit(3)

torch.set_num_threads(ARGS.threads)


def log(msg):
    if not ARGS.quiet:
        print(msg, file=sys.stderr, flush=True)


def load_corpus(max_chars):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "corpus.json")
        cmd = ["node", os.path.join(HERE, "demo_corpus.js"), out]
        if max_chars:
            cmd += ["--max-chars", str(max_chars)]
        subprocess.run(cmd, check=True, cwd=ROOT)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def batchify(ids, B):
    """lib/training.ts batchify: (rows, B) time-major, column b = the b-th contiguous slice."""
    rows = ids.numel() // B
    return ids[: rows * B].view(B, rows).t().contiguous(), rows


class CharLM(nn.Module):
    def __init__(self, V, E, H):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = nn.LSTM(E, H)
        self.head = nn.Linear(H, V)

    def forward(self, x, state):
        out, state = self.rnn(self.embedding(x), state)
        T, B, H = out.shape
        return self.head(out.reshape(T * B, H)), state


def evaluate(model, stream, B, T):
    was = model.training
    model.eval()
    try:
        Bv = max(1, min(B, stream.numel() // 2))
        data, rows = batchify(stream, Bv)
        state, total, count = None, 0.0, 0
        with torch.no_grad():
            for i in range(0, rows - 1, T):
                seq = min(T, rows - 1 - i)
                logits, state = model(data[i:i + seq], state)
                y = data[i + 1:i + 1 + seq].reshape(-1)
                total += F.cross_entropy(logits, y).item() * seq * Bv
                count += seq * Bv
        return total / count if count else float("nan")
    finally:
        model.train(was)


def main():
    with open(os.path.join(HERE, "config.json")) as f:
        d = json.load(f)["demo"]["smoke" if ARGS.smoke else "full"]
    seconds = ARGS.seconds if ARGS.seconds is not None else d["seconds"]
    corpus = load_corpus(d.get("maxChars"))
    index = {t: i for i, t in enumerate(corpus["tokens"])}
    ids = torch.tensor([index.get(ch, 1) for ch in corpus["text"]], dtype=torch.long)
    if ids.numel() != corpus["ids_length"]:
        raise SystemExit(f"token count differs from node's: {ids.numel()} vs {corpus['ids_length']}")
    V = len(corpus["tokens"])
    cut = math.floor(ids.numel() * d["trainFraction"])
    train, validation = ids[:cut], ids[cut:]
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads; data: {corpus['what']}: {ids.numel():,} characters, {V} tokens")

    torch.manual_seed(ARGS.seed)
    B, T = d["B"], d["T"]
    model = CharLM(V, d["E"], d["H"])
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=d["lr"])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=d["stepSize"], gamma=d["gamma"])
    data, rows = batchify(train, B)
    curve = []
    step = 0
    reason = "completed"
    started = time.perf_counter()
    model.train()
    # Epochs as examples/demo.js (fit): the state restarts each epoch, each epoch ends with a
    # validation, and the wall-time limit ends the run first.
    for epoch in range(d.get("epochs", 1)):
        state = None
        offset = 0
        while offset + 1 < rows:
            if time.perf_counter() - started >= seconds:
                reason = "max-seconds"
                break
            seq = min(T, rows - 1 - offset)
            x = data[offset:offset + seq]
            y = data[offset + 1:offset + 1 + seq].reshape(-1)
            opt.zero_grad()
            logits, state = model(x, state)
            state = tuple(s.detach() for s in state)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, d["maxNorm"])
            opt.step()
            sched.step()
            offset += seq
            step += 1
            if step % d["validateEvery"] == 0:
                v = evaluate(model, validation, B, T)
                curve.append({"step": step, "seconds": time.perf_counter() - started, "bpc": v / math.log(2)})
                log(f"step {step}: {curve[-1]['seconds']:.0f} s, train loss {loss.item():.3f}, validation {curve[-1]['bpc']:.3f} bits/char")
        if reason == "max-seconds":
            break
        if epoch + 1 < d.get("epochs", 1):
            evaluate(model, validation, B, T)  # fit() validates at each epoch's end; that time counts
            model.train()
    v = evaluate(model, validation, B, T)
    wall = time.perf_counter() - started
    curve.append({"step": step, "seconds": wall, "bpc": v / math.log(2)})
    log(f"done: {step} batches ({reason}), validation {v / math.log(2):.3f} bits/char")
    print(json.dumps({
        "impl": "torch", "task": "demo", "mode": "smoke" if ARGS.smoke else "full", "threads": torch.get_num_threads(),
        "metrics": [{"key": "bpc", "label": f"demo: validation bits/char after {seconds:g} s", "unit": "bits/char",
                     "better": "lower", "samples": [v / math.log(2)]}],
        "info": {"corpus": corpus["what"], "characters": ids.numel(), "vocab": V, "E": d["E"], "H": d["H"], "B": B, "T": T,
                 "lr": d["lr"], "stepSize": d["stepSize"], "gamma": d["gamma"], "maxNorm": d["maxNorm"],
                 "validateEvery": d["validateEvery"], "steps": step, "reason": reason,
                 "seconds": seconds, "wallSeconds": wall, "curve": curve},
        "env": {"torch": torch.__version__, "python": sys.version.split()[0]},
    }))


if __name__ == "__main__":
    main()
