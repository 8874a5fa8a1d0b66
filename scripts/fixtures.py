#!/usr/bin/python3
"""Generates recur's reference data: test/fixtures/torch (PyTorch) and test/fixtures/esn (NumPy).

The test suite reads only these committed files; this script is how they were made and how to
make them again. The format is the one `recur parity` reads, documented in docs/parity.md.

  torch/<module>_<variant>.json   forward and backward of torch.nn.RNN / LSTM / GRU: outputs,
                                  final states, and the gradients of a random linear loss with
                                  respect to every parameter, the input and the initial states
  torch/traj_<model>_<opt>.json   20 training steps of a tiny model (BPTT, cross-entropy,
                                  gradient-norm clipping, an optimizer): every loss, gradient
                                  norm, and the parameters after the first and the last step
  esn/*.json                      Mackey-Glass and NARMA10 series, a 50-unit echo state network
                                  with given weights and its exact states and readouts, and
                                  statistics of a plain leaky ESN over ten reservoirs

How the references are computed: inputs and parameters are drawn in float32; the forward and
backward passes (and the training runs) are then computed in float64 on exactly those values
and rounded to float32 when stored. The same computation in PyTorch's float32 is recorded as
`float32_vs_float64`, which is what a float32 implementation can be expected to reach.

Needs Debian's python3-torch (PyTorch 1.13) and python3-numpy:

  apt-get install python3-torch python3-numpy
  /usr/bin/python3 scripts/fixtures.py            # writes both sets
  /usr/bin/python3 scripts/fixtures.py torch      # or one of them
  /usr/bin/python3 scripts/fixtures.py esn --out /tmp/fixtures

Every case has its own seed (from its name), so the output is the same on every run on a given
machine; another BLAS may change the last bit of a few float64 results before rounding.
"""
import argparse
import json
import math
import os
import sys
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


# ---------------------------------------------------------------------------------------------
# PyTorch forward/backward cases
# ---------------------------------------------------------------------------------------------

# (name, module, config, T, B, lengths). Config keys are torch.nn's; omitted ones take the
# defaults below. Lengths are per batch element, unsorted (pack_padded_sequence sorts them).
CASES = [
    ("rnn_tanh_i1_h1_t1_b1", "RNN", dict(input_size=1, hidden_size=1), 1, 1, None),
    ("rnn_tanh_i5_h3_t7_b4", "RNN", dict(input_size=5, hidden_size=3), 7, 4, None),
    ("rnn_tanh_i32_h16_t40_b4", "RNN", dict(input_size=32, hidden_size=16), 40, 4, None),
    ("rnn_tanh_i32_h64_t7_b1", "RNN", dict(input_size=32, hidden_size=64), 7, 1, None),
    ("rnn_relu_i5_h16_t7_b4", "RNN", dict(input_size=5, hidden_size=16, nonlinearity="relu"), 7, 4, None),
    ("rnn_tanh_l2_i5_h16_t7_b4", "RNN", dict(input_size=5, hidden_size=16, num_layers=2), 7, 4, None),
    ("rnn_tanh_bidir_i5_h16_t7_b4", "RNN", dict(input_size=5, hidden_size=16, bidirectional=True), 7, 4, None),
    ("rnn_tanh_batchfirst_i5_h3_t7_b4", "RNN", dict(input_size=5, hidden_size=3, batch_first=True), 7, 4, None),
    ("rnn_tanh_nobias_i5_h16_t7_b4", "RNN", dict(input_size=5, hidden_size=16, bias=False), 7, 4, None),
    ("rnn_tanh_long_i5_h16_t200_b2", "RNN", dict(input_size=5, hidden_size=16), 200, 2, None),
    ("rnn_tanh_packed_i5_h16_t7_b4", "RNN", dict(input_size=5, hidden_size=16), 7, 4, [5, 7, 1, 3]),
    ("rnn_relu_packed_bidir_l2_i4_h8_t6_b3", "RNN", dict(input_size=4, hidden_size=8, nonlinearity="relu", num_layers=2, bidirectional=True), 6, 3, [4, 6, 2]),
    ("lstm_i1_h1_t1_b1", "LSTM", dict(input_size=1, hidden_size=1), 1, 1, None),
    ("lstm_i5_h3_t7_b4", "LSTM", dict(input_size=5, hidden_size=3), 7, 4, None),
    ("lstm_i32_h16_t40_b4", "LSTM", dict(input_size=32, hidden_size=16), 40, 4, None),
    ("lstm_i32_h64_t7_b1", "LSTM", dict(input_size=32, hidden_size=64), 7, 1, None),
    ("lstm_l2_i5_h16_t7_b4", "LSTM", dict(input_size=5, hidden_size=16, num_layers=2), 7, 4, None),
    ("lstm_bidir_i5_h16_t7_b4", "LSTM", dict(input_size=5, hidden_size=16, bidirectional=True), 7, 4, None),
    ("lstm_batchfirst_i5_h16_t7_b4", "LSTM", dict(input_size=5, hidden_size=16, batch_first=True), 7, 4, None),
    ("lstm_nobias_i5_h16_t7_b4", "LSTM", dict(input_size=5, hidden_size=16, bias=False), 7, 4, None),
    ("lstm_proj_i5_h16_p8_t7_b4", "LSTM", dict(input_size=5, hidden_size=16, proj_size=8), 7, 4, None),
    ("lstm_proj_l2_batchfirst_i5_h16_p8_t7_b4", "LSTM", dict(input_size=5, hidden_size=16, proj_size=8, num_layers=2, batch_first=True), 7, 4, None),
    ("lstm_long_i5_h16_t200_b2", "LSTM", dict(input_size=5, hidden_size=16), 200, 2, None),
    ("lstm_packed_i5_h16_t7_b4", "LSTM", dict(input_size=5, hidden_size=16), 7, 4, [7, 3, 6, 1]),
    ("lstm_packed_bidir_proj_i5_h12_p6_t7_b3", "LSTM", dict(input_size=5, hidden_size=12, proj_size=6, bidirectional=True), 7, 3, [3, 7, 5]),
    ("gru_i1_h1_t1_b1", "GRU", dict(input_size=1, hidden_size=1), 1, 1, None),
    ("gru_i5_h3_t7_b4", "GRU", dict(input_size=5, hidden_size=3), 7, 4, None),
    ("gru_i32_h16_t40_b4", "GRU", dict(input_size=32, hidden_size=16), 40, 4, None),
    ("gru_i32_h64_t40_b4", "GRU", dict(input_size=32, hidden_size=64), 40, 4, None),
    ("gru_l2_i5_h16_t7_b4", "GRU", dict(input_size=5, hidden_size=16, num_layers=2), 7, 4, None),
    ("gru_bidir_i5_h16_t7_b4", "GRU", dict(input_size=5, hidden_size=16, bidirectional=True), 7, 4, None),
    ("gru_batchfirst_i5_h16_t7_b4", "GRU", dict(input_size=5, hidden_size=16, batch_first=True), 7, 4, None),
    ("gru_nobias_i5_h16_t7_b4", "GRU", dict(input_size=5, hidden_size=16, bias=False), 7, 4, None),
    ("gru_long_i5_h16_t200_b2", "GRU", dict(input_size=5, hidden_size=16), 200, 2, None),
    ("gru_packed_i5_h16_t7_b4", "GRU", dict(input_size=5, hidden_size=16), 7, 4, [2, 7, 7, 4]),
    ("gru_packed_bidir_batchfirst_l2_i4_h8_t6_b3", "GRU", dict(input_size=4, hidden_size=8, num_layers=2, bidirectional=True, batch_first=True), 6, 3, [6, 1, 4]),
]


