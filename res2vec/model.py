"""The Res2Vec estimator: embeddings computed, not trained.

Stages (each timed): encode (vocabulary) -> co-occurrence -> PPMI -> truncated SVD -> geometry.
The embedding builders are :mod:`mobius_init.embeddings`' (the same ones behind the analytic inits).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mobius_init.cooccurrence import distance_weights
from mobius_init.embeddings import mstar_embeddings, ppmi_svd_embeddings
from mobius_init.encoding import encode_corpus
from mobius_init.stats import CorpusStats

from .io import keyed_vectors, read_directory, write_directory
from .resonance import (
    information_capacity,
    metric_tensor,
    optimal_dimension,
    resonance_curve,
    sample_pairs,
    self_consistent_dimension,
)

METHODS = ("ppmi_svd", "mstar")
FITTED = ("wv", "metric_", "curve_", "results_")


class Res2Vec:
    """Count-based word embeddings with a self-consistent dimension (scikit-learn's conventions:
    explicit parameters, ``fit`` returns self, fitted attributes exist only after ``fit``).

    Parameters:
        dim: ``"auto"`` (the fixed point of ``d <- d*(V, R(d))``, see :mod:`res2vec.resonance`) or an int.
        max_dim: size of the one SVD from which every ``d <= max_dim`` is a truncation (default 300).
        method: ``"ppmi_svd"`` (PPMI -> SVD, ``U S^eig``) or ``"mstar"`` (eigenvectors of word2vec's
            M* scaled by sqrt(eigenvalue), Karkada et al. 2025; ``cds``/``eig`` do not apply).
        window, weighting: co-occurrence window (default 5) and distance weighting (default:
            ``harmonic`` for ``ppmi_svd``, word2vec's ``linear`` for ``mstar``).
        min_count, vocab_size: vocabulary filters (default 10, no cap). normalize: text preset (``text8``).
        cds: context-distribution smoothing of PPMI (0.75; 1.0 is plain PPMI). eig: exponent p of U S^p (0.5).
        n_iter: power iterations of the randomized SVD. n_pairs, pair_vocab: the resonance sample.
        seed: seeds the SVD sketch and the pair sample. progress: tqdm bars.

    Fitted attributes: ``wv`` (gensim ``KeyedVectors`` with counts, most frequent word first),
    ``metric_`` (d x d), ``curve_`` (R(d) for d = 1..max_dim), ``results_`` (dict; see :meth:`fit`).
    """

    def __init__(
        self,
        dim: int | str = "auto",
        max_dim: int = 300,
        method: str = "ppmi_svd",
        window: int = 5,
        weighting: str | None = None,
        min_count: int = 10,
        vocab_size: int | None = None,
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
        self.vocab_size = vocab_size
        self.normalize = normalize
        self.cds = cds
        self.eig = eig
        self.n_iter = n_iter
        self.n_pairs = n_pairs
        self.pair_vocab = pair_vocab
        self.seed = seed
        self.progress = progress

    def __getattr__(self, name: str) -> Any:  # only called for attributes that do not exist
        if name in FITTED:
            raise AttributeError(f"this Res2Vec is not fitted yet, so it has no {name!r}: call fit(source) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (what ``results.json`` records as ``params``)."""
        names = (
            "dim",
            "max_dim",
            "method",
            "window",
            "weighting",
            "min_count",
            "vocab_size",
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
        t0 = time.perf_counter()
        encoded = encode_corpus(
            source,
            tokenizer="word",
            vocab_size=self.vocab_size,
            min_count=self.min_count,
            normalize=self.normalize,
            progress=self.progress,
        )
        seconds["vocabulary"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = CorpusStats.from_encoded(encoded, self.window, self._weighting(), progress=self.progress)
        seconds["cooccurrence"] = time.perf_counter() - t0
        V = stats.vocab_size
        if V <= self.max_dim:
            raise ValueError(
                f"the corpus gives a vocabulary of {V} words (min_count={self.min_count}), too small for "
                f"max_dim={self.max_dim}: lower max_dim or min_count, or use a larger corpus"
            )
        if self.method == "ppmi_svd":
            E_full = ppmi_svd_embeddings(
                stats, self.max_dim, seed=self.seed, cds=self.cds, eig=self.eig, n_iter=self.n_iter, timings=seconds
            )
        else:
            E_full = mstar_embeddings(stats, self.max_dim, seed=self.seed, timings=seconds)
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
        self.__dict__.pop("evaluation_", None)
        return self

    def evaluate(self, **kwargs: Any) -> dict[str, Any]:
        """Run :func:`res2vec.evaluate` on ``wv``; the result is kept as ``evaluation_`` and saved."""
        from .evaluate import evaluate

        self.evaluation_ = evaluate(self.wv, **kwargs)
        return self.evaluation_

    def save(self, directory: str | Path) -> Path:
        """Write the fitted model into ``directory`` (see :mod:`res2vec.io`); evaluation only if run."""
        return write_directory(directory, self.wv, self.metric_, self.results_, self.__dict__.get("evaluation_"))

    @classmethod
    def load(cls, directory: str | Path) -> Res2Vec:
        """A fitted model from a directory written by :meth:`save`, with its parameters and counts."""
        saved = read_directory(directory)
        params = {k: v for k, v in saved["results"].get("params", {}).items() if k in cls().get_params()}
        model = cls(**params)
        model.wv, model.metric_, model.results_ = saved["kv"], saved["metric"], saved["results"]
        model.curve_ = np.array([point["R"] for point in saved["results"].get("curve", [])])
        if saved["evaluation"] is not None:
            model.evaluation_ = saved["evaluation"]
        return model
