"""NTK parameterization in torch: weights N(0, 1), output divided by sqrt(fan-in) (chapter 6, section 4).

At initialization an NTK layer computes what a LeCun layer computes; what differs is how far one
optimizer step moves the weights, and which learning rate makes the two train alike (derived in
the chapter). torch is imported inside the functions, so importing this module stays cheap.
Chapter 6, after Su Jianlin, kexue.fm/archives/8620.
"""
from __future__ import annotations

import math

from lib import checks


def ntk_linear(in_features: int, out_features: int, bias: bool = True, seed: int = 0, dtype=None):
    r"""A torch layer in NTK parameterization: weight ~ N(0, 1), output
    :math:`xW^\top/\sqrt{\text{in}}+b`, bias zero (chapter 6, section 4).
    At initialization it has the statistics of ``nn.Linear`` with LeCun variance 1/in.
    ``dtype`` defaults to torch's default float type."""
    import torch

    in_features = checks.integer("in_features", in_features, at_least=1)
    out_features = checks.integer("out_features", out_features, at_least=1)

    class NTKLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            gen = torch.Generator().manual_seed(int(seed))
            w = torch.randn(out_features, in_features, generator=gen, dtype=dtype)  # (out, in)
            self.weight = torch.nn.Parameter(w)
            self.bias = torch.nn.Parameter(torch.zeros(out_features, dtype=dtype)) if bias else None
            self.scale = in_features**-0.5

        def forward(self, x):  # (..., in) -> (..., out)
            y = torch.nn.functional.linear(x, self.weight) * self.scale
            return y + self.bias if self.bias is not None else y

    return NTKLinear()


def standard_linear(in_features: int, out_features: int, seed: int = 0, dtype=None):
    """``nn.Linear`` without bias and with LeCun normal init, drawn from the same standard
    normals as :func:`ntk_linear` with the same seed (so the two compute the same function)."""
    import torch

    layer = ntk_linear(in_features, out_features, bias=False, seed=seed, dtype=dtype)
    std = torch.nn.Linear(in_features, out_features, bias=False, dtype=layer.weight.dtype)
    with torch.no_grad():
        std.weight.copy_(layer.weight * layer.scale)
    return std


def _one_layer_run(width: int, parameterization: str, optimizer: str, lr: float, steps: int, seed: int,
                   out_features: int, batch: int, dtype, eps: float):
    import torch

    checks.choice("parameterization", parameterization, {"ntk", "standard"})
    checks.choice("optimizer", optimizer, {"adam", "sgd"})
    width, steps = checks.integer("width", width, at_least=1), checks.integer("steps", steps, at_least=1)
    lr = checks.real("lr", lr, above=0)
    layer = (ntk_linear(width, out_features, bias=False, seed=seed, dtype=dtype) if parameterization == "ntk"
             else standard_linear(width, out_features, seed=seed, dtype=dtype))
    gen = torch.Generator().manual_seed(int(seed) + 1)
    x = torch.randn(batch, width, generator=gen, dtype=dtype)  # (batch, width)
    y = torch.randn(batch, out_features, generator=gen, dtype=dtype)  # (batch, out)
    opt = (torch.optim.Adam(layer.parameters(), lr=lr, eps=eps) if optimizer == "adam"
           else torch.optim.SGD(layer.parameters(), lr=lr))
    w0 = layer.weight.detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(layer(x), y).backward()
        opt.step()
    return layer, x, w0


def relative_change_after_step(width: int, parameterization: str = "ntk", optimizer: str = "adam",
                               lr: float = 1e-2, *, steps: int = 1, seed: int = 0, out_features: int = 16,
                               batch: int = 64) -> float:
    r"""``‖W_after − W_before‖ / ‖W_before‖`` (Frobenius) for one layer ``width → out_features``
    trained ``steps`` steps on a random regression target (float32).

    With Adam the first update of every weight is ±lr, so the ratio is ≈ lr for NTK
    parameterization (weights O(1)) and ≈ lr·sqrt(width) for standard LeCun parameterization
    (weights O(1/sqrt(width))): the article's "1% per step at lr 1e-2" holds for NTK only.
    """
    import torch

    layer, _, w0 = _one_layer_run(width, parameterization, optimizer, lr, steps, seed, out_features, batch,
                                  torch.float32, 1e-8)
    return float(torch.linalg.norm(layer.weight.detach() - w0) / torch.linalg.norm(w0))


def equivalent_lr_gap(width: int, optimizer: str = "sgd", lr: float = 0.1, *, steps: int = 3, seed: int = 0,
                      out_features: int = 8, batch: int = 32, std_lr: float | None = None) -> float:
    """Largest output difference (float64) between an NTK layer trained with ``lr`` and the
    standard layer trained with ``std_lr``, by default the matching rate: ``lr/width`` for SGD
    (exact), ``lr/sqrt(width)`` for Adam (exact when Adam's epsilon is 0, which is used here).
    Derived in chapter 6, not in the article."""
    import torch

    checks.choice("optimizer", optimizer, {"adam", "sgd"})
    width = checks.integer("width", width, at_least=1)
    if std_lr is None:
        std_lr = lr / width if optimizer == "sgd" else lr / math.sqrt(width)
    ntk, x, _ = _one_layer_run(width, "ntk", optimizer, lr, steps, seed, out_features, batch, torch.float64, 0.0)
    std, _, _ = _one_layer_run(width, "standard", optimizer, std_lr, steps, seed, out_features, batch,
                               torch.float64, 0.0)
    with torch.no_grad():
        return float((ntk(x) - std(x)).abs().max())