def full_config(module, cfg):
    out = dict(num_layers=1, bias=True, batch_first=False, bidirectional=False)
    out.update(cfg)
    if module == "RNN":
        out.setdefault("nonlinearity", "tanh")
    if module == "LSTM":
        out.setdefault("proj_size", 0)
    order = ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "bidirectional", "nonlinearity", "proj_size"]
    return {k: out[k] for k in order if k in out}


def deviation(got32, ref64):
    """How far a float32 result landed from the float64 reference (docs/parity.md)."""
    g = np.asarray(got32, dtype=np.float64)
    r = np.asarray(ref64, dtype=np.float64)
    d = np.abs(g - r)
    ref_max = float(np.max(np.abs(r))) if r.size else 0.0
    max_abs = float(np.max(d)) if d.size else 0.0
    return {
        "max_abs": max_abs,
        "ref_max_abs": ref_max,
        "max_abs_over_ref_max": max_abs / ref_max if ref_max > 0 else 0.0,
        "max_rel_floor1e-3": float(np.max(d / (np.abs(r) + 1e-3 * ref_max))) if ref_max > 0 else 0.0,
    }


def torch_case(torch, name, module, cfg, T, B, lengths):
    nn = torch.nn
    config = full_config(module, cfg)
    seed = seed_of(name)
    torch.manual_seed(seed)
    ctor = getattr(nn, module)
    proto = ctor(**config, dropout=0.0)  # PyTorch's default init, in float32
    params = {k: v.detach().clone() for k, v in proto.state_dict().items()}
    D = 2 if config["bidirectional"] else 1
    L = config["num_layers"]
    H = config["hidden_size"]
    H_out = config.get("proj_size") or H
    bf = config["batch_first"]
    in_shape = (B, T, config["input_size"]) if bf else (T, B, config["input_size"])
    out_shape = (B, T, D * H_out) if bf else (T, B, D * H_out)
    x = torch.randn(in_shape)
    h0 = 0.5 * torch.randn(L * D, B, H_out)
    c0 = 0.5 * torch.randn(L * D, B, H) if module == "LSTM" else None
    dout = torch.randn(out_shape)
    dh = torch.randn(L * D, B, H_out)
    dc = torch.randn(L * D, B, H) if module == "LSTM" else None
    if lengths is not None:
        for b, n in enumerate(lengths):
            if bf:
                dout[b, n:] = 0
            else:
                dout[n:, b] = 0

    def run(dtype):
        m = ctor(**config, dropout=0.0).to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in params.items()})
        xi = x.to(dtype).clone().requires_grad_()
        hi = h0.to(dtype).clone().requires_grad_()
        ci = c0.to(dtype).clone().requires_grad_() if c0 is not None else None
        state = (hi, ci) if module == "LSTM" else hi
        if lengths is None:
            out, fin = m(xi, state)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(xi, torch.tensor(lengths), batch_first=bf, enforce_sorted=False)
            out, fin = m(packed, state)
            out = nn.utils.rnn.pad_packed_sequence(out, batch_first=bf, total_length=T)[0]
        hn, cn = fin if module == "LSTM" else (fin, None)
        loss = (out * dout.to(dtype)).sum() + (hn * dh.to(dtype)).sum()
        if cn is not None:
            loss = loss + (cn * dc.to(dtype)).sum()
        loss.backward()
        grads = {k: p.grad.detach().clone() for k, p in m.named_parameters()}
        grads["input"] = xi.grad.detach().clone()
        grads["h0"] = hi.grad.detach().clone()
        if ci is not None:
            grads["c0"] = ci.grad.detach().clone()
        res = {"output": out.detach(), "h_n": hn.detach(), "loss_value": float(loss)}
        if cn is not None:
            res["c_n"] = cn.detach()
        return res, grads

    ref, ref_grads = run(torch.float64)
    f32, f32_grads = run(torch.float32)

    case = {"name": name, "module": module, "config": config, "seq_len": T, "batch": B}
    if lengths is not None:
        case["lengths"] = list(lengths)
        case["packed"] = "pack_padded_sequence(input, lengths, batch_first=config.batch_first, enforce_sorted=False); output = pad_packed_sequence(..., total_length=seq_len)[0] (zeros at padded positions)"
    case["params"] = {k: F32(v.numpy()) for k, v in params.items()}
    case["input"] = F32(x.numpy())
    case["h0"] = F32(h0.numpy())
    if c0 is not None:
        case["c0"] = F32(c0.numpy())
    case["output"] = F32(ref["output"].numpy())
    case["h_n"] = F32(ref["h_n"].numpy())
    if "c_n" in ref:
        case["c_n"] = F32(ref["c_n"].numpy())
    case["loss"] = "sum(output * dout) + sum(h_n * dh_n)" + (" + sum(c_n * dc_n)" if module == "LSTM" else "")
    case["loss_value"] = ref["loss_value"]
    case["dout"] = F32(dout.numpy())
    case["dh_n"] = F32(dh.numpy())
    if dc is not None:
        case["dc_n"] = F32(dc.numpy())
    case["grads"] = {k: F32(v.numpy()) for k, v in ref_grads.items()}
    dev = {k: deviation(f32[k].numpy(), ref[k].numpy()) for k in ("output", "h_n", "c_n") if k in ref}
    dev["loss_value"] = deviation([f32["loss_value"]], [ref["loss_value"]])
    for k in ref_grads:
        dev["grad:" + k] = deviation(f32_grads[k].numpy(), ref_grads[k].numpy())
    case["float32_vs_float64"] = dev
    case["meta"] = {
        "seed": seed,
        "torch_version": torch.__version__,
        "reference": "float64 forward/backward on the float32 inputs below, rounded to float32",
        "init": "PyTorch default uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size)); input, dout, dh_n, dc_n ~ N(0, 1); h0, c0 ~ 0.5 N(0, 1)",
        "generator": "scripts/fixtures.py",
    }
    return case, dev


