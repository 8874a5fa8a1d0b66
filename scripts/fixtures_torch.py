"""PyTorch's forward/backward cases and training trajectories for scripts/fixtures.py (test/fixtures/torch)."""
import math
import os
import sys

import numpy as np

from fixtures_common import F32, write, seed_of

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
