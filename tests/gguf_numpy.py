"""Minimal GGUF writer/reader and ggml dequantization in numpy, written from the format
description (FORMATS.md sections 1-3), independent of the C code and of llama.cpp/gguf-py.
Used by tests/test_gguf.py to make GGUF inputs and to check what the program writes.

Metadata values carry explicit types: metadata[key] = (type_id, value); arrays are
(ARRAY, (elem_type_id, [values])). The reader returns them in the same form.
All dequantization is done in float32 in the order the C side is asked to use, so results
can be compared bit for bit.
"""
import struct

import numpy as np

# ---- metadata value types (FORMATS 1.2)
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR_FMT = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i", FLOAT32: "<f",
               BOOL: "<B", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}
VALUE_TYPE_NAMES = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
                    "UINT64", "INT64", "FLOAT64"]

# ---- ggml tensor types (FORMATS 1.4): id -> (name, elements per block, bytes per block)
F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 = 0, 1, 2, 3, 6, 7, 8
Q4_K, Q5_K, Q6_K, BF16 = 12, 13, 14, 30
IQ2_XXS = 16
TYPES = {F32: ("F32", 1, 4), F16: ("F16", 1, 2), BF16: ("BF16", 1, 2), Q4_0: ("Q4_0", 32, 18),
         Q4_1: ("Q4_1", 32, 20), Q5_0: ("Q5_0", 32, 22), Q5_1: ("Q5_1", 32, 24), Q8_0: ("Q8_0", 32, 34),
         Q4_K: ("Q4_K", 256, 144), Q5_K: ("Q5_K", 256, 176), Q6_K: ("Q6_K", 256, 210)}
SUPPORTED = list(TYPES)
TYPE_IDS = {v[0]: k for k, v in TYPES.items()}


def type_name(t):
    return TYPES[t][0] if t in TYPES else f"type{t}"


def block_size(t):
    return TYPES[t][1]


def type_size(t):
    return TYPES[t][2]


def nbytes(t, n_elements):
    bs, ts = TYPES[t][1], TYPES[t][2]
    assert n_elements % bs == 0, f"{n_elements} elements is not a whole number of {type_name(t)} blocks"
    return n_elements // bs * ts


def align_up(x, a):
    return x + (a - x % a) % a


# ---------------------------------------------------------------------------------------------
# encoding

def _enc_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _enc_value(vtype, value):
    if vtype == STRING:
        return _enc_string(value)
    if vtype == ARRAY:
        etype, items = value
        out = [struct.pack("<IQ", etype, len(items))]
        for it in items:
            out.append(_enc_value(etype, it))
        return b"".join(out)
    if vtype == BOOL:
        return struct.pack("<B", int(value))
    if vtype in _SCALAR_FMT:
        return struct.pack(_SCALAR_FMT[vtype], value)
    raise ValueError(f"unknown metadata value type {vtype}")


def encode_kv(key, vtype, value):
    """One KV record (key string, uint32 type, value)."""
    return _enc_string(key) + struct.pack("<I", vtype) + _enc_value(vtype, value)


def encode_tensor_info(name, ne, ggml_type, offset):
    """One tensor-info record; ne in GGUF order (ne[0] innermost)."""
    return _enc_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", int(n)) for n in ne) + \
        struct.pack("<IQ", ggml_type, offset)


