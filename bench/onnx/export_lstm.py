#!/usr/bin/python3
"""Exports a torch.nn.LSTM, with the weights rnn-native saved, to ONNX (bench/onnx/bench.js).

    /usr/bin/python3 bench/onnx/export_lstm.py --weights W.safetensors --out M.onnx \
        --input-size I --hidden-size H --layers L [--bidirectional] [--opset 17]

The weights file is the layer's state dict as rnn-native writes it (saveSafetensors of
namedParameters(): weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, the *_reverse twins and
the later layers: PyTorch's own names), read here without the safetensors package (the format is
an 8-byte little-endian header length, a JSON header, then the raw data). The model is exported
with torch.onnx.export's TorchScript exporter, which needs neither the `onnx` nor the
`onnxscript` package (Debian's PyTorch 1.13 has neither); under PyTorch 2.x `dynamo=False` asks
for the same exporter. Inputs: `input` (T, B, I), sequence-first; outputs `output`
(T, B, D·H), `h_n` and `c_n` (L·D, B, H); T and B are dynamic axes, so one file serves every
batch size. Prints one JSON line: the versions and the file's size.
"""
import argparse
import json
import os
import struct
import sys
import warnings


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--input-size", type=int, required=True)
    p.add_argument("--hidden-size", type=int, required=True)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--probe", action="store_true", help="print torch's version as JSON and exit")
    return p.parse_args()


ARGS = parse_args()
try:
    import torch
except ImportError as e:
    print(json.dumps({"error": "torch-missing", "message": str(e)}))
    sys.exit(3)

if ARGS.probe:
    print(json.dumps({"torch": torch.__version__, "python": sys.version.split()[0], "exe": sys.executable}))
    sys.exit(0)

torch.set_num_threads(1)


def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {meta['dtype']}, expected F32")
        begin, end = meta["data_offsets"]
        t = torch.frombuffer(bytearray(blob[base + begin : base + end]), dtype=torch.float32)
        out[name] = t.reshape(meta["shape"]) if meta["shape"] else t.reshape(())
    return out


def main():
    I, H, L = ARGS.input_size, ARGS.hidden_size, ARGS.layers
    m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=ARGS.bidirectional).eval()
    sd = read_safetensors(ARGS.weights)
    missing = set(m.state_dict().keys()) ^ set(sd.keys())
    if missing:
        raise ValueError(f"{ARGS.weights}: names differ from torch.nn.LSTM's: {sorted(missing)}")
    m.load_state_dict(sd, strict=True)
    x = torch.zeros(3, 2, I)  # T and B are dynamic axes: the example's sizes do not matter
    kwargs = dict(
        input_names=["input"],
        output_names=["output", "h_n", "c_n"],
        dynamic_axes={"input": {0: "T", 1: "B"}, "output": {0: "T", 1: "B"}, "h_n": {1: "B"}, "c_n": {1: "B"}},
        opset_version=ARGS.opset,
        do_constant_folding=True,
    )
    if int(torch.__version__.split(".")[0]) >= 2:
        kwargs["dynamo"] = False  # the TorchScript exporter, as 1.13's (no onnx/onnxscript needed)
    tmp = f"{ARGS.out}.{os.getpid()}.tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "exporting a model with batch_size != 1 …" and the like
        with torch.no_grad():
            torch.onnx.export(m, (x,), tmp, **kwargs)
    os.replace(tmp, ARGS.out)
    print(json.dumps({"torch": torch.__version__, "python": sys.version.split()[0], "exe": sys.executable,
                      "opset": ARGS.opset, "bytes": os.path.getsize(ARGS.out)}))


main()
