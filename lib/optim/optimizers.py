"""torch optimizers of chapter 5: EMA-form SGDM, SGDM and Adam with accumulation built in, and
the explicit-accumulation reference that wraps any optimizer.

Usage in any training loop (one ``step()`` per micro-batch)::

    opt = AccumSGDM(model.parameters(), lr=0.05, beta=0.9, k=4)
    for x, y in micro_batches:
        loss_fn(model(x), y).backward()
        opt.step()          # moves the parameters only every k-th call
        opt.zero_grad()
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.optim import Optimizer

from lib import checks
from lib.optim.formulas import VARIANTS, _check_k, _check_real, beta_tilde


def _grad_of(p: torch.Tensor) -> torch.Tensor | None:
    g = p.grad
    if g is not None and g.is_sparse:
        raise RuntimeError("sparse gradients are not supported by this optimizer")
    return g


class EMASGDM(Optimizer):
    """Plain SGD with momentum in EMA form: m = beta m + (1 - beta) g; theta -= lr m (ch. 5, eq. 2).

    The reference the accumulating optimizers are compared with. ``torch.optim.SGD(momentum=beta)``
    is not this form (no (1 - beta) factor, and its buffer starts at g); with constant beta,
    ``SGD(lr=lr * (1 - beta), momentum=beta)`` follows the same trajectory. Decoupled weight
    decay: theta <- theta (1 - lr wd) before the step. Parameters whose ``.grad`` is None are
    skipped, as in torch.
    """

    def __init__(self, params, lr: float = 1e-2, beta: float = 0.9, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay))

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        _check_real("lr", g["lr"], 0.0)
        _check_real("beta", g["beta"], 0.0, 1.0)
        _check_real("weight_decay", g["weight_decay"], 0.0)

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, beta, wd = group["lr"], group["beta"], group["weight_decay"]
            for p in group["params"]:
                g = _grad_of(p)
                if g is None:
                    continue
                state = self.state[p]
                if not state:
                    state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                m = state["momentum"]
                m.mul_(beta).add_(g, alpha=1 - beta)
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_(m, alpha=-lr)
        return loss


class _Accumulating(Optimizer):
    """Shared bookkeeping: one micro-step counter per group, the same k in every group."""

    def __init__(self, params, defaults: dict):
        self._k = _check_k(defaults["k"])
        checks.choice("variant", defaults["variant"], VARIANTS)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        variant = self.defaults["variant"]
        if param_group.get("k", self._k) != self._k or param_group.get("variant", variant) != variant:
            raise ValueError(
                f"k={param_group.get('k')!r}, variant={param_group.get('variant')!r}: every parameter group must use "
                f"the optimizer's k={self._k} and variant={variant!r}"
            )
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        # A new group joins the current phase so that all groups share one window.
        group["micro_step"] = self.param_groups[0].get("micro_step", 0) if len(self.param_groups) > 1 else 0
        self._check_group(group)

    def _check_group(self, group: dict) -> None:  # overridden
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        """One micro-step: every group's state advances; the parameters move when chi(t, k) = 1."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            t, k = group["micro_step"] + 1, group["k"]
            self._step_group(group, window_start=(t - 1) % k == 0, update=t % k == 0)
            group["micro_step"] = t
        return loss

    def _step_group(self, group: dict, window_start: bool, update: bool) -> None:  # overridden
        raise NotImplementedError

    @property
    def k(self) -> int:
        """The number of micro-steps per accumulation window."""
        return self.param_groups[0]["k"]

    @property
    def micro_step(self) -> int:
        """Number of ``step()`` calls so far (saved in ``state_dict()``)."""
        return self.param_groups[0]["micro_step"]

    @property
    def num_updates(self) -> int:
        """Number of parameter updates so far: floor(micro_step / k)."""
        return self.micro_step // self.k

    def is_update_step(self) -> bool:
        """Whether the next ``step()`` will move the parameters (chi((t+1), k) == 1)."""
        return (self.micro_step + 1) % self.k == 0