# ---------------------------------------------------------------------------------------------
# PyTorch training trajectories
# ---------------------------------------------------------------------------------------------

STEPS = 20
CLIP = {
    "max_norm": 1.0,
    "norm_type": 2.0,
    "rule": "total = sqrt(sum over all params of sum(g^2)); g <- g * min(1, max_norm / (total + 1e-6)) (torch.nn.utils.clip_grad_norm_)",
}
# Every hyper-parameter under its PyTorch name, defaults stated explicitly.
OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False), "p <- p - lr*g"),
    "sgd_nesterov": (
        "SGD",
        dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=0.001, nesterov=True),
        "g <- g + weight_decay*p; b <- momentum*b + (1-dampening)*g (b = g at the first step); p <- p - lr*(g + momentum*b)",
    ),
    "adam": (
        "Adam",
        dict(lr=0.01, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0, amsgrad=False),
        "m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g^2 (m = v = 0 initially); t = step number from 1; p <- p - (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
    ),
    "adamw": (
        "AdamW",
        dict(lr=0.01, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.05, amsgrad=False),
        "p <- p*(1 - lr*weight_decay); then the Adam update",
    ),
    "adagrad": (
        "Adagrad",
        dict(lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10),
        "s <- s + g^2; p <- p - lr/(1+(t-1)*lr_decay) * g / (sqrt(s) + eps)",
    ),
    "rmsprop": (
        "RMSprop",
        dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
        "v <- alpha*v + (1-alpha)*g^2 (v = 0 initially); p <- p - lr * g / (sqrt(v) + eps)",
    ),
}
TRAJECTORIES = [
    ("char_lstm_lm", "sgd", True),
    ("char_lstm_lm", "adam", True),
    ("char_lstm_lm", "adagrad", False),
    ("char_lstm_lm", "adamw", True),
    ("gru_classifier", "sgd", True),
    ("gru_classifier", "rmsprop", False),
    ("gru_classifier", "sgd_nesterov", True),
]


