#!/usr/bin/python3
"""The CMUdict grapheme-to-phoneme example in PyTorch: rnn-native's Seq2Seq twin
(scripts/seq2seq_torch.py) trained for a time budget on examples/g2p-cmudict/data.js's split,
then beam search on the test words, scored with data.js's rules.

    /usr/bin/python3 bench/g2p_torch.py [--minutes 45] [--threads 2] [--data /tmp/g2p.json] ...

Output: progress on stderr; on stdout the line
    g2p-torch: test WER=<x>% PER=<y>%
then one JSON line: the settings, the training throughput (words/s), the curve (validation
loss, WER and PER against training minutes) and the test scores.

Data. `--data FILE` reads what `node examples/g2p-cmudict/data.js --dump FILE` writes
({train, valid, test}: [{word, pronunciations: [[phoneme, ...], ...]}]); without it the script
runs that command itself (a temp file). Training pairs: every (word, pronunciation) of the
training words, in the dump's order. Vocabularies (the example's rule): source tokens are the
word's characters, ids 2.. for the sorted distinct characters of the training words; target
tokens are the phonemes, ids 2.. for the sorted distinct phonemes of the training
pronunciations; 0 = EOS, 1 = UNK (a character or phoneme unseen in training).

Defaults = the example's (keep them in step; each is a flag): cell lstm, embeddingDim 128,
hiddenSize 256, encoderLayers 2, decoderLayers 1, bidirectional, attention general, input
feeding on, dropout 0.2; Adam lr 2e-3 (betas 0.9/0.999, eps 1e-8); batches of 64 pairs,
bucketed by source length as lib/data/sequences.ts's batchIndices (shuffle the pairs, sort by
source length within windows of 50 batches, cut, shuffle the batches; every epoch);
clip_grad_norm_ 5; the learning rate on a cosine from lr to --min-lr over the training budget,
set before each batch from the percent of the budget spent (torch's CosineAnnealingLR with
T_max 100 stepped once per percent: the example's `interval: 'budget'` scheduler), or with
`--schedule plateau` ReduceLROnPlateau(mode min, factor 0.5, patience 1) stepped with each
validation loss; beam search K 5, lengthPenalty 1, maxLength our default (2 × the batch's
longest source + 10).

Loop. The budget (`--minutes`) counts training time only: it is checked before each batch,
and validation (which pauses the clock) runs at the end of every epoch, or every
`--validate-every` training minutes when that is set, and once more when the budget runs out.
A validation: the teacher-forced loss over every validation pair (eval mode, mean over target
tokens, EOS included), then the validation words decoded (`--curve-decode`, greedy by
default: the curve is a trend; the final test uses the beam) and scored. The curve's x is
training minutes. Test: the words in batches of `--decode-batch`, sorted by length.

Scoring (data.js's score(), reimplemented): a word is right when the prediction equals any
reference (WER = wrong words / words); PER = the edit distance to the closest reference
(ties: the longer reference) summed over words / the sum of those references' lengths.

Threads: 1 or 2, fixed before torch loads (OpenBLAS reads its thread count then);
`--threads auto` first times 30 training batches at 1 and at 2 threads, each in a child
process (`--probe`; not counted in the budget), and keeps the faster.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--minutes", type=float, default=45.0, help="training time budget")
p.add_argument("--threads", default="2", help="1, 2 or auto (the faster of 1 and 2, measured)")
p.add_argument("--data", help="a dump of examples/g2p-cmudict/data.js (--dump FILE); default: make one")
p.add_argument("--seed", type=int, default=1234)
p.add_argument("--cell", default="lstm")
p.add_argument("--embedding-dim", type=int, default=128)
p.add_argument("--hidden-size", type=int, default=256)
p.add_argument("--encoder-layers", type=int, default=2)
p.add_argument("--decoder-layers", type=int, default=1)
p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True)
p.add_argument("--attention", default="general", choices=["none", "dot", "general", "additive"])
p.add_argument("--input-feeding", action=argparse.BooleanOptionalAction, default=True)
p.add_argument("--dropout", type=float, default=0.2)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--schedule", choices=["cosine", "plateau"], default="cosine")
p.add_argument("--min-lr", type=float, default=2e-5)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--bucket", type=int, default=50, help="sort by source length within windows of this many batches")
p.add_argument("--clip", type=float, default=5.0, help="clip_grad_norm_ max norm")
p.add_argument("--patience", type=int, default=1)
p.add_argument("--factor", type=float, default=0.5)
p.add_argument("--validate-every", type=float, default=0.0, help="training minutes between validations (0: each epoch)")
p.add_argument("--curve-decode", default="greedy", choices=["greedy", "beam"])
p.add_argument("--beam-size", type=int, default=5)
p.add_argument("--length-penalty", type=float, default=1.0)
p.add_argument("--decode-batch", type=int, default=64)
p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
p.add_argument("--probe", action="store_true", help="time 30 training batches (after 5 warm-up ones), print "
               "{wordsPerSecond} and exit (what --threads auto runs)")
ARGS = p.parse_args()



def probe_threads():
    """--threads auto: the faster of 1 and 2 threads, each timed in its own process (the
    thread count has to be fixed before torch loads: see below)."""
    rates = {}
    for n in (1, 2):
        cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(n), "--probe", "--quiet"]
        skip = {"--threads", "--probe", "--quiet", "--minutes"}
        argv = sys.argv[1:]
        i = 0
        while i < len(argv):  # pass the other options on
            if argv[i] in skip:
                i += 1 if argv[i] in ("--probe", "--quiet") else 2
                continue
            cmd.append(argv[i])
            i += 1
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rates[n] = json.loads(out.strip().splitlines()[-1])["wordsPerSecond"]
    return max(rates, key=rates.get), rates


THREAD_RATES = None
if ARGS.threads == "auto" and not ARGS.probe:
    THREADS, THREAD_RATES = probe_threads()
    if not ARGS.quiet:
        print("g2p-torch: threads: " + ", ".join(f"{n}: {r:.0f} words/s" for n, r in THREAD_RATES.items()) +
              f" → {THREADS}", file=sys.stderr, flush=True)
else:
    THREADS = int(ARGS.threads)
# Debian's torch runs its GEMMs on the system OpenBLAS (openblas-pthread), whose pool reads
# OPENBLAS_NUM_THREADS when it loads, and its other kernels on OpenMP: both are fixed here,
# before torch loads, then torch.set_num_threads (as bench/torch_workloads.py).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # Debian's 1.13: as bench/run.js runs it

import torch  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from seq2seq_torch import Seq2Seq  # noqa: E402

torch.set_num_threads(THREADS)
torch.manual_seed(ARGS.seed)
RNG = random.Random(ARGS.seed)
UNK = 1


def log(msg):
    if not ARGS.quiet:
        print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data and scoring

def load_split():
    if ARGS.data:
        with open(ARGS.data) as f:
            return json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "g2p.json")
        subprocess.run(["node", os.path.join(ROOT, "examples", "g2p-cmudict", "data.js"), "--dump", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)


def edit_distance(a, b):
    """data.js's editDistance()."""
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        diag = row[0]
        row[0] = i
        for j in range(1, len(b) + 1):
            up = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diag + (0 if a[i - 1] == b[j - 1] else 1))
            diag = up
    return row[len(b)]


