#!/usr/bin/python3
"""PyTorch peer of bench/attention.js (not a workload itself): the same attention decoder
(additive or Luong "general" attention, masked softmax, context, GRUCell or LSTMCell on
[embedding; context], output layer on [embedding; context; h]) from the same weights and
inputs, one thread.

Reads JSON lines on stdin. The first: {"dims", "cell", "score", "weights": {name: [floats]}, "annotations",
"mask", "inputs", "targets", "beam": {"width", "steps", "sources"}}, answered with the loss of
the first training step (the cross-check) and the torch version. Then {"op": "train" | "beam",
"ms"}: the times (ms) of as many calls as fit in ms (at least 3), so that bench/attention.js can
alternate rounds of both engines under the same load.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class Decoder(nn.Module):
    def __init__(self, V, D, A, E, H, cell, score):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.additive = score == "additive"
        self.key = nn.Linear(D, A, bias=self.additive)
        if self.additive:
            self.query = nn.Linear(H, A, bias=False)
            self.v = nn.Parameter(torch.zeros(A))
        self.lstm = cell == "lstm"
        self.cell = nn.LSTMCell(E + D, H) if self.lstm else nn.GRUCell(E + D, H)
        self.out = nn.Linear(E + D + H, V)
        self.H = H

    def step(self, ann, keys, mask, tok, state):
        h = state[0] if self.lstm else state
        if self.additive:
            e = torch.tanh(keys + self.query(h)[:, None, :]) @ self.v
        else:
            e = torch.bmm(keys, h[:, :, None])[:, :, 0]
        a = torch.softmax(e.masked_fill(mask == 0, float("-inf")), dim=1)
        z = torch.bmm(a[:, None, :], ann)[:, 0]
        x = torch.cat([self.embedding(tok), z], 1)
        state = self.cell(x, state)
        h = state[0] if self.lstm else state
        return self.out(torch.cat([x, h], 1)), state, a

    def initial(self, ann, rows):
        h = ann.new_zeros(rows, self.H)
        return (h, ann.new_zeros(rows, self.H)) if self.lstm else h

    def forward(self, ann, mask, inputs):
        B, T = inputs.shape
        keys = self.key(ann)
        state = self.initial(ann, B)
        logits = []
        for t in range(T):
            y, state, _ = self.step(ann, keys, mask, inputs[:, t], state)
            logits.append(y)
        return torch.stack(logits, 1)


def load(model, w):
    names = {
        "embedding.weight": model.embedding.weight, "attention.key.weight": model.key.weight, "cell.weight_ih": model.cell.weight_ih,
        "cell.bias_ih": model.cell.bias_ih, "cell.weight_hh": model.cell.weight_hh, "cell.bias_hh": model.cell.bias_hh,
        "out.weight": model.out.weight, "out.bias": model.out.bias,
    }
    if model.additive:
        names.update({"attention.key.bias": model.key.bias, "attention.query.weight": model.query.weight, "attention.v": model.v})
    with torch.no_grad():
        for k, p in names.items():
            p.copy_(torch.tensor(w[k], dtype=torch.float32).reshape(p.shape))


def beam(model, ann, mask, width, steps, start):
    # Batched beam search without an end token: every source keeps `width` rows for `steps` steps.
    S, L, D = ann.shape
    V = model.out.out_features
    with torch.no_grad():
        ann_k = ann.repeat_interleave(width, 0)
        mask_k = mask.repeat_interleave(width, 0)
        keys = model.key(ann_k)
        state = model.initial(ann, S * width)
        tok = torch.full((S * width,), start, dtype=torch.long)
        score = torch.full((S, width), float("-inf"))
        score[:, 0] = 0
        for _ in range(steps):
            y, state, _ = model.step(ann_k, keys, mask_k, tok, state)
            cand = (score[:, :, None] + torch.log_softmax(y, 1).view(S, width, V)).view(S, width * V)
            score, idx = cand.topk(width, 1)
            parent = (idx // V) + torch.arange(S)[:, None] * width
            tok = (idx % V).view(-1)
            rows = parent.view(-1)
            state = tuple(x.index_select(0, rows) for x in state) if model.lstm else state.index_select(0, rows)
    return score


def samples_ms(fn, ms):
    # Wall and process CPU time (ms) per call, as bench/attention.js measures its own.
    wall, cpu = [], []
    t_end = time.perf_counter() + ms / 1000
    while len(wall) < 3 or time.perf_counter() < t_end:
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return {"wall": wall, "cpu": cpu}


def main():
    req = json.loads(sys.stdin.readline())
    d = req["dims"]
    B, L, T = d["B"], d["L"], d["T"]
    model = Decoder(d["V"], d["D"], d["A"], d["E"], d["H"], req["cell"], req["score"])
    load(model, req["weights"])
    ann = torch.tensor(req["annotations"], dtype=torch.float32).reshape(B, L, d["D"])
    mask = torch.tensor(req["mask"], dtype=torch.float32).reshape(B, L)
    inputs = torch.tensor(req["inputs"], dtype=torch.long).reshape(B, T)
    targets = torch.tensor(req["targets"], dtype=torch.long).reshape(B, T)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = []

    def train_step():
        a = ann.clone().requires_grad_(True)
        opt.zero_grad()
        loss = F.cross_entropy(model(a, mask, inputs).reshape(B * T, -1), targets.reshape(-1))
        loss.backward()
        opt.step()
        if not first:
            first.append(loss.item())

    train_step()
    bm = req["beam"]
    S = bm["sources"]
    def beam_run():
        beam(model, ann[:S], mask[:S], bm["width"], bm["steps"], 0)
    beam_run()
    reply({"loss": first[0], "torch": torch.__version__, "threads": torch.get_num_threads()})
    for line in sys.stdin:
        op = json.loads(line)
        reply(samples_ms(train_step if op["op"] == "train" else beam_run, op["ms"]))


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


main()
