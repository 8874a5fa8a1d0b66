#!/usr/bin/python3
"""PyTorch peer of recur's benchmark suite (bench/_suite.js starts it; not a workload itself).

Speaks JSON lines on stdin/stdout, one request -> one reply:
  {"op": "info"}                                   -> torch version, threads, CPU capability
  {"op": "load", "path": f}                        -> reads a .safetensors file (F32) written by recur
  {"op": "prepare", "id", "kind", "cell", "I", "H", "T", "B", "prefix", "lr"?}
                                                   -> builds the module from prefix + PyTorch names
  {"op": "check", "id", "path"}                    -> computes the case once from its initial state
                                                      and writes the results as .safetensors
  {"op": "time", "id", "ms", "min", "warmup"}      -> {"samples": [ms, ...]}, one per call
  {"op": "drop", "id"}
Weights and inputs come from recur (writeSafetensors), so every engine computes from the same
numbers. Single thread: torch.set_num_threads(1), set_num_interop_threads(1). No pip packages:
the safetensors reader/writer is below.
"""
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.manual_seed(0)

tensors = {}
cases = {}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {info['dtype']} (only F32)")
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b : base + e]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]) if info["shape"] else t.reshape(())
    return out


def write_safetensors(path, named):
    header = {}
    blobs = []
    offset = 0
    for name, t in named.items():
        t = t.detach().to(torch.float32).contiguous().reshape(-1)
        data = to_bytes_safe(t)
        header[name] = {"dtype": "F32", "shape": list(named[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for d in blobs:
            f.write(d)


def to_bytes_safe(t):
    # numpy may be missing on a minimal install: fall back to struct (slow, only used by "check").
    try:
        return t.numpy().tobytes()
    except Exception:  # noqa: BLE001
        return struct.pack(f"<{t.numel()}f", *t.tolist())


def make_rnn(cell, I, H, prefix):
    if cell == "LSTM":
        m = torch.nn.LSTM(I, H)
    elif cell == "GRU":
        m = torch.nn.GRU(I, H)
    else:
        m = torch.nn.RNN(I, H, nonlinearity="tanh")
    sd = {k: tensors[prefix + k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
    m.load_state_dict(sd)
    return m


class Case:
    def __init__(self, req):
        self.kind = req["kind"]
        self.cell = req["cell"]
        I, H, T, B = req["I"], req["H"], req["T"], req["B"]
        p = req["prefix"]
        self.H, self.B = H, B
        self.lstm = self.cell == "LSTM"
        if self.kind == "train":
            self.rnn = make_rnn(self.cell, I, H, p + "rnn.")
            self.head = torch.nn.Linear(H, req["classes"])
            self.head.load_state_dict({"weight": tensors[p + "head.weight"], "bias": tensors[p + "head.bias"]})
            self.x = tensors[p + "x"].reshape(T, B, I)
            self.target = tensors[p + "target"].to(torch.long)
            self.params = list(self.rnn.parameters()) + list(self.head.parameters())
            self.opt = torch.optim.SGD(self.params, lr=req["lr"])
        else:
            self.rnn = make_rnn(self.cell, I, H, p)
            self.x = tensors[p + "x"].reshape(T, B, I)
            self.reset()

    def reset(self):
        z = torch.zeros(1, self.B, self.H)
        self.state = (z, z.clone()) if self.lstm else z

    def forward_sequence(self):
        return self.rnn(self.x)

    def step(self):
        _, self.state = self.rnn(self.x, self.state)

    def loss(self):
        _, s = self.rnn(self.x)
        h = s[0] if self.lstm else s
        logits = self.head(h[-1])
        return F.cross_entropy(logits, self.target)

    def train_step(self):
        self.opt.zero_grad()
        loss = self.loss()
        loss.backward()
        self.opt.step()

    def fn(self):
        return {"sequence": self.forward_sequence, "step": self.step, "train": self.train_step}[self.kind]

    def check(self, path):
        out = {}
        if self.kind == "sequence":
            with torch.inference_mode():
                y, s = self.rnn(self.x)
            out["y"] = y
            out["h"] = s[0] if self.lstm else s
            if self.lstm:
                out["c"] = s[1]
        elif self.kind == "step":
            self.reset()
            with torch.inference_mode():
                for _ in range(10):
                    self.step()
            out["h"] = self.state[0] if self.lstm else self.state
            if self.lstm:
                out["c"] = self.state[1]
            self.reset()
        else:
            for p in self.params:
                p.grad = None
            loss = self.loss()
            loss.backward()
            out["loss"] = loss.detach().reshape(1)
            prefix = {"LSTM": "lstm.", "GRU": "gru.", "RNN": "rnn."}[self.cell]
            for k, v in self.rnn.named_parameters():
                out[prefix + k] = v.grad
            for k, v in self.head.named_parameters():
                out["head." + k] = v.grad
            for p in self.params:
                p.grad = None
        write_safetensors(path, {k: v.detach() for k, v in out.items()})

    def time(self, ms, min_iters, warmup):
        fn = self.fn()
        ctx = torch.inference_mode() if self.kind != "train" else torch.enable_grad()
        with ctx:
            if warmup:
                end = time.perf_counter() + 0.2
                n = 0
                while n < 3 or time.perf_counter() < end:
                    fn()
                    n += 1
            samples = []
            start = time.perf_counter()
            while len(samples) < min_iters or (time.perf_counter() - start) * 1000 < ms:
                t0 = time.perf_counter_ns()
                fn()
                samples.append((time.perf_counter_ns() - t0) / 1e6)
        return samples


def blas_library():
    """The BLAS this process actually loaded (Debian picks it with update-alternatives)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if ".so" in line}
    except OSError:
        return "?"
    import os

    for lib in sorted(libs):
        name = os.path.basename(lib)
        if "openblas" in name or "mkl_core" in name or "blis" in name:
            return os.path.realpath(lib)
    for lib in sorted(libs):
        if os.path.basename(lib).startswith("libblas.so"):
            real = os.path.realpath(lib)
            return real + (" (reference BLAS: slow; apt-get install libopenblas0-pthread)" if "openblas" not in real else "")
    return "none found"


def handle(req):
    op = req["op"]
    if op == "info":
        cap = ""
        try:
            cap = torch.backends.cpu.get_cpu_capability()
        except Exception:  # noqa: BLE001
            pass
        return {"torch": torch.__version__, "threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads(), "capability": cap, "mkldnn": torch.backends.mkldnn.is_available(), "python": sys.version.split()[0], "blas": blas_library()}
    if op == "load":
        tensors.update(read_safetensors(req["path"]))
        return {"count": len(tensors)}
    if op == "prepare":
        cases[req["id"]] = Case(req)
        return {}
    if op == "check":
        cases[req["id"]].check(req["path"])
        return {}
    if op == "time":
        return {"samples": cases[req["id"]].time(req["ms"], req["min"], req.get("warmup", False))}
    if op == "drop":
        cases.pop(req["id"], None)
        return {}
    raise ValueError(f"unknown op {op}")


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = {"ok": True, **handle(json.loads(line))}
        except Exception as e:  # noqa: BLE001
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
