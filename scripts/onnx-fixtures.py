#!/usr/bin/python3
"""Writes the ONNX test fixtures in test/fixtures/onnx/ with the real tools.

    /usr/bin/python3 scripts/onnx-fixtures.py      # Debian: python3-torch (1.13), python3-onnx (1.12)

Two kinds of files:

* `torch_*.onnx`: PyTorch modules exported by `torch.onnx.export` (the TorchScript exporter of
  PyTorch 1.13, opset 14), each beside `torch_*.json` holding the inputs fed and the outputs
  PyTorch itself computed (float32, rounded values as PyTorch returned them). recur must match
  those outputs (tolerance 1e-5 * max(1, max|ref|) per tensor).
* `helper_*.onnx`: single-node graphs built with `onnx.helper` for the recurrent attributes that
  torch.onnx.export never writes (GRU linear_before_reset=0, LSTM peepholes, sequence_lens,
  direction reverse, layout 1, clip, input_forget, every activation function with its alpha and
  beta). Their reference is onnxruntime-node, which the tests run
  on the same file.

Weights come from torch.manual_seed, so the files are the same on every run of this script.
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "onnx")
OPSET = 14


def tensor_json(t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    kind = "int64" if a.dtype == np.int64 else "float32"
    return {"dtype": kind, "shape": list(a.shape), "data": [int(v) for v in a.ravel()] if kind == "int64" else [float(v) for v in a.astype(np.float32).ravel()]}


def export(name, module, inputs, input_names, output_names, dynamic_axes=None, note=""):
    module.eval()
    path = os.path.join(OUT, f"torch_{name}.onnx")
    torch.onnx.export(module, tuple(inputs), path, input_names=input_names, output_names=output_names, opset_version=OPSET, dynamic_axes=dynamic_axes or {})
    with torch.no_grad():
        outs = module(*inputs)
    if not isinstance(outs, tuple):
        outs = (outs,)
    flat = []
    for o in outs:
        flat.extend(o if isinstance(o, tuple) else (o,))
    ref = {
        "producer": f"torch {torch.__version__} torch.onnx.export opset {OPSET}",
        "note": note,
        "inputs": {n: tensor_json(t) for n, t in zip(input_names, inputs)},
        "outputs": {n: tensor_json(t) for n, t in zip(output_names, flat)},
    }
    with open(os.path.join(OUT, f"torch_{name}.json"), "w") as f:
        json.dump(ref, f)


class Seq(torch.nn.Module):
    """Embedding -> recurrent -> Linear, outputs logits at every step and the final states."""

    def __init__(self, cell, vocab, emb, hidden, layers, bidirectional, batch_first, out):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, emb)
        self.rnn = getattr(torch.nn, cell)(emb, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
        self.head = torch.nn.Linear(hidden * (2 if bidirectional else 1), out)

    def forward(self, ids):
        y, state = self.rnn(self.embedding(ids))
        if isinstance(state, tuple):
            return self.head(y), state[0], state[1]
        return self.head(y), state


class Plain(torch.nn.Module):
    def __init__(self, cell, **kw):
        super().__init__()
        self.rnn = getattr(torch.nn, cell)(**kw)

    def forward(self, x, *state):
        y, s = self.rnn(x, state[0] if len(state) == 1 else tuple(state) if state else None)
        if isinstance(s, tuple):
            return y, s[0], s[1]
        return y, s


class Streaming(torch.nn.Module):
    """One frame in, state in and out: the usual export of a stateful model (Linear head on h)."""

    def __init__(self, cell, inp, hidden, layers, out):
        super().__init__()
        self.rnn = getattr(torch.nn, cell)(inp, hidden, num_layers=layers)
        self.head = torch.nn.Linear(hidden, out)

    def forward(self, x, *state):
        y, s = self.rnn(x, state[0] if len(state) == 1 else tuple(state))
        out = torch.sigmoid(self.head(y))
        if isinstance(s, tuple):
            return out, s[0], s[1]
        return out, s


def torch_fixtures():
    torch.manual_seed(7)
    T, B, I, H = 6, 3, 4, 8
    for cell in ["LSTM", "GRU", "RNN"]:
        x = torch.randn(T, B, I)
        names = ["y", "hn", "cn"] if cell == "LSTM" else ["y", "hn"]
        export(f"{cell.lower()}_1layer", Plain(cell, input_size=I, hidden_size=H), [x], ["x"], names, {"x": {0: "T", 1: "B"}})
        x = torch.randn(B, T, I)
        export(f"{cell.lower()}_2layer_bidir_batchfirst", Plain(cell, input_size=I, hidden_size=H, num_layers=2, bidirectional=True, batch_first=True), [x], ["x"], names, {"x": {0: "B", 1: "T"}})
        ids = torch.randint(0, 12, (B, T))
        export(f"{cell.lower()}_embedding_linear", Seq(cell, 12, 5, H, 2, False, True, 7), [ids], ["ids"], ["logits", "hn", "cn"] if cell == "LSTM" else ["logits", "hn"], {"ids": {0: "B", 1: "T"}})
    # RNN with ReLU, bidirectional, one layer, with a given h0.
    x, h0 = torch.randn(T, B, I), torch.randn(2, B, H)
    export("rnn_relu_bidir_h0", Plain("RNN", input_size=I, hidden_size=H, nonlinearity="relu", bidirectional=True), [x, h0], ["x", "h0"], ["y", "hn"])
    # Streaming exports: one frame, state in, state out; the JSON also holds 8 frames run by
    # PyTorch with the state fed back, to compare frame by frame.
    for cell, layers in [("LSTM", 2), ("GRU", 1)]:
        m = Streaming(cell, I, H, layers, 1)
        state = [torch.zeros(layers, 1, H)] * (2 if cell == "LSTM" else 1)
        names = ["x", "h", "c"][: 1 + len(state)]
        outs = ["prob", "hn", "cn"][: 1 + len(state)]
        name = f"{cell.lower()}_streaming"
        export(name, m, [torch.randn(1, 1, I), *state], names, outs, note="stream: feed hn (and cn) back as h (and c)")
        frames = []
        with torch.no_grad():
            for _ in range(8):
                x = torch.randn(1, 1, I)
                r = m(x, *state)
                frames.append({"x": tensor_json(x), "prob": tensor_json(r[0])})
                state = list(r[1:])
        path = os.path.join(OUT, f"torch_{name}.json")
        ref = json.load(open(path))
        ref["frames"] = frames
        json.dump(ref, open(path, "w"))


def helper_fixtures():
    rng = np.random.default_rng(3)
    T, B, I, H = 5, 3, 4, 6

    def rand(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    def save(name, node, inits, inputs, outputs, opset=OPSET):
        graph = helper.make_graph([node], name, inputs, outputs, initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="onnx.helper")
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(OUT, f"helper_{name}.onnx"))

    f32 = TensorProto.FLOAT

    # GRU, reset before (linear_before_reset = 0, the ONNX default), bidirectional, with initial_h.
    save(
        "gru_reset_before_bidir",
        helper.make_node("GRU", ["X", "W", "R", "B", "", "initial_h"], ["Y", "Y_h"], hidden_size=H, direction="bidirectional", linear_before_reset=0, name="gru"),
        {"W": rand(2, 3 * H, I), "R": rand(2, 3 * H, H), "B": rand(2, 6 * H)},
        [helper.make_tensor_value_info("X", f32, ["T", "B", I]), helper.make_tensor_value_info("initial_h", f32, [2, "B", H])],
        [helper.make_tensor_value_info("Y", f32, ["T", 2, "B", H]), helper.make_tensor_value_info("Y_h", f32, [2, "B", H])],
    )
    # LSTM with peepholes, sequence_lens, reverse direction, initial states.
    save(
        "lstm_peephole_reverse_lens",
        helper.make_node("LSTM", ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"], ["Y", "Y_h", "Y_c"], hidden_size=H, direction="reverse", name="lstm"),
        {"W": rand(1, 4 * H, I), "R": rand(1, 4 * H, H), "B": rand(1, 8 * H), "P": rand(1, 3 * H)},
        [
            helper.make_tensor_value_info("X", f32, [T, B, I]),
            helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, [B]),
            helper.make_tensor_value_info("initial_h", f32, [1, B, H]),
            helper.make_tensor_value_info("initial_c", f32, [1, B, H]),
        ],
        [helper.make_tensor_value_info("Y", f32, [T, 1, B, H]), helper.make_tensor_value_info("Y_h", f32, [1, B, H]), helper.make_tensor_value_info("Y_c", f32, [1, B, H])],
    )
    # LSTM, layout 1 (batch first), bidirectional, sequence_lens. onnxruntime runs only layout 0,
    # so the same weights are also saved with layout 0 as its reference.
    w = {"W": rand(2, 4 * H, I), "R": rand(2, 4 * H, H), "B": rand(2, 8 * H)}
    for layout in [1, 0]:
        dims = (lambda *d: [d[1], d[0], *d[2:]]) if layout == 0 else (lambda *d: list(d))
        save(
            f"lstm_layout{layout}_bidir_lens",
            helper.make_node("LSTM", ["X", "W", "R", "B", "sequence_lens"], ["Y", "Y_h", "Y_c"], hidden_size=H, direction="bidirectional", layout=layout, name="lstm"),
            w,
            [helper.make_tensor_value_info("X", f32, dims(B, T, I)), helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, [B])],
            [
                helper.make_tensor_value_info("Y", f32, [B, T, 2, H] if layout else [T, 2, B, H]),
                helper.make_tensor_value_info("Y_h", f32, [B, 2, H] if layout else [2, B, H]),
                helper.make_tensor_value_info("Y_c", f32, [B, 2, H] if layout else [2, B, H]),
            ],
        )
    # RNN, reverse, no bias.
    save(
        "rnn_reverse_nobias",
        helper.make_node("RNN", ["X", "W", "R"], ["Y", "Y_h"], hidden_size=H, direction="reverse", name="rnn"),
        {"W": rand(1, H, I), "R": rand(1, H, H)},
        [helper.make_tensor_value_info("X", f32, [T, B, I])],
        [helper.make_tensor_value_info("Y", f32, [T, 1, B, H]), helper.make_tensor_value_info("Y_h", f32, [1, B, H])],
    )
    # What recur's cells cannot run yet: cell clipping and a non-default activation.
    save(
        "lstm_clip_hardsigmoid",
        helper.make_node("LSTM", ["X", "W", "R"], ["Y"], hidden_size=H, clip=3.0, activations=["HardSigmoid", "Tanh", "Tanh"], name="clipped_lstm"),
        {"W": rand(1, 4 * H, I), "R": rand(1, 4 * H, H)},
        [helper.make_tensor_value_info("X", f32, [T, B, I])],
        [helper.make_tensor_value_info("Y", f32, [T, 1, B, H])],
    )
    # The same computation in the oldest and a recent opset: attributes that became inputs
    # (Squeeze / Unsqueeze axes, Slice starts / ends, Pad pads, Split sizes, ReduceSum axes; python3-onnx 1.12
    # knows opsets up to 17) and
    # Softmax's axis semantics (before opset 13: the input coerced to 2-D from the axis on).
    for opset in [9, 17]:
        old = opset < 13
        nodes, inits = [], {}

        def const(name, values):
            inits[name] = np.array(values, dtype=np.int64)
            return name

        x = "X"  # [2, 3, 4]
        if old:
            nodes.append(helper.make_node("Unsqueeze", [x], ["u"], axes=[0]))
            nodes.append(helper.make_node("Slice", ["u"], ["s"], starts=[1, 0], ends=[3, 100], axes=[2, 3]))
            nodes.append(helper.make_node("Squeeze", ["s"], ["q"], axes=[0]))
            nodes.append(helper.make_node("Pad", ["q"], ["p"], pads=[0, 1, 0, 0, 1, 2], mode="reflect"))
            nodes.append(helper.make_node("Split", ["p"], ["a", "b"], axis=2, split=[3, 3]))
            nodes.append(helper.make_node("ReduceSum", ["b"], ["m"], axes=[1], keepdims=1))
        else:
            nodes.append(helper.make_node("Unsqueeze", [x, const("ax0", [0])], ["u"]))
            nodes.append(helper.make_node("Slice", ["u", const("st", [1, 0]), const("en", [3, 100]), const("sa", [2, 3])], ["s"]))
            nodes.append(helper.make_node("Squeeze", ["s", const("ax0b", [0])], ["q"]))
            nodes.append(helper.make_node("Pad", ["q", const("pads", [0, 1, 0, 0, 1, 2])], ["p"], mode="reflect"))
            nodes.append(helper.make_node("Split", ["p", const("sizes", [3, 3])], ["a", "b"], axis=2))
            nodes.append(helper.make_node("ReduceSum", ["b", const("ax1", [1])], ["m"], keepdims=1))
        nodes.append(helper.make_node("Mul", ["a", "m"], ["am"]))
        nodes.append(helper.make_node("Softmax", ["am"], ["sm"], axis=1))
        nodes.append(helper.make_node("LogSoftmax", ["am"], ["lsm"], axis=1))
        nodes.append(helper.make_node("Concat", ["sm", "lsm"], ["Y"], axis=2))
        g = helper.make_graph(
            nodes,
            f"opset{opset}",
            [helper.make_tensor_value_info("X", f32, [2, 3, 4])],
            [helper.make_tensor_value_info("Y", f32, [2, 4, 6])],
            initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
        )
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="onnx.helper")
        model.ir_version = 7 if old else 8
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(OUT, f"helper_opset{opset}_layout_ops.onnx"))

    # Operators recur does not run: the load must name both nodes.
    g = helper.make_graph(
        [helper.make_node("Erf", ["X"], ["e"], name="gelu_erf"), helper.make_node("Tanh", ["e"], ["t"], name="fine"), helper.make_node("Atan", ["t"], ["Y"], name="angle")],
        "unsupported",
        [helper.make_tensor_value_info("X", f32, [2])],
        [helper.make_tensor_value_info("Y", f32, [2])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="onnx.helper")
    model.ir_version = 8
    onnx.save(model, os.path.join(OUT, "helper_unsupported_ops.onnx"))

    # Every cell option an ONNX recurrent node can carry (written after the files above, so their
    # random weights stay as they were): the eleven activation functions with activation_alpha /
    # activation_beta (each direction its own), clip, LSTM input_forget with peepholes, and both
    # GRU forms. The weights are scaled up so that clips and the functions' kinks are reached.
    def big(*shape):
        return (rng.standard_normal(shape) * 1.5).astype(np.float32)

    def seq_io(D, with_c):
        outs = [helper.make_tensor_value_info("Y", f32, [T, D, B, H]), helper.make_tensor_value_info("Y_h", f32, [D, B, H])]
        if with_c:
            outs.append(helper.make_tensor_value_info("Y_c", f32, [D, B, H]))
        return [helper.make_tensor_value_info("X", f32, [T, B, I])], outs

    save(
        "lstm_activations_bidir",
        helper.make_node(
            "LSTM", ["X", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=H, direction="bidirectional", name="lstm_acts",
            activations=["HardSigmoid", "Softsign", "ScaledTanh", "Sigmoid", "LeakyRelu", "Elu"],
            activation_alpha=[0.3, 1.5, 0.2, 0.7], activation_beta=[0.45, 0.6],
        ),
        {"W": big(2, 4 * H, I), "R": rand(2, 4 * H, H), "B": rand(2, 8 * H)},
        *seq_io(2, True),
    )
    save(
        "lstm_input_forget_peephole_clip",
        helper.make_node("LSTM", ["X", "W", "R", "B", "", "", "", "P"], ["Y", "Y_h", "Y_c"], hidden_size=H, input_forget=1, clip=1.25, name="lstm_coupled"),
        {"W": big(1, 4 * H, I), "R": rand(1, 4 * H, H), "B": rand(1, 8 * H), "P": rand(1, 3 * H)},
        *seq_io(1, True),
    )
    save(
        "lstm_softplus_relu_affine",
        helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=H, name="lstm_softplus", activations=["Sigmoid", "Softplus", "Affine"], activation_alpha=[0.8], activation_beta=[-0.1]),
        {"W": big(1, 4 * H, I), "R": rand(1, 4 * H, H), "B": rand(1, 8 * H)},
        *seq_io(1, True),
    )
    for lbr in [0, 1]:
        save(
            f"gru_activations_clip_lbr{lbr}",
            helper.make_node(
                "GRU", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, direction="bidirectional", linear_before_reset=lbr, clip=2.0, name=f"gru_acts{lbr}",
                activations=["HardSigmoid", "Elu", "Sigmoid", "ThresholdedRelu"], activation_alpha=[0.25, 0.9, 0.1], activation_beta=[0.55],
            ),
            {"W": big(2, 3 * H, I), "R": rand(2, 3 * H, H), "B": rand(2, 6 * H)},
            *seq_io(2, False),
        )
    save(
        "rnn_activations_clip",
        helper.make_node("RNN", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, direction="bidirectional", clip=1.5, name="rnn_acts", activations=["Relu", "Softsign"]),
        {"W": big(2, H, I), "R": rand(2, H, H), "B": rand(2, 2 * H)},
        *seq_io(2, False),
    )
    # An activation name outside ONNX's list: recur must refuse it, naming node and attribute.
    save(
        "lstm_unknown_activation",
        helper.make_node("LSTM", ["X", "W", "R"], ["Y"], hidden_size=H, activations=["Sigmoid", "Gelu", "Tanh"], name="odd_lstm"),
        {"W": rand(1, 4 * H, I), "R": rand(1, 4 * H, H)},
        [helper.make_tensor_value_info("X", f32, [T, B, I])],
        [helper.make_tensor_value_info("Y", f32, [T, 1, B, H])],
    )


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch_fixtures()
    helper_fixtures()
    print("wrote", sorted(os.listdir(OUT)))
