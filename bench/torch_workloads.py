#!/usr/bin/python3
"""PyTorch's side of the benchmark: the twin of bench/workloads.js.

    /usr/bin/python3 bench/torch_workloads.py <task> --threads N [--smoke] [--reps N] [--warmup N]
    /usr/bin/python3 bench/torch_workloads.py --probe      # torch version and BLAS, as JSON

Same task names and sizes (bench/config.json) as the Node side; prints one JSON line.
Runs under Debian's torch 1.13 (/usr/bin/python3) and under a torch 2.x wheel (the venv of
scripts/torch2-venv.sh): bench/run.js runs both. The thread count must be fixed before torch
loads: Debian's torch runs its GEMMs on the system OpenBLAS (openblas-pthread), whose pool
reads OPENBLAS_NUM_THREADS at load time, and its own kernels on OpenMP; the 2.x wheel runs
MKL and oneDNN on OpenMP; so all three variables are set here, then torch.set_num_threads.
OMP_WAIT_POLICY is left as the environment has it: bench/run.js sets PASSIVE for Debian's 1.13
and leaves it unset for 2.x (see torchEnv there).
Each timed metric: warm-up calls (which also size a repetition to about targetRepSeconds),
then `reps` repetitions timed with time.perf_counter; samples are seconds per call.
"""
import argparse
import ctypes
import json
import math
import os
import re
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("task", nargs="?")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--probe", action="store_true")
    return p.parse_args()


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# With 2 threads, torch's OpenMP workers spin between parallel regions while OpenBLAS's own
# pool needs the same 2 cores: on this machine that costs up to 25× in the char-LM step.
# PASSIVE is PyTorch's best setting here; bench/run.js passes it explicitly (--torch-wait-policy).

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the orchestrator probes first; this is for direct use
    print(json.dumps({"impl": "torch", "error": "torch-missing", "message": str(e)}))
    sys.exit(3)

torch.set_num_threads(ARGS.threads)
torch.manual_seed(0)


def config_line(pattern):
    """The first group of pattern in torch.__config__.show(), or None."""
    m = re.search(pattern, torch.__config__.show())
    return m.group(1) if m else None


def blas_info():
    """BLAS_INFO of torch's build: "generic" (Debian's 1.13: libblas.so.3, the system OpenBLAS) or "mkl" (the wheels)."""
    return config_line(r"BLAS_INFO=(\w+)")


def math_libraries():
    """MKL and oneDNN versions a 2.x wheel carries, e.g. "MKL 2024.2, oneDNN 3.12.0", or None."""
    mkl = config_line(r"Math Kernel Library Version ([\d.]+)")
    dnn = config_line(r"MKL-DNN v([\d.]+)")
    parts = ([f"MKL {mkl}"] if mkl else []) + ([f"oneDNN {dnn}"] if dnn and torch.backends.mkldnn.is_available() else [])
    return ", ".join(parts) or None


def openblas():
    """The OpenBLAS that torch's GEMMs run on (config string and thread count), if torch uses
    one: a 2.x wheel links MKL, and asking a system OpenBLAS there would describe the wrong library."""
    if blas_info() == "mkl":
        return None
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_config.restype = ctypes.c_char_p
            return {"config": lib.openblas_get_config().decode().strip(), "threads": lib.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return None


def load_config(mode):
    with open(os.path.join(HERE, "config.json")) as f:
        raw = json.load(f)
    return {k: v[mode] for k, v in raw.items() if not k.startswith("_")}


WARMUP_CAP = 2.0


def time_it(fn, timing):
    """Warm-up (timing["warmup"] calls, stopping early once it has taken WARMUP_CAP seconds),
    then reps repetitions of iters calls, iters sized from the fastest warm-up call so that a
    repetition lasts about targetRepSeconds. Returns (seconds per call per rep, iters)."""
    warm_start = time.perf_counter()
    fastest, calls = float("inf"), 0
    while True:
        t = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - t)
        calls += 1
        if calls >= timing["warmup"] or time.perf_counter() - warm_start >= WARMUP_CAP:
            break
    iters = max(1, math.ceil(timing["targetRepSeconds"] / max(fastest, 1e-9)))
    samples = []
    for _ in range(timing["reps"]):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - t0) / iters)
    return samples, iters