def trajectory(torch, model_type, opt_key, clip):
    nn = torch.nn
    name = f"traj_{model_type}_{opt_key}"
    seed = seed_of(name)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    H = 16
    if model_type == "char_lstm_lm":
        vocab = "abcdefgh"
        V, T, B = len(vocab), 24, 4
        # Mostly the next letter of the alphabet (cyclically), sometimes a random one: a pattern a
        # small LSTM learns within 20 steps, with enough noise that the loss stays informative.
        seqs = []
        for _ in range(B):
            s = [int(rng.integers(V))]
            for _ in range(T):
                s.append((s[-1] + 1) % V if rng.random() < 0.7 else int(rng.integers(V)))
            seqs.append(s)
        inputs = [[seqs[b][t] for b in range(B)] for t in range(T)]
        targets = [[seqs[b][t + 1] for b in range(B)] for t in range(T)]
        rnn = nn.LSTM(V, H)
        head = nn.Linear(H, V)
        model_desc = {
            "type": "char_lstm_lm",
            "description": "one-hot(x_t) (size V) -> nn.LSTM(input_size=V, hidden_size=16, num_layers=1, bias=True), h0=c0=0 -> logits_t = head.weight @ h_t + head.bias (nn.Linear(16, V)) -> loss = mean over all T*B positions of cross_entropy(logits_t[b], target_t[b]) (log-softmax over V)",
            "vocab_size": V,
            "hidden_size": H,
        }
        data = {
            "vocab": vocab,
            "sequences": ["".join(vocab[i] for i in s) for s in seqs],
            "layout": "time-major: inputs[t][b] = index of sequences[b][t], targets[t][b] = index of sequences[b][t+1]",
            "seq_len": T,
            "batch": B,
            "inputs": inputs,
            "targets": targets,
        }
        x_ids = torch.tensor(inputs)
        y_ids = torch.tensor(targets)
        prefix = "lstm"

        def loss_of(mods, dtype):
            r, h = mods
            x = nn.functional.one_hot(x_ids, V).to(dtype)
            out, _ = r(x)
            logits = h(out)
            return nn.functional.cross_entropy(logits.reshape(-1, V), y_ids.reshape(-1))
    else:
        T, B, I, C = 12, 8, 3, 3
        x = torch.randn(T, B, I)
        labels = x[T // 2 :].sum(0).argmax(1)
        rnn = nn.GRU(I, H)
        head = nn.Linear(H, C)
        model_desc = {
            "type": "gru_classifier",
            "description": "x (T,B,I) -> nn.GRU(input_size=I, hidden_size=16, num_layers=1, bias=True), h0=0 -> logits = head.weight @ h_T + head.bias (nn.Linear(16, C), applied to the final hidden state) -> loss = mean over the batch of cross_entropy(logits[b], label[b])",
            "input_size": I,
            "hidden_size": H,
            "num_classes": C,
        }
        data = {
            "layout": "input is time-major (T,B,I); labels (B,) are class indices; label = argmax over channels of the sum of x over the last T/2 steps",
            "seq_len": T,
            "batch": B,
            "input": F32(x.numpy()),
            "labels": [int(v) for v in labels],
        }
        prefix = "gru"

        def loss_of(mods, dtype):
            r, h = mods
            _, hn = r(x.to(dtype))
            return nn.functional.cross_entropy(h(hn[-1]), labels)

    # Larger than default weights, so that the gradient norm starts above the clipping threshold
    # and falls below it: both branches of clipping are exercised.
    with torch.no_grad():
        for p in rnn.parameters():
            p.mul_(3)
        for p in head.parameters():
            p.mul_(10)
    initial = {f"{prefix}.{k}": v.detach().clone() for k, v in rnn.state_dict().items()}
    initial.update({f"head.{k}": v.detach().clone() for k, v in head.state_dict().items()})
    opt_type, hyper, rule = OPTIMIZERS[opt_key]

    def train(dtype):
        r = (nn.LSTM(rnn.input_size, H) if prefix == "lstm" else nn.GRU(rnn.input_size, H)).to(dtype)
        h = nn.Linear(H, head.out_features).to(dtype)
        r.load_state_dict({k[len(prefix) + 1 :]: v.to(dtype) for k, v in initial.items() if k.startswith(prefix + ".")})
        h.load_state_dict({k[5:]: v.to(dtype) for k, v in initial.items() if k.startswith("head.")})
        named = [(f"{prefix}.{k}", p) for k, p in r.named_parameters()] + [(f"head.{k}", p) for k, p in h.named_parameters()]
        params = [p for _, p in named]
        kwargs = dict(hyper)
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        opt = getattr(torch.optim, opt_type)(params, **kwargs)
        before, after, norms = [], [], []
        after1 = None
        for step in range(STEPS):
            opt.zero_grad()
            loss = loss_of((r, h), dtype)
            loss.backward()
            before.append(float(loss))
            norms.append(math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params)))
            if clip:
                nn.utils.clip_grad_norm_(params, CLIP["max_norm"], norm_type=CLIP["norm_type"])
            opt.step()
            if step == 0:
                after1 = {k: p.detach().clone() for k, p in named}
        with torch.no_grad():
            final_loss = float(loss_of((r, h), dtype))
        after = before[1:] + [final_loss]
        final = {k: p.detach().clone() for k, p in named}
        return before, after, norms, after1, final

    before, after, norms, after1, final = train(torch.float64)
    b32, a32, n32, p1_32, f32 = train(torch.float32)
    per_param = {k: deviation(f32[k].numpy(), final[k].numpy()) for k in final}
    out = {
        "name": name,
        "kind": "training_trajectory",
        "model": model_desc,
        "data": data,
        "optimizer": {"type": opt_type, **hyper, "update_rule": rule},
        "clip_grad_norm": CLIP if clip else None,
        "steps": STEPS,
        "procedure": "for step in 1..steps: zero grads; loss = forward on the full batch; backward; [clip]; optimizer step. Same batch every step, fresh zero initial state every step.",
        "initial_params": {k: F32(v.numpy()) for k, v in initial.items()},
        "loss_before_update": before,
        "loss_after_update": after,
        "grad_norm_before_clip": norms,
        "params_after_step_1": {k: F32(v.numpy()) for k, v in after1.items()},
        "final_params": {k: F32(v.numpy()) for k, v in final.items()},
        "float32_vs_float64": {
            "loss_after_update_max_abs": float(np.max(np.abs(np.array(a32) - np.array(after)))),
            "grad_norm_max_abs": float(np.max(np.abs(np.array(n32) - np.array(norms)))),
            "final_params_max_abs": max(v["max_abs"] for v in per_param.values()),
            "per_param": per_param,
        },
        "meta": {
            "seed": seed,
            "torch_version": torch.__version__,
            "reference": "trained in float64 from float32-representable initial params; losses stored as float64, params rounded to float32",
            "init": "PyTorch default init (drawn in float32), recurrent-layer tensors multiplied by 3, head tensors by 10",
            "generator": "scripts/fixtures.py",
        },
    }
    return name, out


