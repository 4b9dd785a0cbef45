#!/usr/bin/python3
"""PyTorch reference fixtures for rnn-native's SequenceClassifier: one forward and backward
for every pooling kind (with LSTM/GRU, one or two layers, one or two directions, class
weights and normalised embeddings spread over the cases), and adversarial training's full
step (clean pass and backward, the perturbation from the embedded input's gradient, the
perturbed pass and its backward, gradients accumulated).

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_classifier_fixtures.py [output-directory]

Writes classifier.json (default directory test/fixtures). Deterministic: torch.manual_seed
per case, float32, CPU, one thread.

Format: {"generator": ..., "cases": [case, ...]}; tensors are {"shape", "data"} (row-major,
float32 values written exactly). A case:
  name, seed, options (the SequenceClassifier options, camelCase, dropout 0),
  ids (T·B ints, time-major), lengths (B), labels (B; -1 = unlabelled, ignored by the loss),
  params {name: tensor} (the state dict, token_frequencies included when normalised),
  logits (B, C), loss, grads {name: tensor} (d loss / d parameter; none for token_frequencies),
  and for "kind": "adversarial" cases also epsilon, weight, loss2 (the perturbed pass's loss),
  embGrad (T, B, E: d loss / d embedded input), r (T, B, E), and grads = d(loss + weight·loss2).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier_torch import SequenceClassifier, adversarial_step  # noqa: E402

GENERATOR = "scripts/make_classifier_fixtures.py torch %s" % torch.__version__


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).double().tolist()}


def build(seed, o, T, lengths, labels):
    torch.manual_seed(seed)
    m = SequenceClassifier(o["vocabSize"], o["numClasses"], o["embeddingDim"], o["hiddenSize"], o["numLayers"], o["cell"],
                           o["bidirectional"], o["pooling"], 0.0, o.get("classWeights"), o["normalizeEmbeddings"])
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.uniform_(-0.5, 0.5)
        if o["normalizeEmbeddings"]:
            counts = torch.randint(1, 50, (o["vocabSize"],)).float()
            m.token_frequencies.copy_(counts / counts.sum())
    B = len(lengths)
    ids = torch.zeros(T, B, dtype=torch.long)
    for b in range(B):
        ids[: lengths[b], b] = torch.randint(0, o["vocabSize"], (lengths[b],))
    return m, ids, torch.tensor(lengths), torch.tensor(labels)


def common(name, seed, o, m, ids, lengths, labels):
    return {
        "name": name, "seed": seed, "options": {**o, "dropout": 0.0},
        "ids": ids.reshape(-1).tolist(), "lengths": lengths.tolist(), "labels": labels.tolist(),
        "params": {n: tensor_json(t) for n, t in m.state_dict().items()},
    }


def forward_case(name, seed, o, T, lengths, labels):
    m, ids, lengths_t, labels_t = build(seed, o, T, lengths, labels)
    logits = m(ids, lengths_t)
    loss = m.loss_of(logits, labels_t)
    loss.backward()
    case = common(name, seed, o, m, ids, lengths_t, labels_t)
    case.update({"kind": "forward", "logits": tensor_json(logits), "loss": float(loss.item()),
                 "grads": {n: tensor_json(p.grad) for n, p in m.named_parameters()}})
    return case


def adversarial_case(name, seed, o, T, lengths, labels, epsilon, weight):
    m, ids, lengths_t, labels_t = build(seed, o, T, lengths, labels)
    clean, adv, g, r = adversarial_step(m, ids, lengths_t, labels_t, epsilon, weight)
    for b, n in enumerate(lengths):
        assert (g[n:, b] == 0).all(), "the gradient is zero on padding"
        assert abs(r[:, b].double().pow(2).sum().sqrt().item() - epsilon) < 1e-4
    case = common(name, seed, o, m, ids, lengths_t, labels_t)
    case.update({"kind": "adversarial", "epsilon": epsilon, "weight": weight, "loss": float(clean.item()),
                 "loss2": float(adv.item()), "embGrad": tensor_json(g), "r": tensor_json(r),
                 "grads": {n: tensor_json(p.grad) for n, p in m.named_parameters()}})
    return case


def options(**kw):
    o = {"vocabSize": 11, "numClasses": 3, "embeddingDim": 5, "hiddenSize": 4, "numLayers": 1, "cell": "lstm",
         "bidirectional": True, "pooling": "max", "normalizeEmbeddings": False}
    o.update(kw)
    return o


def cases():
    lengths = [6, 2, 1, 4]
    labels = [0, 2, 1, 2]
    return [
        forward_case("last_bilstm", 7000, options(pooling="last"), 6, lengths, labels),
        forward_case("last_gru_2layers_unidirectional", 7001, options(pooling="last", cell="gru", numLayers=2, bidirectional=False), 6, lengths, labels),
        forward_case("mean_bilstm_class_weights", 7002, options(pooling="mean", classWeights=[0.5, 2.0, 1.25]), 6, lengths, labels),
        forward_case("max_bigru_2layers", 7003, options(pooling="max", cell="gru", numLayers=2), 6, lengths, labels),
        forward_case("attention_bilstm_normalized", 7004, options(pooling="attention", normalizeEmbeddings=True), 6, lengths, labels),
        forward_case("attention_unlabelled_row", 7005, options(pooling="attention", bidirectional=False), 6, lengths, [0, -1, 1, 2]),
        adversarial_case("adversarial_max_bilstm", 7100, options(pooling="max"), 6, lengths, labels, 0.8, 1.0),
        adversarial_case("adversarial_attention_normalized_weighted", 7101,
                         options(pooling="attention", normalizeEmbeddings=True, classWeights=[1.0, 3.0, 0.5]), 6, lengths, labels, 1.5, 0.5),
    ]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test", "fixtures")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    all_cases = cases()
    path = os.path.join(out_dir, "classifier.json")
    with open(path, "w") as f:
        json.dump({"generator": GENERATOR, "cases": all_cases}, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote %s: %d cases, %d bytes" % (path, len(all_cases), os.path.getsize(path)))


if __name__ == "__main__":
    main()