def score(entries, predictions):
    """data.js's score(): WER and PER in percent."""
    wrong = edits = ref_length = 0
    for e, pred in zip(entries, predictions):
        best = None
        for ref in e["pronunciations"]:
            d = edit_distance(pred, ref)
            if best is None or d < best[0] or (d == best[0] and len(ref) > best[1]):
                best = (d, len(ref))
        if best[0] > 0:
            wrong += 1
        edits += best[0]
        ref_length += best[1]
    return 100.0 * wrong / len(entries), 100.0 * edits / ref_length


split = load_split()
chars = sorted({ch for e in split["train"] for ch in e["word"]})
phones = sorted({ph for e in split["train"] for pr in e["pronunciations"] for ph in pr})
src_id = {ch: i + 2 for i, ch in enumerate(chars)}
tgt_id = {ph: i + 2 for i, ph in enumerate(phones)}
id_phone = {i: ph for ph, i in tgt_id.items()}


def encode_word(w):
    return [src_id.get(ch, UNK) for ch in w]


def pairs_of(entries):
    return [(encode_word(e["word"]), [tgt_id.get(ph, UNK) for ph in pr]) for e in entries for pr in e["pronunciations"]]


train_pairs = pairs_of(split["train"])
valid_pairs = pairs_of(split["valid"])
log(f"g2p-torch: {len(split['train'])} training words ({len(train_pairs)} pairs), {len(split['valid'])} validation, "
    f"{len(split['test'])} test; vocabularies {len(chars) + 2} characters, {len(phones) + 2} phonemes")


