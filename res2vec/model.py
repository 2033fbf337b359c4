"""The Res2Vec estimator: embeddings computed, not trained.

Stages (each timed): vocabulary (encode) -> co-occurrence -> PPMI -> truncated SVD -> dimension ->
vectors -> geometry. The builders are :mod:`mobius_init`'s (the same ones behind the analytic inits).

Defaults: among the configurations Levy, Goldberg & Dagan (2015) and Mu & Viswanath (2018) support
(window 2 or 5, harmonic or linear weights, eigenvalue weighting 0 or 0.5, w or w + c, with or without
all-but-the-top), the one with the best mean of similarity, relatedness and analogy scores on the
shared benchmarks, ties (within 0.005) broken by the smallest gap to skip-gram on any one benchmark
(``benchmarks/res2vec_configs.py``, every row in docs/results/res2vec.md): a window of 5 with
``harmonic`` weights, context-distribution smoothing 0.75 (Levy et al.), eigenvalue weighting 0.5
(``U S^0.5``) and context vectors added to word vectors ("w + c").
"""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from mobius_init.cooccurrence import count_partial, distance_weights, finish_counts
from mobius_init.embeddings import mstar_embeddings
from mobius_init.encoding import WORD_MIN_COUNT, encode_corpus
from mobius_init.matrices import mstar_parts, ppmi
from mobius_init.spectral import block_krylov_svd, krylov_block, randomized_svd
from mobius_init.stats import CorpusStats
from mobius_init.timing import StageTimer
from mobius_init.train_config import resolve_device

from .dimension import pip_dimension, pip_noise, resonance_dimension
from .io import keyed_vectors, read_directory, write_directory
from .resonance import METRICS, information_capacity, metric_tensor, optimal_dimension, resonance_curve, sample_pairs

METHODS = ("ppmi_svd", "mstar")
SVDS = {"block_krylov": block_krylov_svd, "power": randomized_svd}
DIM_RULES = ("auto", "pip", "resonance")
AUTO_RULE = "pip"  # what dim="auto" means (README: chosen from the measured dimension curves)
FITTED = ("wv", "metric_", "curve_", "results_", "vocab_", "word_factors_", "context_factors_")


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