def make_torch(out_dir):
    try:
        import torch
    except ImportError:
        sys.exit("fixtures.py torch: PyTorch is missing; install Debian's python3-torch and run this with /usr/bin/python3")
    torch.set_num_threads(1)
    target = os.path.join(out_dir, "torch")
    os.makedirs(target, exist_ok=True)
    worst = 0.0
    for name, module, cfg, T, B, lengths in CASES:
        case, dev = torch_case(torch, name, module, cfg, T, B, lengths)
        write(os.path.join(target, name + ".json"), case)
        w = max(d["max_abs"] / max(1.0, d["ref_max_abs"]) for d in dev.values())
        worst = max(worst, w)
        print(f"  {name}: PyTorch float32 vs float64 {w:.1e}")
    for model_type, opt_key, clip in TRAJECTORIES:
        name, traj = trajectory(torch, model_type, opt_key, clip)
        write(os.path.join(target, name + ".json"), traj)
        d = traj["float32_vs_float64"]
        print(f"  {name}: loss {traj['loss_before_update'][0]:.4f} -> {traj['loss_after_update'][-1]:.4f}, float32 vs float64 params {d['final_params_max_abs']:.1e}")
    print(f"torch: {len(CASES)} cases and {len(TRAJECTORIES)} trajectories in {target}; worst float32 deviation {worst:.1e} (relative to max(1, max|ref|))")


# ---------------------------------------------------------------------------------------------
# Echo state network data (NumPy, float64)
# ---------------------------------------------------------------------------------------------

MG = dict(tau=17, a=0.2, b=0.1, n=10, x0=1.2)


def mg_rhs(x, xd):
    return MG["a"] * xd / (1 + xd ** MG["n"]) - MG["b"] * x


def mackey_glass_rk4(length, discard=1000, dt=0.1, subsample=10):
    """Classic RK4 at step dt; the delayed value at the half steps is the mean of its neighbours."""
    D = int(round(MG["tau"] / dt))
    total = (discard + length - 1) * subsample
    xs = [MG["x0"]] * (D + 1)  # x_{-D} .. x_0 (the history is constant)
    x = MG["x0"]
    half, sixth = dt / 2, dt / 6
    for k in range(total):
        xd0 = xs[k]  # x_{k-D}
        xd1 = xs[k + 1]  # x_{k-D+1}
        xm = 0.5 * (xd0 + xd1)
        k1 = mg_rhs(x, xd0)
        k2 = mg_rhs(x + half * k1, xm)
        k3 = mg_rhs(x + half * k2, xm)
        k4 = mg_rhs(x + dt * k3, xd1)
        x = x + sixth * (k1 + 2 * k2 + 2 * k3 + k4)
        xs.append(x)
    series = np.array(xs[D:], dtype=np.float64)[::subsample]
    return series[discard : discard + length]


