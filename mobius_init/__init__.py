"""mobius-init: corpus statistics -> embeddings and analytic weight initializations, measured.

Pipeline: ``encode_corpus`` (text -> ids) -> ``CorpusStats`` (co-occurrence counts, derived matrices)
-> ``analytic_embeddings`` -> ``apply_embeddings_`` into a model -> ``train`` with monitors.
"""

from .cooccurrence import count_cooccurrence
from .corpus import read_corpus
from .embeddings import analytic_embeddings
from .encoding import Encoded, encode_corpus
from .kernel import (
    circulant_embeddings,
    circulant_score,
    derive_k0,
    embeddings_from_w,
    empirical_kernel,
    reconstruct_w,
    reconstruct_w_row,
)
from .minigpt import MiniGPT, MiniGPTConfig
from .monitors import ConvergenceMonitor, K0CosineMonitor
from .settings import CorpusConfig
from .stats import CorpusStats
from .training import Callback, TrainConfig, TrainingDiverged, train
from .vocab import Vocabulary
from .weights import apply_embeddings_

__version__ = "0.2.0"

__all__ = [
    "Callback",
    "CorpusConfig",
    "CorpusStats",
    "Encoded",
    "ConvergenceMonitor",
    "K0CosineMonitor",
    "MiniGPT",
    "MiniGPTConfig",
    "TrainConfig",
    "TrainingDiverged",
    "Vocabulary",
    "analytic_embeddings",
    "apply_embeddings_",
    "circulant_embeddings",
    "circulant_score",
    "count_cooccurrence",
    "derive_k0",
    "embeddings_from_w",
    "empirical_kernel",
    "encode_corpus",
    "read_corpus",
    "reconstruct_w",
    "reconstruct_w_row",
    "train",
]
