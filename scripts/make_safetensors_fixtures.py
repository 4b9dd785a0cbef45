#!/usr/bin/python3
"""Generate reference .safetensors files for test/40.safetensors.test.ts.

Regenerate (needs PyTorch; on Debian use the system interpreter):

    /usr/bin/python3 scripts/make_safetensors_fixtures.py [output-dir]

Default output directory: test/fixtures/safetensors/ (relative to the repo root).
The output is deterministic.

The Python `safetensors` package is not available on the machine these fixtures
were made on (Debian ships no python3-safetensors), so this script carries its
own writer, `serialize()` below, which follows the reference implementation
(huggingface/safetensors, safetensors/src/tensor.rs, `prepare`/`serialize`)
byte for byte:

  * 8 bytes: N, the header length, as a little-endian u64;
  * N bytes: the header, compact JSON (serde_json: no spaces, non-ASCII written
    as raw UTF-8, control characters escaped), `__metadata__` first when
    metadata is given, then one entry per tensor with its fields in the order
    dtype, shape, data_offsets; padded with spaces (0x20) so that N, and hence
    8 + N, is a multiple of 8;
  * the byte buffer: each tensor's little-endian, row-major data, back to back
    with no gaps, in the header's order, which is: dtype alignment descending
    (the order of the Rust `Dtype` enum, reversed), then name (byte-wise
    UTF-8, which for Python str is code-point order).

If `import safetensors` works, the script also checks every file it writes
against `safetensors.torch.save` (only files with at most one metadata entry:
the reference writer keeps metadata in a Rust HashMap, whose order is random).

Files written
-------------
  f32.safetensors    F32 tensors: a matrix, a vector, a scalar (shape []), a
                     zero-sized (0, 4) tensor, names that sort differently
                     byte-wise than naturally ("layers.10.w" < "layers.2.w",
                     "Zeta" < "bias"), a non-ASCII name, a name with a quote
                     and a backslash, special values (±0, ±inf, NaN, the
                     smallest subnormal); metadata {"format": "pt"}.
  f64.safetensors    F64 values that round on conversion to float32 (0.1,
                     1/3, ties to even), overflow to inf (1e300), underflow
                     to a float32 subnormal or zero, NaN, ±inf, -0; a scalar.
  f16.safetensors    F16 bit patterns: ±0, the smallest and largest
                     subnormals, the smallest normal, 1, the largest finite
                     value 65504, ±inf, quiet and signalling NaNs, -2, 1/3.
  bf16.safetensors   BF16 bit patterns: the same kinds of special values.
  mixed.safetensors  F64, F32, BF16 and F16 tensors in one file, ordered by
                     dtype alignment (F64 first), with metadata.
  expected.json      for each file: {"metadata": {...} | null, "order": [names
                     in header order], "tensors": {name: {"dtype", "shape",
                     "bits"}}} where bits are the float32 bit patterns (uint32)
                     of the values converted to float32 by torch (`.float()`),
                     row-major, so NaN, -0 and subnormals compare exactly.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

# The Rust `Dtype` enum, in increasing alignment order (its derived Ord).
DTYPE_ORDER = [
    "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
    "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
]
TORCH_DTYPE = {
    torch.float32: ("F32", "<f4"),
    torch.float64: ("F64", "<f8"),
    torch.float16: ("F16", None),
    torch.bfloat16: ("BF16", None),
}


def tensor_bytes(t):
    """Little-endian, row-major bytes of a CPU tensor."""
    t = t.detach().contiguous().reshape(-1)
    name, np_dtype = TORCH_DTYPE[t.dtype]
    if np_dtype is None:  # float16 / bfloat16: reinterpret the 16 bits
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(np_dtype).tobytes()


def serialize(tensors, metadata=None):
    """The reference safetensors writer (see the module docstring)."""
    items = sorted(
        tensors.items(),
        key=lambda kv: (-DTYPE_ORDER.index(TORCH_DTYPE[kv[1].dtype][0]), kv[0].encode("utf-8")),
    )
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, t in items:
        data = tensor_bytes(t)
        header[name] = {
            "dtype": TORCH_DTYPE[t.dtype][0],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        chunks.append(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    hbytes = text.encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    return struct.pack("<Q", len(hbytes)) + hbytes + b"".join(chunks), [name for name, _ in items]


def f32_bits(t):
    """uint32 bit patterns of t converted to float32, row-major."""
    a = t.detach().float().contiguous().reshape(-1).numpy().astype("<f4")
    return [int(x) for x in a.view("<u4")]


def from_bits16(bits, dtype):
    return torch.from_numpy(np.array(bits, dtype=np.uint16).view(np.int16).copy()).view(dtype)


def from_bits32(bits):
    return torch.from_numpy(np.array(bits, dtype=np.uint32).view(np.float32).copy())


def files():
    torch.manual_seed(40)
    f32 = {
        "weight": torch.randn(2, 3),
        "bias": torch.tensor([0.5, -0.25, 0.0]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "layers.10.w": torch.randn(2),
        "layers.2.w": torch.randn(1, 1),
        "Zeta": torch.randn(2),
        "\u00e9mbed": torch.randn(2, 2),  # "émbed": 2-byte UTF-8 in the name
        'odd"name\\x': torch.randn(1),
        # +0, -0, +inf, -inf, NaN, smallest subnormal, largest finite, smallest normal
        "specials": from_bits32([0x00000000, 0x80000000, 0x7F800000, 0xFF800000,
                                 0x7FC00000, 0x00000001, 0x7F7FFFFF, 0x00800000]),
    }
    f64 = {
        "x": torch.tensor([0.1, 1.0 / 3.0, -0.0, 1e-40, 1e-50, 1e300, -1e300,
                           float("nan"), float("inf"), float("-inf"),
                           1.0 + 2.0 ** -24,        # tie: rounds to even (1.0)
                           1.0 + 3.0 * 2.0 ** -24,  # tie: rounds to even (1 + 2^-22)
                           2.5], dtype=torch.float64).reshape(13),
        "m": torch.randn(2, 3, dtype=torch.float64),
        "s": torch.tensor(-7.125, dtype=torch.float64),
    }
    f16 = {
        "h": from_bits16([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0200, 0x0400,
                          0x3C00, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0xFE00,
                          0x7C01, 0x7D55, 0xC000, 0x3555], torch.float16).reshape(3, 6),
        "r": torch.randn(4).half(),
        "z": torch.zeros(0, dtype=torch.float16),
    }
    bf16 = {
        "b": from_bits16([0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x3F80,
                          0xC020, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0xFFC1,
                          0x7F81, 0x4049], torch.bfloat16).reshape(2, 2, 4),
        "one": torch.tensor(1.0, dtype=torch.bfloat16),
    }
    mixed = {
        "d": torch.randn(3).half(),
        "c": torch.randn(2, 2).bfloat16(),
        "b": torch.randn(3),
        "a": torch.randn(1, 2, dtype=torch.float64),
        "e": torch.randn(1).half(),
    }
    return [
        ("f32.safetensors", f32, {"format": "pt"}),
        ("f64.safetensors", f64, None),
        ("f16.safetensors", f16, None),
        ("bf16.safetensors", bf16, None),
        ("mixed.safetensors", mixed, {"source": "make_safetensors_fixtures.py"}),
    ]


def check_with_reference(path, tensors, metadata, data):
    try:
        from safetensors.torch import save  # noqa: F401
    except ImportError:
        return False
    if metadata is not None and len(metadata) > 1:
        return False
    ref = save(tensors, metadata=metadata)
    if ref != data:
        raise SystemExit(f"{path}: differs from safetensors.torch.save")
    return True


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test", "fixtures", "safetensors")
    os.makedirs(out_dir, exist_ok=True)
    expected = {"generator": f"scripts/make_safetensors_fixtures.py torch {torch.__version__}", "files": {}}
    checked = []
    for fname, tensors, metadata in files():
        data, order = serialize(tensors, metadata)
        with open(os.path.join(out_dir, fname), "wb") as f:
            f.write(data)
        if check_with_reference(fname, tensors, metadata, data):
            checked.append(fname)
        expected["files"][fname] = {
            "metadata": metadata,
            "order": order,
            "tensors": {
                name: {"dtype": TORCH_DTYPE[t.dtype][0], "shape": list(t.shape), "bits": f32_bits(t)}
                for name, t in tensors.items()
            },
        }
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    note = f"checked against safetensors: {', '.join(checked)}" if checked else "python safetensors not installed: not cross-checked"
    print(f"wrote {len(expected['files'])} files to {out_dir} ({note})")


if __name__ == "__main__":
    main()
