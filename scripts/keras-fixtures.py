#!/usr/bin/python3
"""Writes Keras-format test files in test/fixtures/keras/.

    apt-get install python3-h5py python3-torch
    /usr/bin/python3 scripts/keras-fixtures.py

No Keras writer can be installed on this project's machines: Keras and TensorFlow are Python
packages on PyPI, which these machines cannot reach, Debian ships neither (only
python3-keras-applications and -preprocessing, which need Keras itself), and no npm package
writes Keras files (tfjs's model.save writes model.json + .bin; its Python converter is on PyPI).
So these files are written by the libraries Keras itself calls to write them, with the layout
Keras uses, reproduced here from Keras's saving code:

* the HDF5 container by the real libhdf5 through h5py (Keras saves weights with h5py);
* the .keras zip by Python's zipfile (Keras 3's saving_lib does the same);
* the layout: Keras 3 `.keras` = config.json + metadata.json + model.weights.h5 with
  `layers/<name>/vars/<i>` (`layers/<name>/cell/vars/<i>` for recurrent layers,
  `forward_layer/` and `backward_layer/` inside Bidirectional); legacy Keras 2 `.h5` = root
  attribute `model_config` (JSON), `model_weights/<layer>` groups whose attribute
  `weight_names` lists the datasets `<layer>/<cell>/kernel:0`, ... in order.

The weights are those of PyTorch modules (converted to Keras's layout: kernels [in, G*units],
gates i, f, c, o and z, r, h) and each file's expected output is PyTorch's, computed on the
input stored beside it. What these tests cannot show is that a file written by Keras itself
has exactly this layout: that needs Keras.
"""
import io
import json
import os
import zipfile

import h5py
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "keras")
T, B, I, H = 5, 2, 3, 4


def keras_gates(cell, w, H):
    """PyTorch [G*H, cols] (or [G*H]) -> Keras gate order; LSTM is the same, GRU r z n -> z r h."""
    if cell != "GRU":
        return w
    return np.concatenate([w[H : 2 * H], w[0:H], w[2 * H :]], axis=0)


def rnn_vars(cell, rnn, sfx, reset_after):
    sd = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    kernel = keras_gates(cell, sd[f"weight_ih_l0{sfx}"], H).T.copy()
    recurrent = keras_gates(cell, sd[f"weight_hh_l0{sfx}"], H).T.copy()
    bi = keras_gates(cell, sd[f"bias_ih_l0{sfx}"], H)
    bh = keras_gates(cell, sd[f"bias_hh_l0{sfx}"], H)
    if cell == "GRU" and reset_after:
        bias = np.stack([bi, bh])
    else:
        bias = bi + bh  # LSTM / SimpleRNN: one bias (PyTorch's two summed)
    return [kernel, recurrent, bias]


def layer(class_name, **config):
    return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}


def rnn_config(cell, name, **kw):
    base = {"name": name, "trainable": True, "units": H, "activation": "tanh", "use_bias": True, "return_sequences": False, "return_state": False, "go_backwards": False, "stateful": False, "unroll": False}
    if cell != "SimpleRNN":
        base["recurrent_activation"] = "sigmoid"
    base.update(kw)
    return layer(cell, **base)


def keras3(name, layers, weights, inputs, outputs, functional=False):
    if functional:
        # Keras 3's functional config: each layer names the tensors it reads (keras_history).
        chained = []
        for i, l in enumerate(layers):
            l = {**l, "name": l["config"]["name"], "inbound_nodes": []}
            if i > 0:
                prev = layers[i - 1]["config"]["name"]
                l["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [None, T, I], "dtype": "float32", "keras_history": [prev, 0, 0]}}], "kwargs": {"training": False}}]
            chained.append(l)
        first, last = layers[0]["config"]["name"], layers[-1]["config"]["name"]
        inner = {"name": "functional", "trainable": True, "layers": chained, "input_layers": [[first, 0, 0]], "output_layers": [[last, 0, 0]]}
        config = {"module": "keras", "class_name": "Functional", "config": inner, "registered_name": "Functional"}
    else:
        config = {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": True, "layers": layers}, "registered_name": None}
    h5 = io.BytesIO()
    with h5py.File(h5, "w") as f:
        for path, arrays in weights.items():
            g = f.create_group(f"layers/{path}/vars")
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a.astype(np.float32), track_times=False)
    with zipfile.ZipFile(os.path.join(OUT, f"{name}.keras"), "w") as z:
        # A fixed timestamp keeps the file the same from run to run.
        entry = lambda n: zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0))
        z.writestr(entry("metadata.json"), json.dumps({"keras_version": "3.x (layout reproduced, see scripts/keras-fixtures.py)"}))
        z.writestr(entry("config.json"), json.dumps(config))
        z.writestr(entry("model.weights.h5"), h5.getvalue())
    save_ref(name, inputs, outputs)


