"""Writing recur's reference data (scripts/fixtures.py): tensors as {"shape", "data"} with float32
values in their shortest decimal form, and the per-case seeds."""
import json
import math
import os
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------
# Writing: tensors as {"shape", "data"} with float32 values in their shortest decimal form
# ---------------------------------------------------------------------------------------------


class F32:
    """A tensor stored as float32: each value written as the shortest decimal that reads back."""

    def __init__(self, array):
        self.array = np.asarray(array, dtype=np.float32)


class F64:
    """A tensor of float64 values (the ESN data)."""

    def __init__(self, array):
        self.array = np.asarray(array, dtype=np.float64)


def _num32(v):
    s = str(v)  # numpy prints a float32 scalar as its shortest round-trip decimal
    return s[:-2] if s.endswith(".0") else s


def _num64(v):
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def _encode(o, depth=0):
    if isinstance(o, (F32, F64)):
        num = _num32 if isinstance(o, F32) else _num64
        return '{"shape":%s,"data":[%s]}' % (json.dumps(list(o.array.shape)), ",".join(num(v) for v in o.array.ravel()))
    if isinstance(o, dict):
        sep = ",\n" if depth == 0 else ","
        body = sep.join(json.dumps(str(k)) + ":" + _encode(v, depth + 1) for k, v in o.items())
        return "{\n" + body + "\n}" if depth == 0 else "{" + body + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(_encode(v, depth + 1) for v in o) + "]"
    if isinstance(o, (float, np.floating)):
        if not math.isfinite(o):
            raise ValueError("non-finite number in a fixture")
        return _num64(o)
    if isinstance(o, (np.integer,)):
        return str(int(o))
    return json.dumps(o)


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(_encode(obj) + "\n")


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF
