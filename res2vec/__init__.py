"""Res2Vec: word embeddings computed from corpus statistics (PPMI -> SVD), not trained, with a
self-consistent dimension from their own geometry."""

from .evaluate import evaluate
from .model import Res2Vec
from .resonance import information_capacity, metric_tensor, optimal_dimension, resonance_curve

__all__ = [
    "Res2Vec",
    "evaluate",
    "information_capacity",
    "metric_tensor",
    "optimal_dimension",
    "resonance_curve",
]