def build_gguf(kvs, infos, blobs, version=3, alignment=32, tensor_count=None, kv_count=None, magic=b"GGUF"):
    """Low-level assembly, for good and deliberately broken files.
    kvs: list of (key, type, value) written in order (duplicates allowed; type None: value is the
    raw bytes following the key);
    infos: list of (name, ne_gguf_order, ggml_type, offset or None) -- None = next aligned slot;
    blobs: raw data per tensor info (same length as infos; bytes placed at their offsets).
    Returns (file bytes, layout dict with byte positions of the parts)."""
    head = magic + struct.pack("<I", version)
    head += struct.pack("<QQ", len(infos) if tensor_count is None else tensor_count,
                        len(kvs) if kv_count is None else kv_count)
    # a record with type None is (key, None, raw bytes of type id + value): for broken files
    kv_bytes = b"".join(encode_kv(k, t, v) if t is not None else _enc_string(k) + bytes(v) for k, t, v in kvs)
    offsets, pos = [], 0
    for (name, ne, t, off), blob in zip(infos, blobs):
        if off is None:
            off = pos
        offsets.append(off)
        if off + len(blob) <= (1 << 32):
            pos = max(pos, align_up(off + len(blob), alignment))
    info_bytes = [encode_tensor_info(name, ne, t, off) for (name, ne, t, _), off in zip(infos, offsets)]
    meta_end = len(head) + len(kv_bytes)
    infos_end = meta_end + sum(len(b) for b in info_bytes)
    data_start = align_up(infos_end, alignment) if infos else infos_end
    # a blob whose declared offset is absurd (broken-file tests) is simply not written
    placed = [(o, b) for o, b in zip(offsets, blobs) if o + len(b) <= (1 << 32)]
    data = bytearray(max([o + len(b) for o, b in placed], default=0))
    for o, b in placed:
        data[o:o + len(b)] = b
    # the reference writer pads the last tensor to the alignment as well
    data += bytes(align_up(len(data), alignment) - len(data))
    out = head + kv_bytes + b"".join(info_bytes) + bytes(data_start - infos_end) + bytes(data)
    layout = dict(kv_start=len(head), infos_start=meta_end, infos_end=infos_end, data_start=data_start,
                  offsets=offsets, info_starts=[meta_end + sum(len(b) for b in info_bytes[:i])
                                                for i in range(len(info_bytes))])
    return out, layout


def write_gguf(path, arch, metadata, tensors, version=3, alignment=32):
    """metadata: dict key -> (type_id, value) (general.architecture is written first from `arch`
    unless given); tensors: list of (name, ggml_type, shape in PyTorch order, raw bytes).
    Writes general.alignment (UINT32) when alignment != 32. Returns the layout dict."""
    kvs = []
    if "general.architecture" not in metadata:
        kvs.append(("general.architecture", STRING, arch))
    if alignment != 32 and "general.alignment" not in metadata:
        kvs.append(("general.alignment", UINT32, alignment))
    kvs += [(k, t, v) for k, (t, v) in metadata.items()]
    infos, blobs = [], []
    for name, t, shape, raw in tensors:
        ne = list(reversed([int(s) for s in shape]))
        n = int(np.prod(ne)) if ne else 1
        if t in TYPES:
            assert len(raw) == nbytes(t, n), f"{name}: {len(raw)} bytes for {n} elements of {type_name(t)}"
        infos.append((name, ne, t, None))
        blobs.append(bytes(raw))
    data, layout = build_gguf(kvs, infos, blobs, version=version, alignment=alignment)
    with open(path, "wb") as f:
        f.write(data)
    return layout


# ---------------------------------------------------------------------------------------------
# reading

class GGUFError(Exception):
    pass


