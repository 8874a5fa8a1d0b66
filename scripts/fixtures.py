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
import os

from fixtures_common import ROOT
from fixtures_esn import make_esn
from fixtures_torch import make_torch


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