class Res2Vec:
    """Count-based word embeddings (scikit-learn's conventions: explicit parameters, ``fit`` returns
    self, fitted attributes exist only after ``fit``; gensim's: ``.wv``, classmethod ``load``).

    Parameters:
        dim: an integer, or a rule: ``"pip"`` (Yin & Shen's PIP loss; :mod:`res2vec.dimension`),
            ``"resonance"`` (the self-consistent fixed point under ``metric``), ``"auto"`` (= ``pip``).
        max_dim: size of the one SVD from which every ``d <= max_dim`` is a truncation (default 300).
        method: ``"ppmi_svd"`` (PPMI -> SVD) or ``"mstar"`` (eigenvectors of word2vec's M* scaled by
            sqrt(eigenvalue), Karkada et al. 2025; ``cds``/``eig``/``context_vectors`` do not apply).
        window, weighting: co-occurrence window (5) and distance weighting (``harmonic``: 1/d).
        min_count, vocab_size: vocabulary filters (5, as word2vec; no cap). normalize: text preset (text8).
        cds: context-distribution smoothing of PPMI (0.75). eig: exponent p of ``U S^p`` (0.5).
        context_vectors: add the context vectors ``V S^p`` to the word vectors, each row normalised ("w+c").
        svd: ``"block_krylov"`` (randomized block Krylov, Musco & Musco 2015) or ``"power"`` (the randomized
            power method, Halko et al. 2011); the fastest that matched a high-accuracy SVD's benchmark scores
            is the default (``benchmarks/bench_svd_sketch.py``). n_iter: its iterations. block_size: block
            Krylov's columns per block (None: ``max_dim // 2 + 10``). n_oversamples: the power method's extra
            columns beyond max_dim (it matched at 300 and 8 iterations). metric: the resonance geometry's metric.
        n_pairs, pair_vocab: the resonance sample. seed: SVD sketch, pair sample, PIP draws.
        device: where the SVD's sparse products run (``cpu``, ``cuda``, or ``auto``: CUDA when available).
        progress: tqdm bars.

    Fitted attributes: ``wv`` (gensim ``KeyedVectors`` with counts, most frequent word first; words
    whose vector is all zero are left out and listed in ``results_["zero_rows"]``), ``metric_``
    (d x d), ``curve_`` (R(d) for d = 1..max_dim), ``results_`` (dict; see :meth:`fit`), ``vocab_``,
    ``word_factors_`` / ``context_factors_`` (V x max_dim, ``U S^eig`` / ``V S^eig``, every vocabulary
    word; :meth:`vectors` and :meth:`keyed_vectors` rebuild the embedding at any d from them; not saved).
    """

    def __init__(
        self,
        *,
        dim: int | str = "auto",
        max_dim: int = 300,
        method: str = "ppmi_svd",
        window: int = 5,
        weighting: str = "harmonic",
        min_count: int = WORD_MIN_COUNT,
        vocab_size: int | None = None,
        normalize: str = "text8",
        cds: float = 0.75,
        eig: float = 0.5,
        context_vectors: bool = True,
        svd: str = "block_krylov",
        n_iter: int = 6,
        block_size: int | None = None,
        n_oversamples: int = 10,
        metric: str = "second_moment",
        n_pairs: int = 10_000,
        pair_vocab: int = 10_000,
        seed: int = 0,
        device: str = "auto",
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
        self.context_vectors = context_vectors
        self.svd = svd
        self.n_iter = n_iter
        self.block_size = block_size
        self.n_oversamples = n_oversamples
        self.metric = metric
        self.n_pairs = n_pairs
        self.pair_vocab = pair_vocab
        self.seed = seed
        self.device = device
        self.progress = progress

    def __getattr__(self, name: str) -> Any:  # only called for attributes that do not exist
        if name in FITTED:
            raise AttributeError(f"this Res2Vec is not fitted yet, so it has no {name!r}: call fit(source) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters, read from its signature (scikit-learn's rule; ``progress``, which
        changes no result, left out): what ``results.json`` records as ``params``."""
        names = [n for n in inspect.signature(type(self).__init__).parameters if n not in ("self", "progress")]
        return {name: getattr(self, name) for name in names}

    def validate(self) -> None:
        """Check every parameter; raises ``ValueError`` naming the one that is wrong (before any work)."""
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if not (isinstance(self.max_dim, int) and self.max_dim >= 2):
            raise ValueError(f"max_dim must be an integer >= 2, got {self.max_dim!r}")
        if self.dim not in DIM_RULES and not (isinstance(self.dim, int) and 1 <= self.dim <= self.max_dim):
            raise ValueError(
                f"dim must be one of {', '.join(DIM_RULES)} or an integer in [1, max_dim = "
                f"{self.max_dim}], got {self.dim!r}"
            )
        if not (np.isfinite(self.eig) and np.isfinite(self.cds) and self.cds > 0):
            raise ValueError(f"eig must be finite and cds positive, got eig={self.eig}, cds={self.cds}")
        if self.svd not in SVDS:
            raise ValueError(f"unknown svd {self.svd!r}; choose one of {', '.join(SVDS)}")
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; choose one of {', '.join(METRICS)}")
        for name in ("n_iter", "n_oversamples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        block = self.block_size
        if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 1):
            raise ValueError(f"block_size must be None or an integer >= 1, got {block!r}")
        if self.svd == "block_krylov":
            krylov_block(self.max_dim, block, self.n_iter, k_name="max_dim")
        distance_weights(self.window, self.weighting)
        resolve_device(self.device)

    def fit(self, source: Any) -> Res2Vec:
        """Compute the embeddings of ``source``: anything ``mobius_init.read_corpus`` reads, or a
        ``CorpusStats`` counted elsewhere (``mobius_init.stats_on_dask``) with this model's window and
        weighting (its vocabulary is used as it is; ``min_count`` and ``vocab_size`` are not reapplied)."""
        self.validate()
        timer = StageTimer()
        stage, seconds = timer.done, timer.seconds
        if isinstance(source, CorpusStats):
            stats, halves = self._given_statistics(source), None
        else:
            stats, halves = self._count(source, stage)
        V, C = len(stats.vocab), stats.C
        stage("cooccurrence")
        W_full, C_full, spectrum = self._factors(stats, stage)
        pairs = sample_pairs(V, self.n_pairs, self.pair_vocab, self.seed)
        dim, dimension = self._dimension(stats, halves, W_full, spectrum, pairs)
        dimension["dim"] = dim
        del halves
        stage("dimension")
        self.vocab_ = stats.vocab
        self.word_factors_ = W_full.astype(np.float32)
        self.context_factors_ = None if C_full is None else C_full.astype(np.float32)
        self.wv = self.keyed_vectors(dim)
        zero = [w for w in stats.vocab.tokens if w not in self.wv.key_to_index]
        stage("vectors")
        self.metric_ = metric_tensor(self.wv.vectors)
        curve = resonance_curve(W_full, pairs, self.metric)
        R = float(curve[dim - 1])
        self.curve_ = curve
        stage("geometry")
        self.results_ = {
            "dim": dim,
            "vocab_size": V,
            "dimension": dimension,
            "zero_rows": {"count": len(zero), "words": zero[:50]},
            "R_avg": R,
            "I_capacity": float(information_capacity(R)),
            "d_optimal": float(optimal_dimension(V, R)),
            "weighting": stats.weighting,
            "n_tokens": stats.n_tokens,
            "n_tokens_raw": stats.n_tokens_raw,
            "n_docs": stats.n_docs,
            "nnz": int(C.nnz),
            "spectrum": [float(x) for x in spectrum],
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

    def _factors(self, stats: CorpusStats, stage: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """The SVD (or M* eigenpair) stage at ``max_dim``: word factors ``U S^eig`` (V x max_dim), context
        factors ``V S^eig`` (None for mstar) and the spectrum."""
        if self.method == "ppmi_svd":
            P = ppmi(stats.C, self.cds)
            stage("ppmi")
            size = (
                {"block_size": self.block_size} if self.svd == "block_krylov" else {"n_oversamples": self.n_oversamples}
            )
            U, S, Vt = SVDS[self.svd](
                P,
                self.max_dim,
                **size,
                n_iter=self.n_iter,
                seed=self.seed,
                device=resolve_device(self.device),
            )
            stage("svd")
            return U * S**self.eig, Vt.T * S**self.eig, S
        W_full = mstar_embeddings(stats, self.max_dim, seed=self.seed)
        stage("mstar_eigenpairs")
        return W_full, None, np.sum(W_full**2, axis=0)  # the eigenvalues (negative ones were set to 0)

    def _dimension(
        self, stats: CorpusStats, halves: Any, W_full: np.ndarray, spectrum: np.ndarray, pairs: np.ndarray
    ) -> tuple[int, dict[str, Any]]:
        """The dimension stage: ``dim`` itself, or the rule's choice with what the rule measured."""
        V = len(stats.vocab)
        dimension: dict[str, Any] = {"rule": self.dim if self.dim in DIM_RULES else "fixed"}
        rule = AUTO_RULE if self.dim == "auto" else self.dim
        if rule == "pip":

            def half_matrix(forward):
                counts = finish_counts(forward, self.window, self.weighting)
                return ppmi(counts, self.cds) if self.method == "ppmi_svd" else mstar_parts(counts, stats.vocab.counts)

            sigma = pip_noise(half_matrix(halves[0]), half_matrix(halves[1]))
            pip = pip_dimension(
                spectrum, sigma, V, alpha=self.eig if self.method == "ppmi_svd" else 0.5, seed=self.seed
            )
            dim = pip.dim
            dimension.update(
                {
                    "pip_sigma": pip.sigma,
                    "pip_threshold": pip.threshold,
                    "pip_rank": pip.rank,
                    "pip_loss": pip.loss.tolist(),
                    "note": pip.note,
                }
            )
        elif rule == "resonance":
            choice = resonance_dimension(W_full, V, pairs, self.metric, control_seeds=(self.seed,))
            dim = choice.dim
            dimension.update(
                {
                    "metric": self.metric,
                    "crossing": choice.crossing,
                    "random_dim": choice.random_dim,
                    "note": choice.message,
                }
            )
        else:
            dim = self.dim
        return dim, dimension

    def _count(self, source: Any, stage: Any) -> tuple[CorpusStats, list[Any]]:
        """Encode and count ``source``: the statistics and the two half-corpus partial counts."""
        encoded = encode_corpus(
            source,
            tokenizer="word",
            vocab_size=self.vocab_size,
            min_count=self.min_count,
            normalize=self.normalize,
            progress=self.progress,
        )
        stage("vocabulary")
        V = len(encoded.vocab)
        self._check_vocabulary(V)
        rule = AUTO_RULE if self.dim == "auto" else self.dim
        if rule == "pip" and encoded.n_docs < 2:
            raise ValueError(
                f"the PIP rule (--dim {self.dim}) reads its noise level from two halves of the documents, and this "
                f"corpus has {encoded.n_docs} document: give --dim N, or split the text into documents (one per line)"
            )
        # two halves of the documents, counted apart (exact: their sum is the whole corpus's count),
        # so the PIP rule can read the noise from their difference at no extra counting cost
        docs = encoded.documents()  # a stream: the first half of the documents, then the rest
        halves = [
            count_partial(part, V, self.window, self.weighting, progress=self.progress)
            for part in (itertools.islice(docs, encoded.n_docs // 2), docs)
        ]
        C = finish_counts(halves[0] + halves[1], self.window, self.weighting)
        stats = CorpusStats(
            encoded.vocab,
            C,
            self.window,
            self.weighting,
            encoded.n_tokens,
            encoded.n_tokens_raw,
            encoded.n_docs,
            encoded.normalize,
            encoded.tokenizer,
        )
        return stats, halves

    def _given_statistics(self, stats: CorpusStats) -> CorpusStats:
        """Check statistics counted elsewhere (e.g. ``mobius_init.stats_on_dask``) against these settings."""
        if (stats.window, stats.weighting) != (self.window, self.weighting):
            raise ValueError(
                f"the statistics were counted with window={stats.window}, weighting={stats.weighting!r} but "
                f"this model has window={self.window}, weighting={self.weighting!r}: make them agree"
            )
        if (AUTO_RULE if self.dim == "auto" else self.dim) == "pip":
            raise ValueError(
                "dim='pip' (and dim='auto') read the noise from two halves of the corpus counted apart, which "
                "precomputed statistics do not have: fit the corpus itself, or pass dim=<int> or 'resonance'"
            )
        self._check_vocabulary(len(stats.vocab))
        return stats

    def _check_vocabulary(self, V: int) -> None:
        if V <= self.max_dim:
            raise ValueError(
                f"the corpus gives a vocabulary of {V} words (min_count={self.min_count}), too small for "
                f"max_dim={self.max_dim}: lower max_dim or min_count, or use a larger corpus"
            )

    def vectors(self, dim: int) -> np.ndarray:
        """The embedding of every vocabulary word (V x dim, float64) at a dimension ``dim <= max_dim``, from
        the one SVD: ``U S^eig``, plus ``V S^eig`` with both rows normalised when ``context_vectors``."""
        if self.word_factors_ is None:
            raise ValueError("a loaded Res2Vec keeps its final vectors (wv) only; vectors(dim) needs a fitted one")
        W = self.word_factors_[:, :dim].astype(np.float64)
        if not self.context_vectors or self.context_factors_ is None:
            return W
        return _unit_rows(W) + _unit_rows(self.context_factors_[:, :dim].astype(np.float64))

    def keyed_vectors(self, dim: int) -> Any:
        """A gensim ``KeyedVectors`` of :meth:`vectors` at ``dim`` (float32, with counts); words whose
        vector is all zero (no positive PMI with any context) are left out."""
        E = self.vectors(dim)
        keep = np.flatnonzero(np.any(E != 0, axis=1))
        return keyed_vectors(
            [self.vocab_.tokens[i] for i in keep],
            np.ascontiguousarray(E[keep], dtype=np.float32),
            self.vocab_.counts[keep],
        )

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
        model.word_factors_ = model.context_factors_ = model.vocab_ = None  # the SVD's factors are not saved
        if saved["evaluation"] is not None:
            model.evaluation_ = saved["evaluation"]
        return model
