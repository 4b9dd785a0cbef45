#!/usr/bin/python3
"""PyTorch reference fixtures for rnn-native's Seq2Seq model (lib/models/seq2seq.ts), made
with its PyTorch twin scripts/seq2seq_torch.py: a teacher-forced training step (loss,
logits, every parameter's gradient) and greedy and beam-search decodings, for several
configurations. Read by test/28.seq2seq.pytorch.test.ts.

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_seq2seq_fixtures.py [output-file]

Default output: test/fixtures/seq2seq-model.json (relative to the repository root). The
output is deterministic (torch.manual_seed per case, float32, CPU, one thread); re-running
gives a byte-identical file.

Format
------
Top level: {"generator": "scripts/make_seq2seq_fixtures.py torch <version>",
            "decode": {"maxLength": 8, "beamSize": 3, "lengthPenalty": 1},
            "cases": [case, ...]}

Every tensor is {"shape": [...], "data": [...]} with data flattened row-major. Float32
values are written as the shortest decimal that reads back as the same float32 (so
Math.fround(x), or Float32Array.from, gives exactly the float32 PyTorch had; the script
checks it). Plain numbers (loss) are written the same way.

case = {
  "name":      unique within the file,
  "seed":      the torch.manual_seed of the case (7000 + its index),
  "trainSteps": the toy-task steps before the fixture (see below),
  "options":   Seq2SeqOptions, every key given, exactly our names: sourceVocabSize,
               targetVocabSize, embeddingDim, hiddenSize, cell ('lstm' | 'gru'),
               encoderLayers, decoderLayers, bidirectional, attention ('none' | 'dot' |
               'general' | 'additive'), inputFeeding, dropout (always 0), tieTargetEmbeddings,
  "paramOrder": the names of model.named_parameters(), in order (a tied weight once, under
               its first name: decoder.embedding.weight),
  "stateDict": {name: tensor} in state_dict() order: every name of paramOrder, plus
               decoder.out.weight when the embeddings are tied (the same values as
               decoder.embedding.weight), as our stateDict() lists it,
  "sources":   B source sequences, lists of ids in [1, sourceVocabSize) of different lengths,
  "targets":   B target sequences, lists of ids in [1, targetVocabSize) (may be empty),
  "batch":     what Seq2Seq.batch(sources, targets) gives, as plain int arrays: S, T, B,
               tokens, source (S·B, time-major, padded with 0), sourceLengths (B),
               targetIn (T·B, time-major: 0 then the target, padded with 0), targetOut (T·B:
               the target then 0, -100 on padding),
  "loss":      the teacher-forced mean cross-entropy (training mode, dropout 0),
  "logits":    tensor (T·B, targetVocabSize), rows time-major (t·B + b),
  "grads":     {name: tensor} d loss / d parameter for every name of paramOrder,
  "greedy":    translate(sources, greedy, maxLength 8): B lists of ids (EOS removed),
  "beam":      translate(sources, beam search K 3, maxLength 8, lengthPenalty 1): B lists,
  "beamPaths": for the reader: per source, "eos" when the best beam hypothesis ended with EOS
               (it has fewer than maxLength tokens), "maxLength" when it was still alive at
               maxLength (exactly maxLength tokens)
}

Weights: PyTorch's default initialisation under the case's seed, then "trainSteps" Adam
steps (lr 0.03, batches of 16) on a toy task (random sources of 1-6 ids, target = the source
reversed with each id s mapped to (3s mod (targetVocabSize - 1)) + 1) so that the decoders'
distributions are peaked and hypotheses end with EOS at various lengths; a case with 0
steps keeps its random weights (its hypotheses run into maxLength). The script checks that
no decoding hangs on a near-tie: each survives 20 random perturbations of every parameter by
up to 1e-4 of its largest |value|.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from seq2seq_torch import EOS, Seq2Seq  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
GENERATOR = f"scripts/make_seq2seq_fixtures.py torch {torch.__version__}"
DECODE = {"maxLength": 8, "beamSize": 3, "lengthPenalty": 1}

# name, options (dropout 0 everywhere), source lengths, target lengths, toy-task training steps
CASES = [
    ("dot-lstm-feed", dict(sourceVocabSize=9, targetVocabSize=10, embeddingDim=6, hiddenSize=6, cell="lstm",
                           attention="dot", inputFeeding=True), [5, 2, 7], [4, 6, 1], 60),
    ("dot-gru-nofeed-unidirectional", dict(sourceVocabSize=8, targetVocabSize=9, embeddingDim=7, hiddenSize=6,
                                           cell="gru", bidirectional=False, attention="dot", inputFeeding=False),
     [3, 6, 4], [5, 2, 3], 30),
    ("general-gru-nofeed-enc2", dict(sourceVocabSize=10, targetVocabSize=9, embeddingDim=6, hiddenSize=6,
                                     cell="gru", encoderLayers=2, attention="general", inputFeeding=False),
     [6, 7, 3], [3, 5, 5], 80),
    ("general-lstm-feed-tied", dict(sourceVocabSize=9, targetVocabSize=11, embeddingDim=6, hiddenSize=6,
                                    cell="lstm", attention="general", inputFeeding=True, tieTargetEmbeddings=True),
     [4, 7, 2], [5, 0, 3], 0),
    ("additive-lstm-feed-dec2", dict(sourceVocabSize=8, targetVocabSize=10, embeddingDim=6, hiddenSize=6,
                                     cell="lstm", decoderLayers=2, attention="additive", inputFeeding=True),
     [2, 5, 6], [3, 4, 2], 60),
    ("additive-gru-nofeed", dict(sourceVocabSize=11, targetVocabSize=8, embeddingDim=6, hiddenSize=6, cell="gru",
                                 attention="additive", inputFeeding=False), [7, 1, 4], [2, 5, 4], 40),
    ("none-lstm", dict(sourceVocabSize=9, targetVocabSize=9, embeddingDim=6, hiddenSize=6, cell="lstm",
                       attention="none"), [3, 5, 7], [4, 3, 5], 50),
    ("none-gru-dec2", dict(sourceVocabSize=8, targetVocabSize=10, embeddingDim=7, hiddenSize=6, cell="gru",
                           attention="none", decoderLayers=2, encoderLayers=2), [5, 7, 4], [5, 1, 3], 20),
]


def f32_str(x):
    """The shortest decimal that reads back as float32 x (checked)."""
    s = str(np.float32(x))
    assert np.float32(float(s)) == np.float32(x), (x, s)
    return s


class Raw(str):
    """A number already formatted (written verbatim)."""


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [Raw(f32_str(v)) for v in t.reshape(-1).tolist()]}


def dumps(obj):
    """JSON with Raw numbers verbatim, compact, small lists on one line."""
    if isinstance(obj, Raw):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj)


def full_options(opts):
    o = dict(opts)
    o.setdefault("encoderLayers", 1)
    o.setdefault("decoderLayers", 1)
    o.setdefault("bidirectional", True)
    o.setdefault("tieTargetEmbeddings", False)
    o.setdefault("inputFeeding", False)
    o["dropout"] = 0.0
    keys = ("sourceVocabSize", "targetVocabSize", "embeddingDim", "hiddenSize", "cell", "encoderLayers",
            "decoderLayers", "bidirectional", "attention", "inputFeeding", "dropout", "tieTargetEmbeddings")
    return {k: o[k] for k in keys}


def pretrain(model, steps, Vs, Vt):
    """A few Adam steps on the toy task (see the docstring)."""
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    model.train()
    for _ in range(steps):
        sources = [torch.randint(1, Vs, (int(torch.randint(1, 7, ())),)).tolist() for _ in range(16)]
        targets = [[(3 * s) % (Vt - 1) + 1 for s in reversed(src)] for src in sources]
        opt.zero_grad()
        model.loss(model.batch(sources, targets)).backward()
        opt.step()


def check_no_near_ties(model, sources, greedy, beam, trials=20, scale=1e-4):
    """The decodings are no near-tie: they survive perturbing every parameter by up to
    `scale` × its largest |value| (~100× the float32 rounding that separates us from PyTorch),
    so a parity failure on them is a real difference, not a coin flip."""
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(1)
    try:
        for _ in range(trials):
            with torch.no_grad():
                for p in model.parameters():
                    p.add_((torch.rand(p.shape, generator=gen) * 2 - 1) * scale * p.abs().max())
            assert model.translate(sources, mode="greedy", max_length=DECODE["maxLength"]) == greedy
            assert model.translate(sources, beam_size=DECODE["beamSize"], max_length=DECODE["maxLength"],
                                   length_penalty=DECODE["lengthPenalty"]) == beam
            model.load_state_dict(saved)
    finally:
        model.load_state_dict(saved)


def make_case(i, name, opts, src_lengths, tgt_lengths, train_steps):
    seed = 7000 + i
    torch.manual_seed(seed)
    options = full_options(opts)
    model = Seq2Seq(**options)
    Vs, Vt = options["sourceVocabSize"], options["targetVocabSize"]
    pretrain(model, train_steps, Vs, Vt)
    sources = [torch.randint(1, Vs, (n,)).tolist() for n in src_lengths]
    targets = [torch.randint(1, Vt, (n,)).tolist() for n in tgt_lengths]
    model.train()
    b = model.batch(sources, targets)
    model.zero_grad()
    logits = model(b)
    loss = torch.nn.functional.cross_entropy(logits, b["targetOut"], ignore_index=-100)
    assert torch.equal(loss, model.loss(b))
    loss.backward()
    names = [n for n, _ in model.named_parameters()]
    sd = model.state_dict()
    assert [k for k in sd if not (options["tieTargetEmbeddings"] and k == "decoder.out.weight")] == names
    greedy = model.translate(sources, mode="greedy", max_length=DECODE["maxLength"])
    beam = model.translate(sources, beam_size=DECODE["beamSize"], max_length=DECODE["maxLength"],
                           length_penalty=DECODE["lengthPenalty"])
    check_no_near_ties(model, sources, greedy, beam)
    return {
        "name": name,
        "seed": seed,
        "trainSteps": train_steps,
        "options": options,
        "paramOrder": names,
        "stateDict": {k: tensor_json(v) for k, v in sd.items()},
        "sources": sources,
        "targets": targets,
        "batch": {"S": b["S"], "T": b["T"], "B": b["B"], "tokens": b["tokens"],
                  "source": b["source"].reshape(-1).tolist(), "sourceLengths": b["sourceLengths"].tolist(),
                  "targetIn": b["targetIn"].reshape(-1).tolist(), "targetOut": b["targetOut"].tolist()},
        "loss": Raw(f32_str(loss.item())),
        "logits": tensor_json(logits),
        "grads": {n: tensor_json(p.grad) for n, p in model.named_parameters()},
        "greedy": greedy,
        "beam": beam,
        "beamPaths": ["maxLength" if len(h) == DECODE["maxLength"] else "eos" for h in beam],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "seq2seq-model.json")
    cases = [make_case(i, *c) for i, c in enumerate(CASES)]
    assert len({c["name"] for c in cases}) == len(cases)
    text = dumps({"generator": GENERATOR, "decode": DECODE, "cases": cases}) + "\n"
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out} ({len(text)} bytes, {len(cases)} cases)")
    for c in cases:
        print(f"  {c['name']}: loss {c['loss']} greedy {c['greedy']} beam {c['beam']} {c['beamPaths']}")


if __name__ == "__main__":
    main()
