#!/usr/bin/env python3
"""Golden outputs of torchattacks (Harry24k/adversarial-attacks-pytorch) for
tests/models/test_attacks.cpp: FGSM and PGD (no random start, so the outputs are
deterministic) on a small linear two-class model both sides can run, and the Square attack's
p schedule. Made once with Debian's python3-torch:

    git -C <mirror of Harry24k/adversarial-attacks-pytorch> archive HEAD torchattacks | tar -x -C /tmp/ta
    TORCHATTACKS=/tmp/ta /usr/bin/python3 tests/data/make_attacks_golden.py > tests/data/attacks_golden.json

The model: logits = W x + b (x: the 3 x 8 x 8 image flattened, channel-major); safescan's
side is a linear backbone with a softmax head whose score is p(class 1). Cross-entropy on
the label, as torchattacks maximises it, raises p(1) of a label-0 item and lowers p(1) of a
label-1 item: the same sign of gradient as safescan's attack on the score.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.environ.get("TORCHATTACKS", "/tmp/ta"))
import torchattacks  # noqa: E402


class Linear(torch.nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w), requires_grad=False)
        self.b = torch.nn.Parameter(torch.tensor(b), requires_grad=False)

    def forward(self, x):
        return x.flatten(1) @ self.w.T + self.b


def main():
    rng = np.random.default_rng(2023)
    n, d = 6, 3 * 8 * 8
    x = (rng.integers(0, 256, size=(n, 3, 8, 8)) / 255.0).astype(np.float32)
    x[0, 0, 0, :4] = [0.0, 1.0, 0.0, 1.0]  # pixels at the bounds
    w = (rng.standard_normal((2, d)) * 0.05).astype(np.float32)
    b = np.array([0.1, -0.1], dtype=np.float32)
    labels = np.array([0, 1, 0, 1, 1, 0], dtype=np.int64)
    model = Linear(w, b).eval()
    xt, yt = torch.tensor(x), torch.tensor(labels)

    cases = []
    for eps in (2 / 255, 8 / 255):
        adv = torchattacks.FGSM(model, eps=eps)(xt, yt)
        cases.append({"attack": "fgsm", "eps": eps, "steps": 1, "alpha": eps, "adversarial": adv.numpy().ravel().tolist()})
        alpha = 2.5 * eps / 10
        adv = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=10, random_start=False)(xt, yt)
        cases.append({"attack": "pgd", "eps": eps, "steps": 10, "alpha": alpha, "adversarial": adv.numpy().ravel().tolist()})

    sq = torchattacks.Square(model, eps=8 / 255, p_init=0.8)
    schedules = []
    for queries in (1000, 37, 5000):
        sq.n_queries = queries
        schedules.append({"queries": queries, "p_init": 0.8, "p": [sq.p_selection(i) for i in range(queries)]})

    json.dump({"source": "torchattacks " + torchattacks.__version__ + ", torch " + torch.__version__,
               "n": n, "shape": [3, 8, 8], "x": x.ravel().tolist(), "w": w.ravel().tolist(), "b": b.tolist(),
               "labels": labels.tolist(), "cases": cases, "square_schedules": schedules}, sys.stdout)


if __name__ == "__main__":
    main()