class _Cursor:
    def __init__(self, data, pos):
        self.data, self.pos = data, pos

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise GGUFError(f"{what} at byte {self.pos} runs past the end of the file ({len(self.data)} bytes)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what):
        n = self.unpack("<Q", what + " length")
        b = self.take(n, what)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return bytes(b)


def _read_value(c, vtype, what):
    if vtype == STRING:
        return c.string(what)
    if vtype == ARRAY:
        etype = c.unpack("<I", what + " array type")
        count = c.unpack("<Q", what + " array count")
        if etype == ARRAY or etype > FLOAT64:
            raise GGUFError(f"{what}: bad array element type {etype}")
        if etype in _SCALAR_FMT and etype != BOOL:
            fmt = _SCALAR_FMT[etype]
            size = struct.calcsize(fmt)
            raw = c.take(count * size, what + " array")
            return etype, list(np.frombuffer(raw, dtype=np.dtype(fmt)).tolist())
        return etype, [_read_value(c, etype, what) for _ in range(count)]
    if vtype == BOOL:
        v = c.unpack("<B", what)
        if v > 1:
            raise GGUFError(f"{what}: bool value {v}")
        return bool(v)
    if vtype in _SCALAR_FMT:
        return c.unpack(_SCALAR_FMT[vtype], what)
    raise GGUFError(f"{what}: unknown value type {vtype}")


class GGUFFile:
    """Result of read_gguf. Unpacks as (version, metadata, tensors):
    metadata: dict key -> (type_id, value) (arrays: (ARRAY, (elem_type, list)));
    tensors: list of dicts name, n_dims, ne (GGUF order), type, offset, shape (PyTorch order),
    nbytes (None for unknown types); data_start, alignment; raw(name) gives a tensor's bytes."""

    def __init__(self, data, version, metadata, tensors, data_start, alignment, kv_order):
        self.data, self.version, self.metadata, self.tensors = data, version, metadata, tensors
        self.data_start, self.alignment, self.kv_order = data_start, alignment, kv_order
        self.by_name = {t["name"]: t for t in tensors}

    def __iter__(self):
        return iter((self.version, self.metadata, self.tensors))

    def value(self, key, default=None):
        return self.metadata[key][1] if key in self.metadata else default

    def raw(self, name):
        t = self.by_name[name]
        start = self.data_start + t["offset"]
        return self.data[start:start + t["nbytes"]]

    def tensor(self, name):
        """Dequantized float32 array in PyTorch shape."""
        t = self.by_name[name]
        return dequantize(t["type"], self.raw(name), t["n_elements"]).reshape(t["shape"])

    def layout_problems(self):
        """Departures from the exact layout gguf.cpp's reader checks (each tensor at the previous
        offset + align_up(nbytes), in info order, the data ending at the file end or its padding)."""
        problems, expect = [], 0
        for t in self.tensors:
            if t["offset"] != expect:
                problems.append(f"{t['name']}: offset {t['offset']}, gguf.cpp expects {expect}")
            expect = t["offset"] + align_up(t["nbytes"] or 0, self.alignment)
        end = len(self.data) - self.data_start
        if self.tensors and not (expect - self.alignment < end <= expect):
            problems.append(f"data section is {end} bytes, tensors need {expect}")
        return problems


def read_gguf(path_or_bytes, strict=True):
    """Parse a GGUF v2/v3 file. strict: reject what gguf.cpp rejects (duplicate keys/names,
    bad alignment, misaligned or out-of-range offsets, unknown types, ne[0] not a whole
    number of blocks)."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    c = _Cursor(data, 0)
    if c.take(4, "magic") != b"GGUF":
        raise GGUFError("bad magic")
    version = c.unpack("<I", "version")
    if version not in (2, 3):
        raise GGUFError(f"unsupported version {version}")
    n_tensors = c.unpack("<Q", "tensor_count")
    n_kv = c.unpack("<Q", "metadata_kv_count")
    if n_tensors > len(data) or n_kv > len(data):
        raise GGUFError(f"counts {n_tensors}/{n_kv} larger than the file")
    metadata, order = {}, []
    for i in range(n_kv):
        key = c.string(f"key {i}")
        vtype = c.unpack("<I", f"type of {key}")
        value = _read_value(c, vtype, key)
        if strict and key in metadata:
            raise GGUFError(f"duplicate key {key}")
        metadata[key] = (vtype, value)
        order.append(key)
    alignment = 32
    if "general.alignment" in metadata:
        t, a = metadata["general.alignment"]
        if strict and (t != UINT32 or a <= 0 or a & (a - 1)):
            raise GGUFError(f"bad general.alignment {metadata['general.alignment']}")
        alignment = a
    tensors = []
    for i in range(n_tensors):
        name = c.string(f"tensor {i} name")
        n_dims = c.unpack("<I", f"{name} n_dims")
        if n_dims > 4:
            raise GGUFError(f"{name}: n_dims {n_dims}")
        ne = [c.unpack("<Q", f"{name} ne") for _ in range(n_dims)]
        ttype = c.unpack("<I", f"{name} type")
        offset = c.unpack("<Q", f"{name} offset")
        n = int(np.prod(ne, dtype=object)) if ne else 1
        nb = None
        if ttype in TYPES:
            if ne and ne[0] % block_size(ttype):
                if strict:
                    raise GGUFError(f"{name}: ne[0]={ne[0]} not a multiple of {block_size(ttype)}")
            else:
                nb = nbytes(ttype, n)
        elif strict:
            raise GGUFError(f"{name}: unsupported type {ttype}")
        tensors.append(dict(name=name, n_dims=n_dims, ne=ne, type=ttype, offset=offset, n_elements=n, nbytes=nb,
                            shape=list(reversed(ne))))
    data_start = align_up(c.pos, alignment) if tensors else c.pos
    if strict:
        names = [t["name"] for t in tensors]
        if len(set(names)) != len(names):
            raise GGUFError("duplicate tensor names")
        for t in tensors:
            if t["offset"] % alignment:
                raise GGUFError(f"{t['name']}: offset {t['offset']} not a multiple of {alignment}")
            if data_start + t["offset"] + (t["nbytes"] or 0) > len(data):
                raise GGUFError(f"{t['name']}: data past the end of the file")
        if tensors and any(data[c.pos:data_start]):
            raise GGUFError("padding before the data is not zero")
    return GGUFFile(data, version, metadata, tensors, data_start, alignment, order)


# ---------------------------------------------------------------------------------------------
# fp16 / bf16 helpers

def f16_bits_to_f32(bits):
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def f32_to_f16_bits(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint16)


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x):
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = np.isnan(np.ascontiguousarray(x, dtype=np.float32))
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(nan, ((bits >> 16) | 64).astype(np.uint16), rounded)


# ---------------------------------------------------------------------------------------------
# dequantization (FORMATS 2), float32 throughout

def _blocks(raw, t, n_elements):
    bs, ts = TYPES[t][1], TYPES[t][2]
    nblk = n_elements // bs
    assert n_elements % bs == 0 and len(raw) >= nblk * ts, f"{type_name(t)}: {len(raw)} bytes for {n_elements}"
    return np.frombuffer(bytes(raw[:nblk * ts]), dtype=np.uint8).reshape(nblk, ts)


def _f16(col2):
    """fp16 from a [nblk, 2] uint8 array -> float32 [nblk, 1]."""
    bits = col2[:, 0].astype(np.uint16) | (col2[:, 1].astype(np.uint16) << 8)
    return f16_bits_to_f32(bits)[:, None]


def _nibbles(qs):
    """qs [nblk, 16] -> [nblk, 32]: low nibbles are elements 0..15, high nibbles 16..31."""
    return np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int32)


def _fifth_bit(qh4):
    h = (qh4[:, 0].astype(np.uint32) | (qh4[:, 1].astype(np.uint32) << 8) | (qh4[:, 2].astype(np.uint32) << 16) |
         (qh4[:, 3].astype(np.uint32) << 24))
    return ((h[:, None] >> np.arange(32, dtype=np.uint32)[None, :]) & 1).astype(np.int32)


def _kscales(s):
    """12 packed bytes [nblk, 12] -> (sc, mn) [nblk, 8] ints (FORMATS 2.3)."""
    s = s.astype(np.int32)
    sc = np.zeros((s.shape[0], 8), np.int32)
    mn = np.zeros((s.shape[0], 8), np.int32)
    for j in range(4):
        sc[:, j] = s[:, j] & 63
        mn[:, j] = s[:, j + 4] & 63
    for j in range(4, 8):
        sc[:, j] = (s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4)
        mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, mn


def dequantize(t, raw, n_elements):
    """raw bytes of a tensor of ggml type t -> float32 array of n_elements."""
    f32 = np.float32
    if t == F32:
        return np.frombuffer(bytes(raw[:4 * n_elements]), dtype="<f4").astype(f32).copy()
    if t == F16:
        return np.frombuffer(bytes(raw[:2 * n_elements]), dtype="<f2").astype(f32)
    if t == BF16:
        return bf16_bits_to_f32(np.frombuffer(bytes(raw[:2 * n_elements]), dtype="<u2"))
    b = _blocks(raw, t, n_elements)
    if t == Q8_0:
        d = _f16(b[:, 0:2])
        q = b[:, 2:34].view(np.int8).astype(f32)
        y = d * q
    elif t == Q4_0:
        d = _f16(b[:, 0:2])
        y = d * (_nibbles(b[:, 2:18]) - 8).astype(f32)
    elif t == Q4_1:
        d, m = _f16(b[:, 0:2]), _f16(b[:, 2:4])
        y = d * _nibbles(b[:, 4:20]).astype(f32) + m
    elif t == Q5_0:
        d = _f16(b[:, 0:2])
        q = _nibbles(b[:, 6:22]) | (_fifth_bit(b[:, 2:6]) << 4)
        y = d * (q - 16).astype(f32)
    elif t == Q5_1:
        d, m = _f16(b[:, 0:2]), _f16(b[:, 2:4])
        q = _nibbles(b[:, 8:24]) | (_fifth_bit(b[:, 4:8]) << 4)
        y = d * q.astype(f32) + m
    elif t in (Q4_K, Q5_K):
        d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
        sc, mn = _kscales(b[:, 4:16])
        if t == Q4_K:
            qs, qh = b[:, 16:144], None
        else:
            qh, qs = b[:, 16:48].astype(np.int32), b[:, 48:176]
        q = np.zeros((b.shape[0], 8, 32), np.int32)
        for c in range(4):
            grp = qs[:, 32 * c:32 * c + 32].astype(np.int32)
            q[:, 2 * c] = grp & 0xF
            q[:, 2 * c + 1] = grp >> 4
            if qh is not None:
                q[:, 2 * c] |= ((qh >> (2 * c)) & 1) << 4
                q[:, 2 * c + 1] |= ((qh >> (2 * c + 1)) & 1) << 4
        d1 = (d * sc.astype(f32))[:, :, None]        # float32 products, rounded once
        m1 = (dmin * mn.astype(f32))[:, :, None]
        y = d1 * q.astype(f32) - m1
    elif t == Q6_K:
        ql, qh = b[:, 0:128].astype(np.int32), b[:, 128:192].astype(np.int32)
        sc = b[:, 192:208].view(np.int8).astype(np.int32)
        d = _f16(b[:, 208:210])
        y = np.zeros((b.shape[0], 256), f32)
        for n in range(2):
            L, H = ql[:, 64 * n:64 * n + 64], qh[:, 32 * n:32 * n + 32]
            S = sc[:, 8 * n:8 * n + 8]
            for l in range(32):
                i = l // 16
                parts = [(l, L[:, l] & 0xF, (H[:, l] >> 0) & 3, S[:, i + 0]),
                         (l + 32, L[:, l + 32] & 0xF, (H[:, l] >> 2) & 3, S[:, i + 2]),
                         (l + 64, L[:, l] >> 4, (H[:, l] >> 4) & 3, S[:, i + 4]),
                         (l + 96, L[:, l + 32] >> 4, (H[:, l] >> 6) & 3, S[:, i + 6])]
                for pos, lo, hi, s in parts:
                    q = (lo | (hi << 4)) - 32
                    y[:, 128 * n + pos] = (d[:, 0] * s.astype(f32)) * q.astype(f32)
    else:
        raise ValueError(f"dequantize: unsupported type {t}")
    return np.ascontiguousarray(y, dtype=f32).reshape(-1)


# ---------------------------------------------------------------------------------------------
# random valid data, and the one quantizer the tests need (Q8_0, as ggml's reference)

def _rand_scale(rng, n, lo=1e-3, hi=1e-1, signed=True):
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    if signed:
        mag *= rng.choice([-1.0, 1.0], n)
    return f32_to_f16_bits(mag.astype(np.float32))


def quantize_random_blocks(t, n_elements, rng):
    """Random but valid raw bytes for n_elements of type t (fp16 scales finite, |d| in [1e-3, 1e-1])."""
    if t == F32:
        return rng.normal(0, 0.05, n_elements).astype("<f4").tobytes()
    if t == F16:
        return rng.normal(0, 0.05, n_elements).astype("<f2").tobytes()
    if t == BF16:
        return f32_to_bf16_bits(rng.normal(0, 0.05, n_elements).astype(np.float32)).astype("<u2").tobytes()
    bs, ts = TYPES[t][1], TYPES[t][2]
    assert n_elements % bs == 0
    nblk = n_elements // bs
    b = rng.integers(0, 256, (nblk, ts), dtype=np.uint8)

    def put16(col, bits):
        b[:, col] = (bits & 0xFF).astype(np.uint8)
        b[:, col + 1] = (bits >> 8).astype(np.uint8)

    if t in (Q8_0, Q4_0, Q5_0):
        put16(0, _rand_scale(rng, nblk))
    elif t in (Q4_1, Q5_1):
        put16(0, _rand_scale(rng, nblk))
        put16(2, _rand_scale(rng, nblk))
    elif t in (Q4_K, Q5_K):
        put16(0, _rand_scale(rng, nblk, 1e-4, 1e-2, signed=False))
        put16(2, _rand_scale(rng, nblk, 1e-4, 1e-2, signed=False))
    elif t == Q6_K:
        put16(208, _rand_scale(rng, nblk, 1e-4, 1e-2, signed=False))
    return b.tobytes()


def _round_half_away(v):
    v = np.asarray(v, dtype=np.float64)  # exact: v is a float32 value
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize_q8_0(x):
    """ggml's reference Q8_0: per 32 values amax, d = amax/127, id = 1/d (0 if d == 0),
    q = round-half-away(x*id), d stored as fp16 of the float32 d. float32 arithmetic."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = _round_half_away((x * idv[:, None]).astype(np.float32)).astype(np.int8)
    out = np.zeros((x.shape[0], 34), np.uint8)
    dbits = f32_to_f16_bits(d)
    out[:, 0] = dbits & 0xFF
    out[:, 1] = dbits >> 8
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


# ---------------------------------------------------------------------------------------------
# llama Q/K row permutation (FORMATS 3.2): gguf_row[h*D + 2*i + j] = hf_row[h*D + j*(D/2) + i]

def permute_qk_to_gguf(w, n_head):
    w = np.asarray(w)
    D = w.shape[0] // n_head
    assert D * n_head == w.shape[0] and D % 2 == 0
    rest = w.shape[1:]
    return w.reshape(n_head, 2, D // 2, *rest).swapaxes(1, 2).reshape(w.shape)


def permute_qk_to_hf(w, n_head):
    w = np.asarray(w)
    D = w.shape[0] // n_head
    assert D * n_head == w.shape[0] and D % 2 == 0
    rest = w.shape[1:]
    return w.reshape(n_head, D // 2, 2, *rest).swapaxes(1, 2).reshape(w.shape)


def permute_rows_raw(raw, n_rows, n_head, to_gguf=True):
    """Move whole rows of a (possibly quantized) tensor's bytes: the permutation without dequantizing."""
    rows = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(n_rows, -1)
    idx = np.arange(n_rows)
    src = permute_qk_to_gguf(idx, n_head) if to_gguf else permute_qk_to_hf(idx, n_head)
    return rows[src].tobytes()


# ---------------------------------------------------------------------------------------------
# names (FORMATS 1.6)

def hf_to_gguf_name(hf):
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if hf in fixed:
        return fixed[hf]
    parts = hf.split(".")
    assert parts[0] == "model" and parts[1] == "layers", hf
    n, rest = parts[2], ".".join(parts[3:])
    sub = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
           "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
           "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
           "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
           "self_attn.o_proj.weight": "attn_output.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
           "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}[rest]
    return f"blk.{n}.{sub}"


def gguf_to_hf_name(g):
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    if g in fixed:
        return fixed[g]
    parts = g.split(".")
    assert parts[0] == "blk", g
    n, rest = parts[1], ".".join(parts[2:])
    sub = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
           "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
           "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
           "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
           "attn_output.weight": "self_attn.o_proj.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
           "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight"}[rest]
    return f"model.layers.{n}.{sub}"
