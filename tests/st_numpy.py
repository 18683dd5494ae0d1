"""Minimal safetensors reader/writer in numpy, written from the format description
(FORMATS.md section 4), independent of the C code. Used by the tests to make inputs and to
read what the program writes."""
import json
import struct

import numpy as np

_NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def f32_to_bf16_bits(a):
    """Round float32 to bfloat16 (nearest even), returned as uint16 bit patterns."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write(path, tensors, dtype="F32", metadata=None):
    """tensors: dict name -> float array. dtype: F32, F16 or BF16 for every tensor."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, arr in tensors.items():
        arr = np.asarray(arr, dtype=np.float32)
        if dtype == "F32":
            raw = arr.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = arr.astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = f32_to_bf16_bits(arr).astype("<u2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read(path):
    """Returns (dict name -> float64 array, metadata). Checks the layout strictly."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode())
    meta = header.pop("__metadata__", None)
    body = data[8 + n:]
    out, spans = {}, []
    for name, e in header.items():
        b, en = e["data_offsets"]
        spans.append((b, en))
        raw = body[b:en]
        if e["dtype"] == "BF16":
            arr = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP[e["dtype"]]).newbyteorder("<"))
        count = int(np.prod(e["shape"])) if e["shape"] else 1
        assert arr.size == count, f"{path}: {name}: {arr.size} values for shape {e['shape']}"
        out[name] = arr.astype(np.float64).reshape(e["shape"])
    spans.sort()
    pos = 0
    for b, en in spans:  # the reference reader's rule: tensors tile the buffer exactly
        assert b == pos, f"{path}: hole or overlap at byte {b}"
        pos = en
    assert pos == len(body), f"{path}: {len(body) - pos} stray bytes after the last tensor"
    return out, meta
