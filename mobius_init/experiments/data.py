"""The data of an experiment: held-out validation documents, statistics of the rest, both id streams."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..corpus import read_corpus
from ..encoding import encode_corpus
from ..settings import CorpusConfig
from ..stats import CorpusStats


@dataclass
class ExperimentData:
    stats: CorpusStats  # counted on the training documents only
    train_ids: np.ndarray  # int64 vocabulary ids, documents concatenated
    val_ids: np.ndarray


def prepare_data(
    source: str,
    corpus: CorpusConfig,
    *,
    val_fraction: float = 0.1,
    max_docs: int | None = None,
    progress: bool = True,
) -> ExperimentData:
    """Hold out the last ``val_fraction`` of the documents (of the first ``max_docs``) for validation,
    count statistics on the others, and encode both with the same tokenizer, so no init sees
    validation text."""
    docs = list(itertools.islice(read_corpus(source, text_column=corpus.text_column), max_docs))
    n_val = max(1, int(round(len(docs) * val_fraction)))
    if len(docs) < 2 or n_val >= len(docs):
        raise ValueError(f"the corpus has {len(docs)} documents: too few to hold out {val_fraction:.0%} for validation")
    encoded = encode_corpus(docs[:-n_val], progress=progress, **corpus.encode_options())
    stats = CorpusStats.from_encoded(encoded, corpus.window, corpus.weighting, progress=progress)
    val = list(encoded.encode(docs[-n_val:]))
    val_ids = np.concatenate(val) if val else np.zeros(0, np.int32)
    return ExperimentData(stats, encoded.ids().astype(np.int64), val_ids.astype(np.int64))
