"""mobius-init: corpus statistics -> embeddings and analytic weight initializations, measured."""

from .cooccurrence import count_cooccurrence
from .corpus import read_corpus
from .init import analytic_embeddings, apply_embeddings_
from .kernel import (
    circulant_embeddings,
    circulant_score,
    derive_k0,
    embeddings_from_w,
    empirical_kernel,
    reconstruct_w,
    reconstruct_w_row,
)
from .stats import CorpusStats
from .tokenize import encode, train_tokenizer
from .vocab import Vocabulary

__version__ = "0.1.0"

__all__ = [
    "CorpusStats",
    "Vocabulary",
    "analytic_embeddings",
    "apply_embeddings_",
    "circulant_embeddings",
    "circulant_score",
    "count_cooccurrence",
    "derive_k0",
    "embeddings_from_w",
    "empirical_kernel",
    "encode",
    "read_corpus",
    "reconstruct_w",
    "reconstruct_w_row",
    "train_tokenizer",
]