def mackey_glass_rpy(length, discard=1000, h=1.0):
    """ReservoirPy's discretisation: one RK4 step per sample, x(t - tau) held over the 4 stages."""
    L = int(math.floor(MG["tau"] / h))
    history = [MG["x0"]] * L
    x = MG["x0"]
    out = [x]
    for _ in range(discard + length - 1):
        xtau = history.pop(0)
        history.append(x)
        k1 = h * mg_rhs(x, xtau)
        k2 = h * mg_rhs(x + 0.5 * k1, xtau)
        k3 = h * mg_rhs(x + 0.5 * k2, xtau)
        k4 = h * mg_rhs(x + k3, xtau)
        x = x + k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6
        out.append(x)
    return np.array(out[discard:], dtype=np.float64)


def narma10_series(length, discard=200, seed=10):
    u = np.random.default_rng(seed).uniform(0, 0.5, discard + length)
    y = np.zeros(discard + length)
    for t in range(9, discard + length - 1):
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * np.sum(y[t - 9 : t + 1]) + 1.5 * u[t - 9] * u[t] + 0.1
    return u[discard:], y[discard:]


def spectral_radius(W):
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def esn_states(W_in, W, u, leak):
    N = W.shape[0]
    x = np.zeros(N)
    X = np.empty((len(u), N))
    for t, v in enumerate(u):
        x = (1 - leak) * x + leak * np.tanh(W_in @ np.array([1.0, v]) + W @ x)
        X[t] = x
    return X


def esn_step_float32(W_in, W, x, v, leak):
    f = np.float32
    pre = W_in.astype(f) @ np.array([1.0, v], dtype=f) + W.astype(f) @ x
    return (f(1 - leak) * x + f(leak) * np.tanh(pre)).astype(f)


def esn_states_float32(W_in, W, u, leak):
    x = np.zeros(W.shape[0], dtype=np.float32)
    X = np.empty((len(u), W.shape[0]))
    for t, v in enumerate(u):
        x = esn_step_float32(W_in, W, x, v, leak)
        X[t] = x
    return X


def ridge_readout(Z, Y, ridge):
    """W_out = Y Z^T (Z Z^T + ridge I)^-1, by a Cholesky solve (Z: features x samples)."""
    A = Z @ Z.T + ridge * np.eye(Z.shape[0])
    Lc = np.linalg.cholesky(A)
    rhs = Z @ Y.T
    W = np.linalg.solve(Lc.T, np.linalg.solve(Lc, rhs)).T
    return W, float(np.linalg.cond(A))


def esn_exact_small(series):
    """A 50-unit leaky ESN with given (float32-representable) weights: states and readouts."""
    N, leak, rho, washout, T = 50, 0.3, 1.25, 50, 300
    rng = np.random.default_rng(seed_of("esn_exact_small"))
    W_in = rng.uniform(-0.5, 0.5, (N, 2)).astype(np.float32).astype(np.float64)
    W = rng.uniform(-0.5, 0.5, (N, N))
    W = (W * (rho / spectral_radius(W))).astype(np.float32).astype(np.float64)
    u = series[: T + 1].astype(np.float32).astype(np.float64)
    X = esn_states(W_in, W, u[:T], leak)
    X32 = esn_states_float32(W_in, W, u[:T], leak)
    readouts = []
    for ridge in (1e-4, 1e-8):
        Z = np.vstack([np.ones(T - washout), u[washout:T], X[washout:T].T])
        Y = u[washout + 1 : T + 1][None, :]
        W_out, cond = ridge_readout(Z, Y, ridge)
        pred = (W_out @ Z)[0]
        # Free run: from x(299), input u(300), then each output fed back as the next input.
        x = X[T - 1].copy()
        v = u[T]
        free = []
        for _ in range(50):
            x = (1 - leak) * x + leak * np.tanh(W_in @ np.array([1.0, v]) + W @ x)
            v = float(W_out @ np.concatenate([[1.0, v], x]))
            free.append(v)
        # The same with float32 states (float64 solve): what a float32 implementation can reach.
        Z32 = np.vstack([np.ones(T - washout), u[washout:T], X32[washout:T].T])
        W32, _ = ridge_readout(Z32, Y, ridge)
        x, v, free32 = X32[T - 1].astype(np.float32), u[T], []
        for _ in range(50):
            x = esn_step_float32(W_in, W, x, v, leak)
            v = float(W32 @ np.concatenate([[1.0, v], x.astype(np.float64)]))
            free32.append(v)
        readouts.append(
            {
                "ridge": ridge,
                "cond_ZtZ_plus_ridge": cond,
                "W_out": F64(W_out),
                "train_predictions": {"t_range": [washout, T - 1], "data": [float(p) for p in pred]},
                "train_rmse": float(np.sqrt(np.mean((pred - Y[0]) ** 2))),
                "free_run": {"description": "starting from x(299), feed u = input[300], then feed back each prediction as the next input; 50 outputs", "data": free},
                "float32_states_deviation": {
                    "description": "the same computed with float32 states (NumPy, float64 solve): max |difference| from the reference",
                    "W_out_relative": float(np.max(np.abs(W32 - W_out)) / np.max(np.abs(W_out))),
                    "train_predictions": float(np.max(np.abs((W32 @ Z32)[0] - pred))),
                    "free_run": float(np.max(np.abs(np.array(free32) - np.array(free)))),
                },
            }
        )
    return {
        "name": "esn_exact_small",
        "dtype": "float64",
        "model": {
            "equations": ["x(t) = (1-a)*x(t-1) + a*tanh(W_in @ [1, u(t)] + W @ x(t-1)), x(-1) = 0", "y(t) = W_out @ [1, u(t), x(t)]"],
            "N": N,
            "leak_rate_a": leak,
            "spectral_radius": spectral_radius(W),
            "readout_fit": "W_out = Y Z^T (Z Z^T + ridge*I)^-1 with Z columns [1, u(t), x(t)] for t = washout .. train_len-1, Y = u(t+1); all entries regularised; solved in float64 (Cholesky)",
            "washout": washout,
            "train_len": T,
        },
        "W_in": F64(W_in),
        "W": F64(W),
        "input": {"shape": [T + 1], "data": [float(v) for v in u], "note": "the first 301 samples of mackey_glass_tau17_rk4_dt0.1, rounded to float32"},
        "targets": "u(t+1) for t = washout .. train_len-1 (one-step-ahead prediction)",
        "states_at": {str(t): [float(v) for v in X[t]] for t in (0, 1, 49, 50, 299)},
        "states_sum_abs": float(np.sum(np.abs(X))),
        "readouts": readouts,
        "note": "weights and inputs are float32 values (written as float64), so a float32 implementation starts from exactly the reference's numbers; everything else is float64",
    }