def batch_indices(lengths, batch_size, bucket):
    """lib/data/sequences.ts's batchIndices (shuffle on, keepLast), with Python's generator."""
    order = list(range(len(lengths)))
    RNG.shuffle(order)
    if bucket > 1:
        window = bucket * batch_size
        for s in range(0, len(order), window):
            order[s: s + window] = sorted(order[s: s + window], key=lambda i: lengths[i])  # stable, as JS
    batches = [order[s: s + batch_size] for s in range(0, len(order), batch_size)]
    if bucket > 1:
        RNG.shuffle(batches)
    return batches


# ---------------------------------------------------------------- model

OPTIONS = dict(sourceVocabSize=len(chars) + 2, targetVocabSize=len(phones) + 2, embeddingDim=ARGS.embedding_dim,
               hiddenSize=ARGS.hidden_size, cell=ARGS.cell, encoderLayers=ARGS.encoder_layers,
               decoderLayers=ARGS.decoder_layers, bidirectional=ARGS.bidirectional, attention=ARGS.attention,
               inputFeeding=ARGS.input_feeding, dropout=ARGS.dropout, tieTargetEmbeddings=False)
model = Seq2Seq(**OPTIONS)
params = list(model.parameters())
opt = torch.optim.Adam(params, lr=ARGS.lr)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=ARGS.factor, patience=ARGS.patience)
log(f"g2p-torch: {sum(p.numel() for p in params):,} parameters; {OPTIONS}")


def train_step(idx):
    b = model.batch([train_pairs[i][0] for i in idx], [train_pairs[i][1] for i in idx])
    model.train()
    opt.zero_grad()
    loss = model.loss(b)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, ARGS.clip)
    opt.step()
    return float(loss)


def probe():
    """Training words/s over 30 batches after 5 warm-up ones (--probe)."""
    lengths = [len(src) for src, _ in train_pairs]
    batches = batch_indices(lengths, ARGS.batch_size, ARGS.bucket)[:35]
    for idx in batches[:5]:
        train_step(idx)
    t0 = time.perf_counter()
    words = 0
    for idx in batches[5:]:
        train_step(idx)
        words += len(idx)
    print(json.dumps({"threads": THREADS, "wordsPerSecond": words / (time.perf_counter() - t0)}))


def translate_all(words, mode):
    """Predictions (phoneme lists) for the words, in their order; batches sorted by length."""
    order = sorted(range(len(words)), key=lambda i: len(words[i]))
    out = [None] * len(words)
    for s in range(0, len(order), ARGS.decode_batch):
        idx = order[s: s + ARGS.decode_batch]
        srcs = [encode_word(words[i]) for i in idx]
        if mode == "beam":
            hyps = model.translate(srcs, beam_size=ARGS.beam_size, length_penalty=ARGS.length_penalty)
        else:
            hyps = model.translate(srcs, mode="greedy")
        for i, h in zip(idx, hyps):
            out[i] = [id_phone.get(t, "<unk>") for t in h]
    return out


def validation_loss():
    model.eval()
    order = sorted(range(len(valid_pairs)), key=lambda i: len(valid_pairs[i][0]))
    total = tokens = 0.0
    with torch.no_grad():
        for s in range(0, len(order), ARGS.decode_batch):
            idx = order[s: s + ARGS.decode_batch]
            b = model.batch([valid_pairs[i][0] for i in idx], [valid_pairs[i][1] for i in idx])
            total += float(model.loss(b)) * b["tokens"]
            tokens += b["tokens"]
    return total / tokens


