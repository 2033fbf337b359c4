"""mobius-init: corpus statistics -> embeddings and analytic weight initializations, measured.

Pipeline: ``encode_corpus`` (text -> ids) -> ``CorpusStats`` (co-occurrence counts, derived matrices)
-> ``initialize_`` (the recommended init: ``analytic_embeddings`` + the log-unigram prior) -> ``train``
with monitors. The MobiusKernel helpers live in :mod:`mobius_init.kernel`.
"""

from importlib.metadata import PackageNotFoundError, version

from .cooccurrence import count_cooccurrence
from .corpus import read_corpus
from .embeddings import analytic_embeddings, unigram_log_probs
from .encoding import Encoded, encode_corpus
from .minigpt import MiniGPT, MiniGPTConfig
from .monitors import ConvergenceMonitor, K0CosineMonitor
from .settings import CorpusConfig
from .stats import CorpusStats
from .train_config import TrainConfig
from .training import Callback, TrainingDiverged, train
from .vocab import Vocabulary
from .weights import apply_embeddings_, initialize_, set_output_bias_, set_output_prior_

try:
    __version__ = version("mobius-init")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Callback",
    "ConvergenceMonitor",
    "CorpusConfig",
    "CorpusStats",
    "Encoded",
    "K0CosineMonitor",
    "MiniGPT",
    "MiniGPTConfig",
    "TrainConfig",
    "TrainingDiverged",
    "Vocabulary",
    "analytic_embeddings",
    "apply_embeddings_",
    "count_cooccurrence",
    "encode_corpus",
    "initialize_",
    "read_corpus",
    "set_output_bias_",
    "set_output_prior_",
    "train",
    "unigram_log_probs",
]