def esn_reference_results(mg, u, y):
    """Median/mean/min/max over ten reservoirs of a plain leaky ESN (the protocols are in the file)."""
    std = float(np.std(mg))

    def stats(v):
        v = np.array(v)
        return {"median": float(np.median(v)), "mean": float(np.mean(v)), "min": float(np.min(v)), "max": float(np.max(v)), "n": int(len(v))}

    def reservoir(seed, N, rho, scale):
        rng = np.random.default_rng(seed)
        W_in = rng.uniform(-0.5, 0.5, (N, 2)) * scale
        W = rng.uniform(-0.5, 0.5, (N, N))
        return W_in, W * (rho / spectral_radius(W))

    def step(W_in, W, x, v, leak):
        return (1 - leak) * x + leak * np.tanh(W_in @ np.array([1.0, v]) + W @ x)

    seeds = list(range(10))
    results = {
        "description": "Reference leaky ESN benchmark numbers (numpy float64). Reservoir realisations differ between implementations, so these are statistical references (compare medians/ranges), not exact values.",
        "esn": {
            "equations": "x(t) = (1-a)x(t-1) + a tanh(W_in [1;u(t)] + W x(t-1)); y(t) = W_out [1; u(t); x(t)]",
            "W_in": "U[-0.5,0.5] * input_scaling (bias column included)",
            "W": "dense U[-0.5,0.5], rescaled to spectral radius rho",
            "readout": "ridge regression on [1; u; x], ridge 1e-8, washout 100, trained on the first 2000 steps (1900 after washout)",
            "seeds": seeds,
            "rng": "numpy default_rng(seed)",
        },
        "mackey_glass": {
            "protocol": "series s = mackey_glass_tau17_rk4_dt0.1; train: inputs s[0..1999], targets s[1..2000], washout 100. one-step test: teacher-forced on s[2000..3999] predicting s[2001..4000]. free run: from the state after s[1999], input s[2000], then outputs fed back, 500 steps compared with s[2001..2500]. NRMSE84: state teacher-forced to s[2199], then 50 trials at start points 2200+84k: free run 84 steps from there, error of step 84; NRMSE84 = sqrt(mean(err^2)/var(s)). NRMSE = RMSE / std(s) (std of the whole stored series).",
        },
        "narma10": {
            "protocol": "u, y = narma10.json; inputs u[0..1999], targets y[1..2000], washout 100; test: inputs u[2000..3999], targets y[2001..4000]; NRMSE = RMSE / std(targets).",
        },
    }
    N, rho, leak = 500, 1.25, 0.3
    one_step, free500, n84 = [], [], []
    for seed in seeds:
        W_in, W = reservoir(seed, N, rho, 1.0)
        X = esn_states(W_in, W, mg[:6500], leak)
        Z = np.vstack([np.ones(1900), mg[100:2000], X[100:2000].T])
        W_out, _ = ridge_readout(Z, mg[101:2001][None, :], 1e-8)
        readout = lambda x, v: float(W_out @ np.concatenate([[1.0, v], x]))
        pred = np.array([readout(X[t], mg[t]) for t in range(2000, 4000)])
        one_step.append(np.sqrt(np.mean((pred - mg[2001:4001]) ** 2)) / std)
        x, v, free = X[1999], mg[2000], []
        for _ in range(500):
            x = step(W_in, W, x, v, leak)
            v = readout(x, v)
            free.append(v)
        free500.append(np.sqrt(np.mean((np.array(free) - mg[2001:2501]) ** 2)) / std)
        errs = []
        for k in range(50):
            p0 = 2200 + 84 * k
            x, v = X[p0 - 1], mg[p0]
            for _ in range(84):
                x = step(W_in, W, x, v, leak)
                v = readout(x, v)
            errs.append(v - mg[p0 + 84])
        n84.append(np.sqrt(np.mean(np.square(errs))) / std)
    results["mackey_glass"]["rk4_dt0.1_N500_rho1.25_leak0.3"] = {
        "one_step_test_nrmse": stats(one_step),
        "free_run_500_nrmse": stats(free500),
        "nrmse84": stats(n84),
    }
    scores = []
    for seed in seeds:
        W_in, W = reservoir(seed, 500, 0.9, 1.0)
        X = esn_states(W_in, W, u[:4000], 1.0)
        Z = np.vstack([np.ones(1900), u[100:2000], X[100:2000].T])
        W_out, _ = ridge_readout(Z, y[101:2001][None, :], 1e-8)
        Zt = np.vstack([np.ones(2000), u[2000:4000], X[2000:4000].T])
        pred = (W_out @ Zt)[0]
        target = y[2001:4001]
        scores.append(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))
    results["narma10"]["N500_rho0.9_leak1.0_in1"] = {"test_nrmse": stats(scores)}
    return results


