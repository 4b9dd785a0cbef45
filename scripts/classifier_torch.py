#!/usr/bin/python3
"""The PyTorch twin of rnn-native's SequenceClassifier, and its SpamAssassin run.

The module below has the same parameters, names and math as lib/models/sequence-classifier.ts
(embeddings, optionally normalised by their frequency-weighted mean and variance; a stacked,
optionally bidirectional LSTM/GRU/RNN over packed sequences; last/mean/max/attention pooling;
dropout; a linear layer), and adversarial training's double pass as lib/train/adversarial.ts
computes it. scripts/make_classifier_fixtures.py builds its parity fixtures from it.

As a script it trains the twin of examples/spam for a wall time, on the same split, vocabulary
and settings, and prints one JSON line with its test accuracy and spam F1; examples/spam/twin.js
writes its inputs (the split as TSV, the vocabulary with its counts, the settings), runs
rnn-native's side for the same time and then this:

    /usr/bin/python3 scripts/classifier_torch.py SPLIT.tsv --vocab VOCAB.json --settings SETTINGS.json --minutes 5

One thread (torch.set_num_threads(1)), as the example's side runs.
"""
import argparse
import json
import math
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

NORM_EPS = 1e-6


class Pooling(nn.Module):
    """Pools (T, B, F) outputs (zeros past each length) into (B, F)."""

    def __init__(self, kind, features):
        super().__init__()
        self.kind = kind
        if kind == "attention":
            self.proj = nn.Linear(features, features)
            self.context = nn.Linear(features, 1, bias=False)

    def forward(self, out, h_n, lengths, directions):
        T, B, _ = out.shape
        pad = torch.arange(T).unsqueeze(1) >= lengths.unsqueeze(0)  # (T, B) True on padding
        if self.kind == "last":
            return torch.cat([h_n[-directions + d] for d in range(directions)], 1)
        if self.kind == "mean":
            return out.sum(0) / lengths.to(out.dtype).unsqueeze(1)
        if self.kind == "max":
            return out.masked_fill(pad.unsqueeze(2), float("-inf")).max(0).values
        scores = self.context(torch.tanh(self.proj(out))).squeeze(2).t()  # (B, T)
        weights = torch.softmax(scores.masked_fill(pad.t(), float("-inf")), -1)
        return torch.bmm(weights.unsqueeze(1), out.transpose(0, 1)).squeeze(1)


class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, num_classes, embedding_dim=128, hidden_size=128, num_layers=1, cell="lstm",
                 bidirectional=True, pooling="max", dropout=0.3, class_weights=None, normalize_embeddings=False):
        super().__init__()
        self.directions = 2 if bidirectional else 1
        self.dropout = dropout
        if normalize_embeddings:
            self.register_buffer("token_frequencies", torch.full((vocab_size,), 1.0 / vocab_size))
        else:
            self.token_frequencies = None
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[cell]
        self.rnn = rnn(embedding_dim, hidden_size, num_layers, dropout=dropout if num_layers > 1 else 0.0,
                       bidirectional=bidirectional)
        features = self.directions * hidden_size
        self.pooling = Pooling(pooling, features)
        self.classifier = nn.Linear(features, num_classes)
        self.class_weights = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)

    def embed(self, ids):
        """(T, B) ids → (T, B, E), normalised as Miyato et al. (2017), dropout in training."""
        if self.token_frequencies is None:
            e = self.embedding(ids)
        else:
            w = self.embedding.weight
            f = self.token_frequencies.unsqueeze(0)  # (1, V)
            centred = w - (f @ w).squeeze(0)
            variance = (f @ (centred * centred)).squeeze(0)
            e = (centred / torch.sqrt(variance + NORM_EPS))[ids]
        return F.dropout(e, self.dropout, self.training)

    def forward_embedded(self, e, lengths):
        T = e.shape[0]
        packed = pack_padded_sequence(e, lengths, enforce_sorted=False)
        out, h = self.rnn(packed)
        h_n = h[0] if isinstance(h, tuple) else h
        out, _ = pad_packed_sequence(out, total_length=T)
        pooled = self.pooling(out, h_n, lengths, self.directions)
        return self.classifier(F.dropout(pooled, self.dropout, self.training))

    def forward(self, ids, lengths):
        return self.forward_embedded(self.embed(ids), lengths)

    def loss_of(self, logits, labels):
        return F.cross_entropy(logits, labels, weight=self.class_weights, ignore_index=-1)


def perturbation(g, epsilon):
    """ε g / ‖g_b‖₂ per sequence b of a (T, B, E) gradient (the norm over T and E)."""
    norm = g.pow(2).sum(dim=(0, 2)).sqrt()
    return (epsilon * g / (norm.reshape(1, -1, 1) + 1e-12)).detach()


