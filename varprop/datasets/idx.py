"""The IDX format (LeCun's MNIST files), plain or gzip-compressed, with header validation.

Layout: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32
sizes, then the values in C order, big-endian. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .cache import DataCorrupt, atomic_path

TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
         0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("="): code for code, dt in TYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"


def decompress(data: bytes, name="<bytes>") -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic."""
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataCorrupt(f"{name}: corrupt gzip stream ({exc})") from None


def parse_idx(data: bytes, name="<bytes>") -> np.ndarray:
    """An IDX file's (uncompressed) bytes -> array in native byte order."""
    if len(data) < 4:
        raise DataCorrupt(f"{name}: not an IDX file (only {len(data)} bytes)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or code not in TYPES or ndim == 0:
        raise DataCorrupt(f"{name}: bad IDX magic {data[:4].hex()} (expected 0000 then a type "
                          f"code among {', '.join(f'{c:02x}' for c in TYPES)} and d >= 1)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataCorrupt(f"{name}: truncated IDX header ({len(data)} of {header} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise DataCorrupt(f"{name}: truncated: header says {'x'.join(map(str, shape))} "
                          f"({expected} bytes of data), file has {found}")
    if found > expected:
        raise DataCorrupt(f"{name}: {found - expected} unexpected bytes after the "
                          f"{'x'.join(map(str, shape))} data")
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def read_idx(path) -> np.ndarray:
    """Read an IDX file, plain or gzip (detected from its first bytes)."""
    path = Path(path)
    return parse_idx(decompress(path.read_bytes(), path.name), path.name)


def encode_idx(array) -> bytes:
    """An array's IDX bytes (types: uint8, int8, int16, int32, float32, float64)."""
    a = np.asarray(array)
    code = _CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot hold dtype {a.dtype}; use one of "
                         f"{', '.join(str(t.newbyteorder('=')) for t in TYPES.values())}")
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {a.ndim}")
    head = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + np.ascontiguousarray(a, dtype=TYPES[code]).tobytes()


def write_idx(path, array, compress=False) -> None:
    """Write an IDX file (gzip-compressed with ``compress``), atomically."""
    data = encode_idx(array)
    if compress:
        data = gzip.compress(data, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
