"""mobius-init: corpus statistics -> embeddings and analytic weight initializations, measured."""

from .cooccurrence import count_cooccurrence
from .corpus import read_corpus
from .stats import CorpusStats
from .tokenize import encode, train_tokenizer
from .vocab import Vocabulary

__version__ = "0.1.0"

__all__ = ["CorpusStats", "Vocabulary", "count_cooccurrence", "encode", "read_corpus", "train_tokenizer"]