def adversarial_step(model, ids, lengths, labels, epsilon, weight=1.0):
    """Clean pass and backward, r from the embedded input's gradient, perturbed pass and its
    backward (scaled by weight): the parameters' .grad end with d(L(e) + weight L(e + r))."""
    rng = torch.get_rng_state()
    e = model.embed(ids)
    e.retain_grad()
    clean = model.loss_of(model.forward_embedded(e, lengths), labels)
    clean.backward()
    r = perturbation(e.grad, epsilon)
    torch.set_rng_state(rng)  # the same dropout masks for the perturbed pass
    adv = model.loss_of(model.forward_embedded(model.embed(ids) + r, lengths), labels)
    (weight * adv).backward()
    return clean, adv, e.grad.detach().clone(), r


# ---------------------------------------------------------------- the spam twin

WORDPUNCT = re.compile(r"[^\W]+|[^\w\s]", re.UNICODE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump", help="node examples/spam/data.js --dump FILE")
    ap.add_argument("--vocab", required=True, help="the example's vocabulary: JSON {tokens, counts}")
    ap.add_argument("--settings", required=True, help="the example's settings (JSON)")
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--adversarial", type=float, default=0.0, help="epsilon (0: plain training)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    s = json.load(open(args.settings))
    vocab = json.load(open(args.vocab))
    tokens = vocab["tokens"]
    index = {t: i for i, t in enumerate(tokens)}
    tokenize = {"word": lambda t: t.split(), "wordpunct": lambda t: WORDPUNCT.findall(t)}[s["tokenization"]]
    data = {"train": [], "valid": [], "test": []}
    for line in open(args.dump, encoding="utf8"):
        part, label, text = line.rstrip("\n").split("\t", 2)
        ids = [index.get(w, 1) for w in tokenize(text.lower())][: s["maxLength"]] or [1]
        data[part].append((ids, 1 if label == "spam" else 0))
    model = SequenceClassifier(len(tokens), 2, s["embeddingDim"], s["hiddenSize"], s["numLayers"], s["cell"], True,
                               s["pooling"], s["dropout"], None, s["normalizeEmbeddings"])
    if s["normalizeEmbeddings"]:
        counts = torch.tensor(vocab["counts"], dtype=torch.float32)
        model.token_frequencies.copy_(counts / counts.sum())
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"])

    def batch(examples):
        T = max(len(ids) for ids, _ in examples)
        x = torch.zeros(T, len(examples), dtype=torch.long)
        for b, (ids, _) in enumerate(examples):
            x[: len(ids), b] = torch.tensor(ids)
        return x, torch.tensor([len(ids) for ids, _ in examples]), torch.tensor([y for _, y in examples])

    def accuracy(examples):
        model.eval()
        right, tp, fp, fn = 0, 0, 0, 0
        with torch.no_grad():
            order = sorted(examples, key=lambda e: len(e[0]))
            for i in range(0, len(order), 64):
                x, lengths, y = batch(order[i:i + 64])
                p = model(x, lengths).argmax(1)
                right += int((p == y).sum())
                tp += int(((p == 1) & (y == 1)).sum())
                fp += int(((p == 1) & (y == 0)).sum())
                fn += int(((p == 0) & (y == 1)).sum())
        model.train()
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        return 100 * right / len(examples), 100 * f1

    B, started, steps, epochs = s["batchSize"], time.time(), 0, 0
    train = data["train"]
    g = torch.Generator().manual_seed(args.seed)
    while time.time() - started < args.minutes * 60:
        # Bucketing as rnn-native's trainer: shuffle, sort within windows of 50 batches, shuffle the batches.
        order = torch.randperm(len(train), generator=g).tolist()
        window = 50 * B
        for w in range(0, len(order), window):
            order[w:w + window] = sorted(order[w:w + window], key=lambda i: len(train[i][0]))
        batches = [order[i:i + B] for i in range(0, len(order), B)]
        batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        for idx in batches:
            if time.time() - started >= args.minutes * 60:
                break
            x, lengths, y = batch([train[i] for i in idx])
            opt.zero_grad()
            if args.adversarial > 0:
                adversarial_step(model, x, lengths, y, args.adversarial)
            else:
                model.loss_of(model(x, lengths), y).backward()
            nn.utils.clip_grad_norm_(model.parameters(), s["clip"])
            opt.step()
            steps += 1
        epochs += 1
    seconds = round(time.time() - started, 1)
    acc, f1 = accuracy(data["test"])
    print(json.dumps({"library": "pytorch " + torch.__version__, "steps": steps, "epochs": epochs,
                      "seconds": seconds, "testAccuracy": acc, "spamF1": f1}))


if __name__ == "__main__":
    main()