# ---------------------------------------------------------------- training

if ARGS.probe:
    probe()
    sys.exit(0)
lengths = [len(s) for s, _ in train_pairs]
budget = ARGS.minutes * 60.0
train_seconds = 0.0
words_trained = 0
epoch = 0  # completed epochs
epoch_pos = 0.0  # epochs, fractional
curve = []
valid_words = [e["word"] for e in split["valid"]]
wall0 = time.perf_counter()


def validate(tag):
    t0 = time.perf_counter()
    loss = validation_loss()
    wer, per = score(split["valid"], translate_all(valid_words, ARGS.curve_decode))
    if ARGS.schedule == "plateau":
        sched.step(loss)
    point = {"minutes": round(train_seconds / 60, 4), "epoch": round(epoch_pos, 4), "words": words_trained,
             "validLoss": round(loss, 5), "validWER": round(wer, 3), "validPER": round(per, 3),
             "lr": opt.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 2)}
    curve.append(point)
    log(f"g2p-torch: {tag} {point}")


out_of_time = False
next_validation = ARGS.validate_every * 60.0 if ARGS.validate_every > 0 else math.inf
while not out_of_time:
    batches = batch_indices(lengths, ARGS.batch_size, ARGS.bucket)
    for k, idx in enumerate(batches):
        if train_seconds >= budget:
            out_of_time = True
            break
        if ARGS.schedule == "cosine":
            percent = min(100, math.floor(100 * train_seconds / budget))
            for g in opt.param_groups:
                g["lr"] = ARGS.min_lr + (ARGS.lr - ARGS.min_lr) * (1 + math.cos(math.pi * percent / 100)) / 2
        t0 = time.perf_counter()
        loss = train_step(idx)
        train_seconds += time.perf_counter() - t0
        words_trained += len(idx)
        epoch_pos = epoch + (k + 1) / len(batches)
        if k % 200 == 0:
            log(f"g2p-torch: epoch {epoch + 1} batch {k}/{len(batches)} loss {loss:.4f} "
                f"{words_trained / train_seconds:.0f} words/s, {train_seconds / 60:.2f} min")
        if train_seconds >= next_validation:
            validate("validation")
            next_validation += ARGS.validate_every * 60.0
    if not out_of_time:
        epoch += 1
        if ARGS.validate_every <= 0:
            validate(f"epoch {epoch}")
if not curve or curve[-1]["words"] != words_trained:
    validate("final validation")

t0 = time.perf_counter()
test_words = [e["word"] for e in split["test"]]
test_wer, test_per = score(split["test"], translate_all(test_words, "beam"))
test_seconds = time.perf_counter() - t0
print(f"g2p-torch: test WER={test_wer:.2f}% PER={test_per:.2f}%", flush=True)
print(json.dumps({
    "impl": "torch", "task": "g2p", "torch": torch.__version__, "threads": THREADS, "threadRates": THREAD_RATES,
    "options": OPTIONS,
    "training": {"lr": ARGS.lr, "batchSize": ARGS.batch_size, "bucket": ARGS.bucket, "clip": ARGS.clip,
                 "schedule": ARGS.schedule, "minLr": ARGS.min_lr,
                 "plateau": {"factor": ARGS.factor, "patience": ARGS.patience}, "seed": ARGS.seed},
    "minutes": ARGS.minutes, "trainSeconds": round(train_seconds, 2), "epochs": round(epoch_pos, 4),
    "wordsTrained": words_trained, "wordsPerSecond": round(words_trained / max(train_seconds, 1e-9), 1),
    "wallSeconds": round(time.perf_counter() - wall0, 2),
    "curve": curve,
    "test": {"wer": round(test_wer, 3), "per": round(test_per, 3), "beamSize": ARGS.beam_size,
             "lengthPenalty": ARGS.length_penalty, "decodeSeconds": round(test_seconds, 2)},
}), flush=True)