def make_esn(out_dir):
    target = os.path.join(out_dir, "esn")
    os.makedirs(target, exist_ok=True)

    def series_file(name, values, generator):
        return {
            "name": name,
            "dtype": "float64",
            "generator": generator,
            "length": int(len(values)),
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "min": float(np.min(values)),
            "max": float(np.max(values)),
            "values": [float(v) for v in values],
        }

    eq = "dx/dt = a*x(t-tau)/(1+x(t-tau)^n) - b*x(t)"
    rk4 = mackey_glass_rk4(7000)
    write(
        os.path.join(target, "mackey_glass_tau17_rk4_dt0.1.json"),
        series_file(
            "mackey_glass_tau17_rk4_dt0.1",
            rk4,
            {**MG, "equation": eq, "history": "x(t) = x0 for all t <= 0", "method": "classic RK4, step dt = 0.1; delayed value at the half-step stages = mean of x(t-tau) and x(t-tau+dt), x(t-tau) at stage 1 and x(t-tau+dt) at stage 4; a*xd/(1 + xd^n) - b*x in that order", "dt": 0.1, "subsample": 10, "discarded_samples": 1000, "values_are": "x(t) for t = 1000, 1001, ... (time units)"},
        ),
    )
    rpy = mackey_glass_rpy(7000)
    write(
        os.path.join(target, "mackey_glass_tau17_rpy_h1.json"),
        series_file(
            "mackey_glass_tau17_rpy_h1",
            rpy,
            {**MG, "equation": eq, "h": 1.0, "history": "17 past values all equal to x0", "method": "one RK4 step of size h per sample, x(t-tau) from a FIFO of floor(tau/h) past samples, held constant over the 4 stages (ReservoirPy's discretisation, without its random initial history)", "discarded_samples": 1000, "values_are": "samples 1000, 1001, ... of the recursion (sample 0 = x0)"},
        ),
    )
    u, y = narma10_series(4200)
    write(
        os.path.join(target, "narma10.json"),
        {
            "name": "narma10",
            "dtype": "float64",
            "generator": {
                "equation": "y[t+1] = 0.3*y[t] + 0.05*y[t]*sum_{i=0..9} y[t-i] + 1.5*u[t-9]*u[t] + 0.1 (numpy.sum over the 10 values)",
                "u": "i.i.d. uniform on [0, 0.5), numpy.random.default_rng(10).uniform",
                "init": "y[t] = 0 for t <= 9",
                "discarded_samples": 200,
                "task_convention": "input at step t is u[t]; target is y[t+1] (index t of u and y is the same time t)",
            },
            "length": int(len(u)),
            "y_mean": float(np.mean(y)),
            "y_std": float(np.std(y)),
            "u": [float(v) for v in u],
            "y": [float(v) for v in y],
        },
    )
    write(os.path.join(target, "esn_exact_small.json"), esn_exact_small(rk4))
    results = esn_reference_results(rk4, u, y)
    write(os.path.join(target, "esn_reference_results.json"), results)
    mg = results["mackey_glass"]["rk4_dt0.1_N500_rho1.25_leak0.3"]
    print(f"esn: series, exact small ESN and reference statistics in {target}; N=500 Mackey-Glass one-step NRMSE median {mg['one_step_test_nrmse']['median']:.2e}, NARMA10 test NRMSE median {results['narma10']['N500_rho0.9_leak1.0_in1']['test_nrmse']['median']:.3f}")


def main():
    p = argparse.ArgumentParser(description="Generates recur's reference fixtures (see the module docstring).")
    p.add_argument("what", nargs="?", choices=["torch", "esn", "all"], default="all")
    p.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures"), help="output folder (default test/fixtures)")
    a = p.parse_args()
    if a.what in ("torch", "all"):
        make_torch(a.out)
    if a.what in ("esn", "all"):
        make_esn(a.out)


if __name__ == "__main__":
    main()
