"""The Res2Vec estimator: embeddings computed, not trained.

Stages (each timed): vocabulary -> co-occurrence -> PPMI -> truncated SVD -> geometry.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from gensim.models import KeyedVectors

from mobius_init.cooccurrence import distance_weights
from mobius_init.spectral import mstar_eigenpairs, randomized_svd
from mobius_init.stats import CorpusStats

from .resonance import (
    information_capacity,
    metric_tensor,
    optimal_dimension,
    resonance_curve,
    sample_pairs,
    self_consistent_dimension,
)

METHODS = ("ppmi_svd", "mstar")


class Res2Vec:
    """Count-based word embeddings with a self-consistent dimension.

    Parameters (scikit-learn style; nothing is computed until :meth:`fit`):
        dim: ``"auto"`` (the fixed point of ``d <- d*(V, R(d))``, see :mod:`res2vec.resonance`) or an int.
        max_dim: size of the one SVD from which every ``d <= max_dim`` is a truncation (default 300).
        method: ``"ppmi_svd"`` (PPMI -> SVD, ``U S^eig``) or ``"mstar"`` (eigenvectors of word2vec's
            M* scaled by sqrt(eigenvalue), Karkada et al. 2025; ``cds``/``eig`` do not apply).
        window, weighting: co-occurrence window (default 5) and distance weighting (default:
            ``harmonic`` for ``ppmi_svd``, word2vec's ``linear`` for ``mstar``).
        min_count, max_vocab: vocabulary filters (default 10, no cap). normalize: text preset (``text8``).
        cds: context-distribution smoothing of PPMI (0.75; 1.0 is plain PPMI). eig: exponent p of U S^p (0.5).
        n_iter: power iterations of the randomized SVD. n_pairs, pair_vocab: the resonance sample.
        seed: seeds the SVD sketch and the pair sample. progress: tqdm bars.

    After fit: ``wv`` (gensim ``KeyedVectors``, most frequent word first), ``metric_`` (d x d),
    ``results_`` (dict; see :meth:`results`), ``curve_`` (R(d) for d = 1..max_dim).
    """

    def __init__(
        self,
        dim: int | str = "auto",
        max_dim: int = 300,
        method: str = "ppmi_svd",
        window: int = 5,
        weighting: str | None = None,
        min_count: int = 10,
        max_vocab: int | None = None,
        normalize: str = "text8",
        cds: float = 0.75,
        eig: float = 0.5,
        n_iter: int = 5,
        n_pairs: int = 10_000,
        pair_vocab: int = 10_000,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.dim = dim
        self.max_dim = max_dim
        self.method = method
        self.window = window
        self.weighting = weighting
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.normalize = normalize
        self.cds = cds
        self.eig = eig
        self.n_iter = n_iter
        self.n_pairs = n_pairs
        self.pair_vocab = pair_vocab
        self.seed = seed
        self.progress = progress
        self.wv: KeyedVectors | None = None
        self.metric_: np.ndarray | None = None
        self.curve_: np.ndarray | None = None
        self.results_: dict[str, Any] | None = None
        self.evaluation_: dict[str, Any] | None = None

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (what ``results.json`` records as ``params``)."""
        names = (
            "dim",
            "max_dim",
            "method",
            "window",
            "weighting",
            "min_count",
            "max_vocab",
            "normalize",
            "cds",
            "eig",
            "n_iter",
            "n_pairs",
            "pair_vocab",
            "seed",
        )
        return {name: getattr(self, name) for name in names}

    def _validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if not (isinstance(self.max_dim, int) and self.max_dim >= 2):
            raise ValueError(f"max_dim must be an integer >= 2, got {self.max_dim!r}")
        if self.dim != "auto" and not (isinstance(self.dim, int) and 1 <= self.dim <= self.max_dim):
            raise ValueError(f"dim must be 'auto' or an integer in [1, max_dim = {self.max_dim}], got {self.dim!r}")
        if not (np.isfinite(self.eig) and np.isfinite(self.cds) and self.cds > 0):
            raise ValueError(f"eig must be finite and cds positive, got eig={self.eig}, cds={self.cds}")
        distance_weights(self.window, self._weighting())

    def _weighting(self) -> str:
        return self.weighting or ("linear" if self.method == "mstar" else "harmonic")

    def fit(self, source: Any) -> Res2Vec:
        """Compute the embeddings of ``source`` (anything ``mobius_init.read_corpus`` reads)."""
        self._validate()
        seconds: dict[str, float] = {}
        stats = CorpusStats.from_corpus(
            source,
            tokenizer="word",
            min_count=self.min_count,
            max_size=self.max_vocab,
            window=self.window,
            weighting=self._weighting(),
            normalize=self.normalize,
            progress=self.progress,
            timings=seconds,
        )
        V = stats.vocab_size
        if V <= self.max_dim:
            raise ValueError(
                f"the corpus gives a vocabulary of {V} words (min_count={self.min_count}), too small for "
                f"max_dim={self.max_dim}: lower max_dim or min_count, or use a larger corpus"
            )
        t0 = time.perf_counter()
        if self.method == "ppmi_svd":
            ppmi = stats.ppmi(self.cds)
            seconds["ppmi"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            U, S, _ = randomized_svd(ppmi, self.max_dim, n_iter=self.n_iter, seed=self.seed)
            E_full = U * S**self.eig
            seconds["svd"] = time.perf_counter() - t0
        else:
            vals, vecs = mstar_eigenpairs(stats.C, stats.vocab.counts, self.max_dim, seed=self.seed)
            E_full = vecs * np.sqrt(np.maximum(vals, 0.0))
            seconds["mstar_eigenpairs"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        curve = resonance_curve(E_full, sample_pairs(V, self.n_pairs, self.pair_vocab, self.seed))
        if self.dim == "auto":
            fixed = self_consistent_dimension(V, curve)
            dim, message, crossing = fixed.dim, fixed.message, fixed.crossing
        else:
            dim, message, crossing = self.dim, f"dim fixed at {self.dim} by the caller", None
        E = np.ascontiguousarray(E_full[:, :dim], dtype=np.float32)
        self.metric_ = metric_tensor(E)
        seconds["geometry"] = time.perf_counter() - t0
        R = float(curve[dim - 1])
        d_opt = float(optimal_dimension(V, R))
        self.curve_ = curve
        self.wv = keyed_vectors(stats.vocab.tokens, E, stats.vocab.counts)
        self.results_ = {
            "dim": dim,
            "vocab_size": V,
            "R_avg": R,
            "I_capacity": float(information_capacity(R)),
            "d_optimal": d_opt,
            "gap": d_opt - dim,
            "is_fixed_point": bool(crossing is not None and abs(d_opt - dim) < 1.0),
            "dimension_search": message,
            "crossing": crossing,
            "weighting": stats.weighting,
            "n_tokens": stats.n_tokens,
            "n_tokens_raw": stats.n_tokens_raw,
            "n_docs": stats.n_docs,
            "metric_offdiagonal_max": float(np.abs(self.metric_ - np.diag(np.diag(self.metric_))).max()),
            "params": self.get_params(),
            "seconds": seconds,
            "curve": [
                {"d": int(d), "R": float(r), "d_optimal": float(optimal_dimension(V, r))}
                for d, r in zip(range(1, len(curve) + 1), curve, strict=True)
            ],
        }
        self.evaluation_ = None
        return self

    def _check_fitted(self) -> None:
        if self.wv is None:
            raise ValueError("this Res2Vec is not fitted yet: call fit(source) first")

    def evaluate(self, **kwargs: Any) -> dict[str, Any]:
        """Run :func:`res2vec.evaluate` on ``wv`` and keep the result (written by :meth:`save`)."""
        from .evaluate import evaluate

        self._check_fitted()
        self.evaluation_ = evaluate(self.wv, **kwargs)
        return self.evaluation_

    def save(self, directory: str) -> None:
        """Write ``embeddings.npy``, ``vocab.json``, ``metric.npy``, ``results.json`` and
        ``evaluation.json`` (the default benchmarks are run first if :meth:`evaluate` was not)."""
        from .io import save

        self._check_fitted()
        if self.evaluation_ is None:
            self.evaluate()
        save(self, directory)


def keyed_vectors(tokens: tuple[str, ...] | list[str], E: np.ndarray, counts: np.ndarray | None = None) -> KeyedVectors:
    """A gensim ``KeyedVectors`` holding ``E`` (float32) in the given word order."""
    kv = KeyedVectors(vector_size=E.shape[1], dtype=np.float32)
    kv.add_vectors(list(tokens), np.asarray(E, dtype=np.float32))
    if counts is not None:  # add_vectors(extras=...) is broken in gensim 4.4, so set the attribute after
        kv.allocate_vecattrs(["count"], [np.int64])
        kv.expandos["count"][:] = counts
    return kv