def save_ref(name, x, y):
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump({"producer": f"torch {torch.__version__}", "input": {"shape": list(x.shape), "data": [float(v) for v in x.ravel()]}, "output": {"shape": list(y.shape), "data": [float(v) for v in y.ravel()]}}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(5)
    x = torch.randn(B, T, I)

    # Keras 3: GRU (reset_after=True, PyTorch's form), all steps, then Dense.
    gru = torch.nn.GRU(I, H, batch_first=True)
    dense = torch.nn.Linear(H, 2)
    with torch.no_grad():
        y = dense(gru(x)[0])
    keras3(
        "gru_reset_after_dense",
        [layer("InputLayer", batch_shape=[None, T, I], name="input"), rnn_config("GRU", "gru", reset_after=True, return_sequences=True), layer("Dense", name="dense", units=2, activation="linear", use_bias=True)],
        {"gru/cell": rnn_vars("GRU", gru, "", True), "dense": [dense.weight.detach().numpy().T, dense.bias.detach().numpy()]},
        x.numpy(),
        y.numpy(),
    )

    # Keras 3: Bidirectional LSTM, last output (concat), then Dense with softmax.
    lstm = torch.nn.LSTM(I, H, batch_first=True, bidirectional=True)
    dense = torch.nn.Linear(2 * H, 3)
    with torch.no_grad():
        _, (hn, _) = lstm(x)
        y = torch.softmax(dense(torch.cat([hn[0], hn[1]], dim=1)), dim=1)
    keras3(
        "bidirectional_lstm_softmax",
        [
            layer("InputLayer", batch_shape=[None, T, I], name="input"),
            layer("Bidirectional", name="bidirectional", merge_mode="concat", layer=rnn_config("LSTM", "lstm"), backward_layer=rnn_config("LSTM", "backward_lstm", go_backwards=True)),
            layer("Dense", name="dense", units=3, activation="softmax", use_bias=True),
        ],
        {"bidirectional/forward_layer/cell": rnn_vars("LSTM", lstm, "", False), "bidirectional/backward_layer/cell": rnn_vars("LSTM", lstm, "_reverse", False), "dense": [dense.weight.detach().numpy().T, dense.bias.detach().numpy()]},
        x.numpy(),
        y.numpy(),
    )

    # Keras 3 functional model (one chain): LSTM with all steps, then Dense with tanh.
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    dense = torch.nn.Linear(H, 2)
    with torch.no_grad():
        y = torch.tanh(dense(lstm(x)[0]))
    keras3(
        "functional_lstm_dense",
        [layer("InputLayer", batch_shape=[None, T, I], name="input_layer"), rnn_config("LSTM", "lstm", return_sequences=True), layer("Dense", name="dense", units=2, activation="tanh", use_bias=True)],
        {"lstm/cell": rnn_vars("LSTM", lstm, "", False), "dense": [dense.weight.detach().numpy().T, dense.bias.detach().numpy()]},
        x.numpy(),
        y.numpy(),
        functional=True,
    )

    # Legacy Keras 2 .h5: SimpleRNN (all steps) then TimeDistributed(Dense).
    rnn = torch.nn.RNN(I, H, batch_first=True)
    dense = torch.nn.Linear(H, 2)
    with torch.no_grad():
        y = dense(rnn(x)[0])
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "SimpleRNN", "config": {**rnn_config("SimpleRNN", "simple_rnn", return_sequences=True)["config"], "batch_input_shape": [None, T, I]}},
                {"class_name": "TimeDistributed", "config": {"name": "time_distributed", "layer": {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "linear", "use_bias": True}}}},
            ],
        },
    }
    with h5py.File(os.path.join(OUT, "simple_rnn_time_distributed.h5"), "w") as f:
        f.attrs["keras_version"] = b"2.11.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"simple_rnn", b"time_distributed"]
        names = ["simple_rnn/simple_rnn_cell/kernel:0", "simple_rnn/simple_rnn_cell/recurrent_kernel:0", "simple_rnn/simple_rnn_cell/bias:0"]
        g = mw.create_group("simple_rnn")
        g.attrs["weight_names"] = [n.encode() for n in names]
        for n, a in zip(names, rnn_vars("RNN", rnn, "", False)):
            g.create_dataset(n, data=a.astype(np.float32), track_times=False)
        names = ["time_distributed/kernel:0", "time_distributed/bias:0"]
        g = mw.create_group("time_distributed")
        g.attrs["weight_names"] = [n.encode() for n in names]
        g.create_dataset(names[0], data=dense.weight.detach().numpy().T.astype(np.float32), track_times=False)
        g.create_dataset(names[1], data=dense.bias.detach().numpy().astype(np.float32), track_times=False)
    save_ref("simple_rnn_time_distributed", x.numpy(), y.numpy())
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