def gemm_flops(T, B, G, I, H):
    """Forward GEMM FLOPs of one recurrent layer and direction: 2·T·B·G·H·(I + H)."""
    return 2 * T * B * G * H * (I + H)


GATES = {"lstm": 4, "gru": 3, "rnn_relu": 1, "rnn_tanh": 1}


def make_layer(cell, I, H, **kw):
    if cell == "lstm":
        return nn.LSTM(I, H, **kw)
    if cell == "gru":
        return nn.GRU(I, H, **kw)
    return nn.RNN(I, H, nonlinearity="relu" if cell == "rnn_relu" else "tanh", **kw)


def metric(key, label, unit, better, samples, **extra):
    d = {"key": key, "label": label, "unit": unit, "better": better, "samples": samples}
    d.update(extra)
    return d


def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_info(baseline):
    return {"baselineRss": baseline, "peakRss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


TASKS = {}


def task(name):
    def deco(fn):
        TASKS[name] = fn
        return fn
    return deco


@task("sgemm")
def sgemm(cfg, timing):
    N = cfg["sgemm"]["N"]
    a = torch.randn(N, N)
    b = torch.randn(N, N)
    out = torch.empty(N, N)
    samples, iters = time_it(lambda: torch.mm(a, b, out=out), timing)
    flops = 2 * N ** 3
    return {
        "metrics": [metric("gflops", f"torch.mm float32 {N}×{N}", "GFLOP/s", "higher", [flops / s / 1e9 for s in samples])],
        "info": {"N": N, "iters": iters},
    }


def charlm(cell):
    def run(cfg, timing):
        c = cfg["charlm"]
        V, E, H, B, T = c["V"], c["E"], c["H"], c["B"], c["T"]
        emb = nn.Embedding(V, E)
        rnn = make_layer(cell, E, H)
        head = nn.Linear(H, V)
        params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
        opt = torch.optim.Adam(params, lr=c["lr"])
        batches = 8
        stream = torch.randint(0, V, ((batches * T + 1) * B,))
        state = {"h": None, "k": 0}

        def step():
            i = (state["k"] % batches) * T
            state["k"] += 1
            x = stream[i * B:(i + T) * B].view(T, B)
            y = stream[(i + 1) * B:(i + 1 + T) * B]
            opt.zero_grad()
            out, hidden = rnn(emb(x), state["h"])
            # carried, detached: truncated BPTT as the Node side
            state["h"] = tuple(t.detach() for t in hidden) if isinstance(hidden, tuple) else hidden.detach()
            loss = F.cross_entropy(head(out.reshape(T * B, H)), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, c["maxNorm"])
            opt.step()

        samples, iters = time_it(step, timing)
        flops = 3 * (gemm_flops(T, B, GATES[cell], E, H) + 2 * T * B * H * V)
        return {
            "metrics": [
                metric("tokens", f"char-LM {cell} training step", "tokens/s", "higher", [T * B / s for s in samples]),
                metric("gflops", f"char-LM {cell} GEMM rate", "GFLOP/s", "higher", [flops / s / 1e9 for s in samples]),
            ],
            "info": {"V": V, "E": E, "H": H, "B": B, "T": T, "iters": iters, "parameters": sum(p.numel() for p in params)},
        }
    return run


for _cell in ("lstm", "gru", "rnn_relu"):
    TASKS[f"charlm-{_cell}"] = charlm(_cell)
# PyTorch's step is autograd already: the twin of our autograd composition is the same code.
TASKS["charlm-autograd-lstm"] = charlm("lstm")


def layer(cell):
    def run(cfg, timing):
        c = cfg["layer"]
        I, H, B, T = c["I"], c["H"], c["B"], c["T"]
        # the workload's input and output gradient exist before the baseline, as on the Node side
        x = torch.randn(T, B, I, requires_grad=True)  # the Node side returns gradInput too
        dy = torch.randn(T, B, H) * 0.01
        baseline = rss_now()
        m = make_layer(cell, I, H)

        def fb():
            out, _ = m(x)
            out.backward(dy)

        samples, iters = time_it(fb, timing)
        flops = 3 * gemm_flops(T, B, GATES[cell], I, H)
        P = sum(p.numel() for p in m.parameters())
        return {
            "metrics": [metric("gflops", f"{cell.upper()} layer forward+backward", "GFLOP/s", "higher", [flops / s / 1e9 for s in samples], flops=flops)],
            "info": {"I": I, "H": H, "B": B, "T": T, "G": GATES[cell], "iters": iters, "parameters": P, "memory": memory_info(baseline)},
        }
    return run


TASKS["layer-lstm"] = layer("lstm")
TASKS["layer-gru"] = layer("gru")


def fastrnns(with_backward):
    def run(cfg, timing):
        c = cfg["fastrnns"]
        I, H, B, T = c["I"], c["H"], c["B"], c["T"]
        m = nn.LSTM(I, H)
        dy = torch.randn(T, B, H) * 0.01
        if with_backward:
            x = torch.randn(T, B, I, requires_grad=True)

            def fn():
                out, _ = m(x)
                out.backward(dy)
        else:
            m.eval()
            x = torch.randn(T, B, I)

            def fn():
                with torch.no_grad():
                    m(x)

        samples, iters = time_it(fn, timing)
        flops = (3 if with_backward else 1) * gemm_flops(T, B, 4, I, H)
        what = "forward+backward" if with_backward else "forward (eval)"
        return {
            "metrics": [
                metric("ms", f"fastrnns LSTM {what}", "ms", "lower", [s * 1e3 for s in samples]),
                metric("gflops", f"fastrnns LSTM {what} rate", "GFLOP/s", "higher", [flops / s / 1e9 for s in samples]),
            ],
            "info": {"I": I, "H": H, "B": B, "T": T, "iters": iters},
        }
    return run


TASKS["fastrnns-fwd"] = fastrnns(False)
TASKS["fastrnns-fwdbwd"] = fastrnns(True)


@task("bilstm")
def bilstm(cfg, timing):
    c = cfg["bilstm"]
    I, H, L, B, T = c["I"], c["H"], c["L"], c["B"], c["T"]
    m = nn.LSTM(I, H, num_layers=L, bidirectional=True).eval()
    x = torch.randn(T, B, I)

    def fn():
        with torch.no_grad():
            m(x)

    samples, iters = time_it(fn, timing)
    flops = sum(2 * gemm_flops(T, B, 4, I if l == 0 else 2 * H, H) for l in range(L))
    return {
        "metrics": [
            metric("seqs", f"{L}-layer bidirectional LSTM inference", "sequences/s", "higher", [B / s for s in samples]),
            metric("gflops", f"{L}-layer bidirectional LSTM inference rate", "GFLOP/s", "higher", [flops / s / 1e9 for s in samples]),
        ],
        "info": {"I": I, "H": H, "L": L, "B": B, "T": T, "iters": iters},
    }


@task("step")
def step(cfg, timing):
    metrics, info = [], {"sizes": cfg["step"]["sizes"], "iters": {}}
    for n in cfg["step"]["sizes"]:
        m = nn.LSTM(n, n).eval()
        x = torch.randn(1, 1, n)
        st = {"s": (torch.zeros(1, 1, n), torch.zeros(1, 1, n))}

        def fn():
            with torch.no_grad():
                _, st["s"] = m(x, st["s"])

        samples, iters = time_it(fn, dict(timing, warmup=max(timing["warmup"], 20)))
        info["iters"][str(n)] = iters
        metrics.append(metric(f"us-{n}", f"LSTM one step, B 1, I = H = {n}", "µs/step", "lower", [s * 1e6 for s in samples]))
    return {"metrics": metrics, "info": info}


def scaling(axis):
    def run(cfg, timing):
        base = cfg["scaling"]
        metrics, configs = [], []
        for d in range(base["doublings"] + 1):
            c = {k: base[k] for k in ("T", "B", "H", "I")}
            c[axis] *= 2 ** d
            m = nn.LSTM(c["I"], c["H"])
            x = torch.randn(c["T"], c["B"], c["I"], requires_grad=True)
            dy = torch.randn(c["T"], c["B"], c["H"]) * 0.01

            def fb():
                out, _ = m(x)
                out.backward(dy)

            samples, iters = time_it(fb, timing)
            flops = 3 * gemm_flops(c["T"], c["B"], 4, c["I"], c["H"])
            configs.append(dict(c, flops=flops, iters=iters))
            label = f"LSTM fwd+bwd {axis} {c[axis]} (T {c['T']}, B {c['B']}, H {c['H']}, I {c['I']})"
            metrics.append(metric(f"{axis}{c[axis]}", label, "ms", "lower", [s * 1e3 for s in samples], flops=flops, config=c))
        return {"metrics": metrics, "info": {"axis": axis, "configs": configs}}
    return run


for _axis in ("T", "B", "H"):
    TASKS[f"scaling-{_axis}"] = scaling(_axis)


# ---- trees -----------------------------------------------------------------------------------

sys.path.insert(0, HERE)
import torch_trees  # noqa: E402  (bench/torch_trees.py: node-by-node and level-batched tree cells)


def mulberry32(seed):
    """bench/workloads.js's prng, bit for bit (32-bit arithmetic as JavaScript does it)."""
    state = [seed & 0xFFFFFFFF]

    def nxt():
        state[0] = (state[0] + 0x6D2B79F5) & 0xFFFFFFFF
        t = state[0]
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return nxt


def bench_forest(seed, trees, min_leaves, max_leaves, fan):
    """bench/workloads.js's benchForest: the same forest, node for node."""
    r = mulberry32(seed)
    kids = []
    for _ in range(trees):
        L = min_leaves + int(r() * (max_leaves - min_leaves + 1))
        frontier = []
        for _ in range(L):
            frontier.append(len(kids))
            kids.append([])
        while len(frontier) > 1:
            k = min(len(frontier), 2 if fan == 2 else 2 + int(r() * (fan - 1)))
            i = int(r() * (len(frontier) - k + 1))
            kids.append(frontier[i:i + k])
            frontier[i:i + k] = [len(kids) - 1]
    offsets = [0]
    for k in kids:
        offsets.append(offsets[-1] + len(k))
    return len(kids), offsets, [c for k in kids for c in k]


def tree_task(kind):
    """Training step over a forest: forward, sum(h * R), backward (parameter gradients), twice:
    node by node (a Python walk, one cell call per node) and level-batched (one batched step per
    level; the schedule is computed once, outside the timed step). The faster is the anchor."""
    def run(cfg, timing):
        c = cfg["trees"]
        I, H = c["I"], c["H"]
        N, offsets, index = bench_forest(c["seed"], c["trees"], c["minLeaves"], c["maxLeaves"], c["maxFan"] if kind == "childsum" else 2)
        K = 0 if kind == "childsum" else 2
        params = torch_trees.make_params(kind, I, H, K)
        x = torch.rand(N, I) * 2 - 1
        R = (torch.rand(N, H) * 2 - 1) * 0.01
        schedule = torch_trees.levels_of(offsets, index)

        def zero():
            for p in params.values():
                p.grad = None

        def nodewise():
            zero()
            h, _ = torch_trees.run_nodewise(kind, params, H, K, x, offsets, index)
            (h * R).sum().backward()

        def levels():
            zero()
            h, _ = torch_trees.run_levels(kind, params, H, K, x, schedule)
            (h * R).sum().backward()

        s_node, it_node = time_it(nodewise, timing)
        s_level, it_level = time_it(levels, timing)
        med = lambda s: sorted(s)[len(s) // 2]
        best, which = (s_level, "level-batched") if med(s_level) <= med(s_node) else (s_node, "node-by-node")
        names = {"nary": "N-ary TreeLSTM (arity 2)", "childsum": "child-sum TreeLSTM", "rnn_tanh": "TreeRNN (tanh, arity 2)"}
        return {
            "metrics": [
                metric("nodes", f"{names[kind]} training step", "nodes/s", "higher", [N / s for s in best], impl=which),
                metric("nodes-nodewise", f"{names[kind]}, node by node", "nodes/s", "higher", [N / s for s in s_node]),
                metric("nodes-levels", f"{names[kind]}, level-batched", "nodes/s", "higher", [N / s for s in s_level]),
            ],
            "info": {"kind": kind, "I": I, "H": H, "trees": c["trees"], "N": N, "edges": len(index), "levels": len(schedule),
                     "anchor": which, "iters": {"nodewise": it_node, "levels": it_level}},
        }
    return run


TASKS["tree-lstm"] = tree_task("nary")
TASKS["tree-childsum"] = tree_task("childsum")
TASKS["tree-rnn"] = tree_task("rnn_tanh")


# ---- encoder–decoder (the G2P model's shape) -------------------------------------------------

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
import seq2seq_torch  # noqa: E402  (scripts/seq2seq_torch.py: the twin of lib/models/seq2seq.ts)


def seq2seq_pairs(c):
    """bench/workloads.js's seq2seqPairs: the same pairs, id for id."""
    r = mulberry32(c["seed"])
    out = []
    for _ in range(c["batches"]):
        sources, targets = [], []
        for _ in range(c["B"]):
            n = c["minLength"] + int(r() * (c["maxLength"] - c["minLength"] + 1))
            sources.append([2 + int(r() * (c["Vs"] - 2)) for _ in range(n)])
            targets.append([2 + int(r() * (c["Vt"] - 2)) for _ in range(n)])
        out.append((sources, targets))
    return out


def seq2seq_model(c):
    torch.manual_seed(1)
    return seq2seq_torch.Seq2Seq(sourceVocabSize=c["Vs"], targetVocabSize=c["Vt"], embeddingDim=c["E"], hiddenSize=c["H"], cell="lstm",
                                 encoderLayers=c["encoderLayers"], decoderLayers=c["decoderLayers"], bidirectional=True,
                                 attention=c["attention"], inputFeeding=True, dropout=c["dropout"])


@task("seq2seq-train")
def seq2seq_train(cfg, timing):
    """Training step (teacher forcing, dropout on, Adam, clip_grad_norm_), cycling the batches."""
    c = cfg["seq2seq"]
    model = seq2seq_model(c)
    model.train()
    batches = [seq2seq_torch.Seq2Seq.batch(s, t) for s, t in seq2seq_pairs(c)]
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=c["lr"])

    def cycle():
        for b in batches:
            opt.zero_grad(set_to_none=True)
            model.loss(b).backward()
            torch.nn.utils.clip_grad_norm_(params, c["maxNorm"])
            opt.step()

    samples, iters = time_it(cycle, timing)
    tokens = sum(b["tokens"] for b in batches)
    pairs = len(batches) * c["B"]
    return {
        "metrics": [metric("tokens", "Seq2Seq training step", "target tokens/s", "higher", [tokens / s for s in samples]),
                    metric("pairs", "Seq2Seq training step", "pairs/s", "higher", [pairs / s for s in samples])],
        "info": dict(c, tokensPerCycle=tokens, iters=iters),
    }


@task("seq2seq-beam")
def seq2seq_beam(cfg, timing):
    """Beam search over one batch; EOS pushed down so that every hypothesis runs beamMaxLength steps."""
    c = cfg["seq2seq"]
    model = seq2seq_model(c)
    with torch.no_grad():
        model.decoder.out.bias[0] = -1e4
    sources = seq2seq_pairs(c)[0][0]
    samples, iters = time_it(lambda: model.translate(sources, beam_size=c["beam"], max_length=c["beamMaxLength"]), timing)
    return {
        "metrics": [metric("words", f"Seq2Seq beam search (K {c['beam']}, {c['beamMaxLength']} steps)", "words/s", "higher",
                           [c["B"] / s for s in samples])],
        "info": dict(c, iters=iters),
    }


def main():
    if ARGS.probe:
        print(json.dumps({"impl": "torch", "torch": torch.__version__, "python": sys.version.split()[0],
                          "numThreads": torch.get_num_threads(), "openblas": openblas(), "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
                          "blasInfo": blas_info(), "mathLibraries": math_libraries(),
                          "capability": next((l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l), None)}))
        return
    if ARGS.task not in TASKS:
        print(f"usage: torch_workloads.py <task> --threads N [--smoke]; tasks: {', '.join(TASKS)}", file=sys.stderr)
        sys.exit(2)
    mode = "smoke" if ARGS.smoke or os.environ.get("BENCH_SMOKE") == "1" else "full"
    cfg = load_config(mode)
    timing = dict(cfg["timing"])
    if ARGS.reps:
        timing["reps"] = ARGS.reps
    if ARGS.warmup:
        timing["warmup"] = ARGS.warmup
    t0 = time.perf_counter()
    out = TASKS[ARGS.task](cfg, timing)
    res = {"impl": "torch", "task": ARGS.task, "mode": mode, "threads": torch.get_num_threads(), "timing": timing,
           "wallSeconds": time.perf_counter() - t0}
    res.update(out)
    res["env"] = {"torch": torch.__version__, "python": sys.version.split()[0], "openblas": openblas(), "mathLibraries": math_libraries(),
                  "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
