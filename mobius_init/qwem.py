"""QWEM: the quartic word embedding model of Karkada, Simon, Bahri & DeWeese (2025), its
gradient-descent training and its closed-form learning dynamics. Dense: meant for V ~ 1,000.

With ``x_ij = w_i . w_j`` (tied embeddings ``W``, V x d), the quartic Maclaurin approximation of
word2vec's loss is, up to a constant,

    L(W) = sum_ij  G_ij x_ij^2 / 8  -  H_ij x_ij / 2,     G = P + p p^T,  H = P - p p^T,

minimised entrywise at ``x_ij = 2 H_ij / G_ij = M*_ij``. With ``weighting="constant"`` every ``G_ij``
is replaced by its mean ``g`` (and ``H`` by ``g M* / 2``): the loss becomes ``g/8 ||W W^T - M*||^2``
and gradient flow ``dW/dt = (g/2)(M* - W W^T) W`` is solved mode by mode. Along an eigenvector of M*
with eigenvalue ``lam > 0`` the squared singular value ``u`` follows the logistic curve

    u(t) = lam / (1 + (lam / u0 - 1) exp(-g lam t)),

so mode k switches on near ``t_k = log(lam_k / u0_k) / (g lam_k)``, largest eigenvalue first. Gradient
descent with step ``lr`` runs at ``t = lr * step``. ``weighting="corpus"`` keeps the true weights,
for which this is only an approximation: the example measures how close it comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from .matrices import mstar_dense

WEIGHTINGS = ("constant", "corpus")


def qwem_targets(
    C: sp.spmatrix, unigram_counts: np.ndarray, weighting: str = "constant"
) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(G, H)`` for the loss above (``P_ij = C_ij / sum C``, ``p_i = count_i / sum count``)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; choose one of {', '.join(WEIGHTINGS)}")
    P = C.toarray() / C.sum()
    p = np.asarray(unigram_counts, dtype=np.float64)
    p = p / p.sum()
    independent = np.outer(p, p)
    if weighting == "corpus":
        return P + independent, P - independent
    g = float(np.mean(P + independent))
    return np.full(P.shape, g), g * mstar_dense(C, unigram_counts) / 2


def qwem_loss(W: torch.Tensor, G: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    X = W @ W.T
    return (G * X * X).sum() / 8 - (H * X).sum() / 2


def curvature(W: torch.Tensor, G: torch.Tensor, H: torch.Tensor, *, iterations: int = 30, seed: int = 0) -> float:
    """The largest |eigenvalue| of the loss's Hessian at ``W`` (V x d), by power iteration on
    Hessian-vector products (autograd): gradient descent at ``W`` is stable for a step below 2 / this."""
    W = W.detach().requires_grad_()
    (grad,) = torch.autograd.grad(qwem_loss(W, G, H), W, create_graph=True)
    v = torch.randn(W.shape, generator=torch.Generator().manual_seed(seed), dtype=W.dtype).to(W.device)
    v /= v.norm()
    value = 0.0
    for _ in range(iterations):
        (Hv,) = torch.autograd.grad(grad, W, v, retain_graph=True)
        value = float(Hv.norm())
        if value == 0:
            return 0.0
        v = Hv / value
    return value


@dataclass
class QWEMRun:
    steps: np.ndarray  # recorded steps
    singular_values: np.ndarray  # len(steps) x d, descending
    mode_norms: np.ndarray  # len(steps) x d: ||q_kᵀ W|| for M*'s eigenvector q_k, k by eigenvalue
    eigenvalues: np.ndarray  # top-d eigenvalues of M*, descending
    eigenvectors: np.ndarray  # V x d, their eigenvectors
    u0: np.ndarray  # squared projection of W(0) on each eigenvector
    g: float  # mean weight
    lr: float
    losses: np.ndarray
    W: np.ndarray  # the final embedding, V x d

    def save(self, path: str | Path) -> None:
        """Every field in one ``.npz`` at exactly ``path``."""
        with open(path, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in vars(self).items()})

    @classmethod
    def load(cls, path: str | Path) -> QWEMRun:
        with np.load(path) as data:
            return cls(**{k: (float(data[k]) if data[k].ndim == 0 else data[k]) for k in data.files})

    def predicted(self) -> np.ndarray:
        """Closed-form singular values at the recorded steps (len(steps) x d)."""
        return predicted_singular_values(self.eigenvalues, self.u0, self.g, self.lr * self.steps)


def predicted_singular_values(lam: np.ndarray, u0: np.ndarray, g: float, t: np.ndarray) -> np.ndarray:
    """``sqrt(u_k(t))`` of the logistic solution for each mode (eigenvalues <= 0 decay to 0)."""
    lam, u0, t = np.asarray(lam, float), np.asarray(u0, float), np.asarray(t, float)[:, None]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        u = lam / (1 + (lam / u0 - 1) * np.exp(-g * lam * t))
        decay = u0 / (1 + u0 * g * t)  # lam = 0 limit; negative lam decays faster still
    return np.sqrt(np.where(lam > 0, u, np.minimum(decay, u0)))


def train_qwem(
    C: sp.spmatrix,
    unigram_counts: np.ndarray,
    dim: int,
    *,
    steps: int = 3000,
    weighting: str = "constant",
    init_scale: float = 1e-6,
    rate: float = 0.02,
    record_every: int = 10,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> QWEMRun:
    """Full-batch gradient descent (plain SGD on the exact loss) from a tiny random init.

    ``init_scale``: the std of W(0) relative to ``sqrt(lam_1)``. ``rate``: ``lr * g * lam_1``, the step
    in units of the fastest mode's time constant (small = close to gradient flow). The step is also held
    below 1 / (the largest curvature of the loss), measured (:func:`curvature`) at W(0) and at the scale the
    descent converges to (M*'s top modes at full size), half the 2 / curvature stability limit: so a large
    init, or corpus weights far from their mean, cannot make the descent diverge. ``device``: where the
    float64 descent runs (the init is drawn on the CPU, so every device starts from the same W(0)).
    """
    G_np, H_np = qwem_targets(C, unigram_counts, weighting)
    M = mstar_dense(C, unigram_counts)
    lam_all, Q = np.linalg.eigh(M)
    order = np.argsort(-lam_all)[:dim]
    lam, vecs = lam_all[order], Q[:, order]
    if lam[0] <= 0:
        raise ValueError("M* has no positive eigenvalue: nothing to learn")
    g = float(np.mean(G_np))
    generator = torch.Generator().manual_seed(seed)
    V = M.shape[0]
    W0 = torch.randn(V, dim, generator=generator, dtype=torch.float64) * init_scale * np.sqrt(lam[0])
    u0 = np.sum((vecs.T @ W0.numpy()) ** 2, axis=1)
    G, H = torch.from_numpy(G_np).to(device), torch.from_numpy(H_np).to(device)
    converged = torch.from_numpy(vecs * np.sqrt(np.maximum(lam, 0))).to(device)
    steepest = max(curvature(W0.to(device), G, H, seed=seed), curvature(converged, G, H, seed=seed))
    lr = min(rate / (g * lam[0]), 1.0 / steepest)
    W = W0.to(device).requires_grad_()
    recorded, values, modes, losses = _descend(
        W, G, H, torch.from_numpy(vecs).to(device), lr, steps, record_every, rate
    )
    return QWEMRun(
        np.array(recorded),
        np.array(values),
        np.array(modes),
        lam,
        vecs,
        u0,
        g,
        lr,
        np.array(losses),
        W.detach().cpu().numpy().copy(),
    )


def _descend(
    W: torch.Tensor,
    G: torch.Tensor,
    H: torch.Tensor,
    Q_t: torch.Tensor,
    lr: float,
    steps: int,
    record_every: int,
    rate: float,
) -> tuple[list[int], list[np.ndarray], list[np.ndarray], list[float]]:
    """Plain SGD on :func:`qwem_loss` in place on ``W``, recording (step, singular values, norms along
    ``Q_t``'s modes, loss) every ``record_every`` steps and at the last."""
    recorded, values, modes, losses = [], [], [], []
    optimizer = torch.optim.SGD([W], lr=lr)
    for step in range(steps + 1):
        loss = qwem_loss(W, G, H)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"QWEM's gradient descent diverged at step {step} (loss {loss.item()}): the step, rate={rate} in "
                f"units of the mean-weight time constant, is too large for this init and weighting; lower rate"
            )
        if step % record_every == 0 or step == steps:
            recorded.append(step)
            values.append(torch.linalg.svdvals(W.detach()).cpu().numpy())
            modes.append(torch.linalg.norm(Q_t.T @ W.detach(), dim=1).cpu().numpy())
            losses.append(loss.item())
        if step == steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return recorded, values, modes, losses


def switch_steps(values: np.ndarray, steps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """First recorded step at which each column of ``values`` reaches ``targets`` (NaN if never)."""
    out = np.full(values.shape[1], np.nan)
    for k in range(values.shape[1]):
        hit = np.flatnonzero(values[:, k] >= targets[k])
        if len(hit):
            out[k] = steps[hit[0]]
    return out