class AccumSGDM(_Accumulating):
    """EMA-form SGD with momentum with k-step gradient accumulation built in (ch. 5, eq. 6).

    Call ``step()`` once per micro-step, after ``backward()``, and zero the gradients every
    micro-step. ``variant="chi"`` (default) is exactly explicit accumulation:

        m_t = c_t m_{t-1} + (1 - beta)/k g_t,  c_t = beta if (t - 1) % k == 0 else 1
        theta_t = theta_{t-1} - chi(t, k) lr m_t    (decoupled weight decay also gated by chi)

    ``"beta_tilde"`` uses m_t = bt m_{t-1} + (1 - bt) g_t with bt = 1 - (1 - beta)/k, and
    ``"sparse"`` the same with beta itself; both are approximations of accumulation.

    Missing gradients: a parameter is left alone until it first has a gradient; from then on,
    a micro-step in which its ``.grad`` is None counts as a zero gradient (the window-start decay
    still applies and it moves at every update). So ``zero_grad(set_to_none=True)`` and
    ``zero_grad(set_to_none=False)`` give identical results, and a branch that is skipped in
    some micro-batches is treated as explicit accumulation treats it (its sum gets zeros).
    The micro-step counter lives in the parameter groups, so ``state_dict()`` carries it and a
    resume in the middle of a window continues correctly. ``k=1`` is :class:`EMASGDM`.
    """

    def __init__(self, params, lr: float = 1e-2, beta: float = 0.9, k: int = 1, variant: str = "chi",
                 weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, beta=beta, k=k, variant=variant, weight_decay=weight_decay))

    def _check_group(self, group: dict) -> None:
        _check_real("lr", group["lr"], 0.0)
        _check_real("beta", group["beta"], 0.0, 1.0)
        _check_real("weight_decay", group["weight_decay"], 0.0)

    def _step_group(self, group: dict, window_start: bool, update: bool) -> None:
        k, beta, lr, wd, variant = group["k"], group["beta"], group["lr"], group["weight_decay"], group["variant"]
        if variant == "chi":
            decay, share = (beta if window_start else 1.0), (1 - beta) / k
        else:
            b = beta_tilde(beta, k) if variant == "beta_tilde" else beta
            decay, share = b, 1 - b
        for p in group["params"]:
            g = _grad_of(p)
            if p not in self.state:  # (self.state is a defaultdict: do not create entries for unseen p)
                if g is None:
                    continue
                self.state[p]["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            m = self.state[p]["momentum"]
            if decay != 1.0:
                m.mul_(decay)
            if g is not None:
                m.add_(g, alpha=share)
            if update:
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_(m, alpha=-lr)


class AccumAdam(_Accumulating):
    """Adam with k-step accumulation built in (ch. 5, sec. 7); approximate by construction.

    ``variant="chi"``: m and v get the chi-form recursion of :class:`AccumSGDM` (v with g^2),
    bias correction uses n, the number of updates of the parameter:
    m_hat = m / (1 - beta1^n), v_hat = v / (1 - beta2^n). The v it builds is the mean of squared
    micro-gradients, not the square of their mean, so it is exact only when all micro-gradients
    of a window are equal. ``"beta_tilde"`` runs plain Adam with beta_i -> 1 - (1 - beta_i)/k and
    ``"sparse"`` plain Adam with the original betas; both bias-correct with the number of
    micro-steps t (their EMAs have total weight 1 - b^t) and update only when chi(t, k) = 1.

    Update: theta -= lr m_hat / (sqrt(v_hat) + eps) like ``torch.optim.Adam``, or
    lr m_hat / sqrt(v_hat + eps) as the article writes it (``eps_inside_sqrt=True``).
    Decoupled weight decay (AdamW) is gated by chi. With k=1, eps outside and the same weight
    decay this is ``torch.optim.AdamW`` (``torch.optim.Adam`` without weight decay). Missing
    gradients and the counter behave as in :class:`AccumSGDM`.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 k: int = 1, variant: str = "chi", eps_inside_sqrt: bool = False, weight_decay: float = 0.0):
        if not isinstance(eps_inside_sqrt, bool):
            raise TypeError(f"eps_inside_sqrt={eps_inside_sqrt!r} must be True or False")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, k=k, variant=variant,
                                      eps_inside_sqrt=eps_inside_sqrt, weight_decay=weight_decay))

    def _check_group(self, group: dict) -> None:
        _check_real("lr", group["lr"], 0.0)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas={betas!r} must be a pair (beta1, beta2)")
        for name, b in zip(("betas[0]", "betas[1]"), betas):
            _check_real(name, b, 0.0, 1.0)
        _check_real("eps", group["eps"], 0.0)
        _check_real("weight_decay", group["weight_decay"], 0.0)

    @staticmethod
    def _betas(group: dict) -> tuple[float, float]:
        """The betas the EMAs use: 1 - (1 - beta)/k for "beta_tilde", the given ones otherwise."""
        if group["variant"] == "beta_tilde":
            return tuple(beta_tilde(b, group["k"]) for b in group["betas"])
        return tuple(group["betas"])

    @staticmethod
    def _bias_steps(state: dict, variant: str) -> int:
        """The n of the bias correction 1 - beta^n: updates for "chi", micro-steps otherwise."""
        return state["updates"] if variant == "chi" else state["micro_steps"]

    def _step_group(self, group: dict, window_start: bool, update: bool) -> None:
        k, variant, lr, wd, eps = group["k"], group["variant"], group["lr"], group["weight_decay"], group["eps"]
        b1, b2 = self._betas(group)
        for p in group["params"]:
            g = _grad_of(p)
            if p not in self.state and g is None:
                continue
            state = self.state[p]
            if not state:
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["micro_steps"], state["updates"] = 0, 0
            m, v = state["exp_avg"], state["exp_avg_sq"]
            state["micro_steps"] += 1
            if variant == "chi":
                if window_start:
                    m.mul_(b1)
                    v.mul_(b2)
                if g is not None:
                    m.add_(g, alpha=(1 - b1) / k)
                    v.addcmul_(g, g, value=(1 - b2) / k)
            else:
                m.mul_(b1)
                v.mul_(b2)
                if g is not None:
                    m.add_(g, alpha=1 - b1)
                    v.addcmul_(g, g, value=1 - b2)
            if not update:
                continue
            state["updates"] += 1
            n = self._bias_steps(state, variant)
            m_hat = m / (1 - b1**n)
            v_hat = v / (1 - b2**n)
            denom = (v_hat + eps).sqrt() if group["eps_inside_sqrt"] else v_hat.sqrt().add_(eps)
            if wd:
                p.mul_(1 - lr * wd)
            p.addcdiv_(m_hat, denom, value=-lr)

    def v_hat(self, p: torch.Tensor) -> torch.Tensor:
        """The current bias-corrected second moment v_hat of ``p`` (zeros before its first update).

        Read it right after an update step: in the middle of a window the chi-form's v is a
        partial sum.
        """
        state = self.state.get(p)
        if not state or state["updates"] == 0:
            return torch.zeros_like(p)
        group = next(g for g in self.param_groups if any(q is p for q in g["params"]))
        return state["exp_avg_sq"] / (1 - self._betas(group)[1] ** self._bias_steps(state, group["variant"]))


class ExplicitAccumulator:
    """Explicit k-step accumulation around any torch optimizer: the reference (ch. 5, sec. 3).

    Keeps one extra buffer per parameter (the "extra set of variables" of the article's Keras
    implementation). Call ``step()`` once per micro-step after ``backward()`` and zero the
    gradients every micro-step (``zero_grad()`` here forwards to the wrapped optimizer). Every
    k-th call sets each parameter's ``.grad`` to its buffer / k (the window mean; zeros for a
    parameter that had a gradient before but none in this window, None for one never seen),
    calls ``optimizer.step()``, clears the buffers and leaves every ``.grad`` None.
    """

    def __init__(self, optimizer: Optimizer, k: int):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.k = _check_k(k)
        self.micro_step = 0
        self.buffers: dict[torch.Tensor, torch.Tensor] = {}

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    @property
    def num_updates(self) -> int:
        return self.micro_step // self.k

    @torch.no_grad()
    def step(self) -> None:
        self.micro_step += 1
        params = self._params()
        for p in params:
            g = _grad_of(p)
            if g is None:
                continue
            if p in self.buffers:
                self.buffers[p].add_(g)
            else:
                self.buffers[p] = g.detach().clone()
        if self.micro_step % self.k:
            return
        for p in params:
            p.grad = self.buffers[p] / self.k if p in self.buffers else None
        self.optimizer.step()
        for p in params:
            p.grad = None
        for buf in self.buffers.values():
            buf.zero_()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        params = self._params()
        return {"optimizer": self.optimizer.state_dict(), "micro_step": self.micro_step,
                "buffers": [self.buffers[p].clone() if p in self.buffers else None for p in params]}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.micro_step = int(state["micro_step"])
        params = self._params()
        if len(state["buffers"]) != len(params):
            raise ValueError(f"state has {len(state['buffers'])} buffers for {len(params)} parameters")
        self.buffers = {p: b.to(p).clone() for p, b in zip(params, state["buffers"]) if b is not None}
