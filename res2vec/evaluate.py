"""Standard benchmarks for word vectors: Spearman rho on word-similarity files, analogy accuracy.

Similarity files: one pair per line, ``word1 word2 score`` separated by tabs, commas or spaces;
lines starting with ``#`` and blank lines are skipped. A first line that names columns (no number in
its first three, and a word such as "word", "score" or "mean") is a header: the score is then the first numeric
column after the two words and every line has the header's width, so the
original distributions read as they are (``SimLex-999/SimLex-999.txt``: the SimLex999 column;
``wordsim353/combined.tab`` and ``.csv``), as do gensim's ``simlex999.txt`` and ``wordsim353.tsv``,
wordvectors.org's ``EN-*.txt`` and hyperwords' files. Analogy files: the Google format, ``: section``
headers and ``a b c d`` lines (read "a is to b as c is to d"). Lookups are case-insensitive. A
malformed line is a ``ValueError`` naming the file and line number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors
from scipy.stats import spearmanr


def default_similarity_files() -> dict[str, Path]:
    """SimLex-999 and WordSim-353 as shipped in the gensim wheel."""
    from gensim.test.utils import datapath

    return {"simlex999": Path(datapath("simlex999.txt")), "wordsim353": Path(datapath("wordsim353.tsv"))}


def default_analogy_file() -> Path:
    """The Google analogy set as shipped in the gensim wheel."""
    from gensim.test.utils import datapath

    return Path(datapath("questions-words.txt"))


def _lines(path: Path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                yield number, line


def _fields(line: str) -> list[str]:
    separator = "\t" if "\t" in line else "," if "," in line else None
    return [f.strip() for f in line.split(separator)]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


HEADER_WORDS = ("word", "score", "mean", "sim", "human", "rel", "pos")  # words that name benchmark columns


def _is_header(fields: list[str]) -> bool:
    """A first line that names columns: no number in its first three, and a column name a benchmark uses
    (rater columns may be numbered, as in WordSim-353's set1/set2)."""
    return all(_number(f) is None for f in fields[:3]) and any(w in f.lower() for f in fields[:3] for w in HEADER_WORDS)


def read_similarity_file(path: str | Path) -> list[tuple[str, str, float]]:
    """``(word1, word2, score)`` triples; ``ValueError`` with the line number on a malformed line: a
    line without a header has exactly three fields; with one, as many fields as the header."""
    path = Path(path)
    pairs = []
    column, width = 2, 3
    lines = list(_lines(path))
    for position, (number, line) in enumerate(lines):
        fields = _fields(line)
        if position == 0 and len(fields) >= 3 and _is_header(fields) and len(lines) > 1:
            following = _fields(lines[1][1])  # a header: the score is the next line's first number after the words
            column = next((i for i in range(2, len(following)) if _number(following[i]) is not None), 2)
            width = len(fields)
            continue
        score = _number(fields[column]) if len(fields) == width else None
        if score is None:
            raise ValueError(
                f"{path}:{number}: expected {repr('word1 word2 score') if width == 3 else f'{width} fields as the header'}"
                f", got {line[:80]!r}"
            )
        pairs.append((fields[0], fields[1], score))
    if not pairs:
        raise ValueError(f"{path}: no word pairs found")
    return pairs


def read_analogy_file(path: str | Path) -> list[tuple[str, tuple[str, str, str, str]]]:
    """``(section, (a, b, c, d))`` for every question; ``ValueError`` with the line number."""
    path = Path(path)
    section, questions = "", []
    for number, line in _lines(path):
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.split()
        if len(words) != 4:
            raise ValueError(f"{path}:{number}: expected four words 'a b c d', got {line[:80]!r}")
        questions.append((section, tuple(w.lower() for w in words)))
    if not questions:
        raise ValueError(f"{path}: no analogy questions found")
    return questions


def _lower_index(kv: KeyedVectors, limit: int | None = None) -> dict[str, int]:
    """Lower-cased word -> index, the most frequent (lowest index) spelling winning."""
    index: dict[str, int] = {}
    for i, word in enumerate(kv.index_to_key[:limit]):
        index.setdefault(word.lower(), i)
    return index


@dataclass(frozen=True)
class SimilarityResult:
    spearman: float
    pairs: int
    oov_pairs: int

    @property
    def oov_rate(self) -> float:
        return self.oov_pairs / (self.pairs + self.oov_pairs)


def evaluate_similarity(kv: KeyedVectors, path: str | Path, metric: np.ndarray | None = None) -> SimilarityResult:
    """Spearman rho between human scores and cosines (under the metric tensor ``metric``, d x d, when
    given: ``aᵀGb / sqrt(aᵀGa bᵀGb)``, Res2Vec's resonance), over the pairs with both words known."""
    index = _lower_index(kv)
    pairs = read_similarity_file(path)
    known = [(index[a.lower()], index[b.lower()], s) for a, b, s in pairs if a.lower() in index and b.lower() in index]
    if len(known) < 3:
        return SimilarityResult(float("nan"), len(known), len(pairs) - len(known))
    ia, ib, human = (np.array(x) for x in zip(*known, strict=True))
    if metric is None:
        unit = kv.get_normed_vectors()
        cosines = np.einsum("ij,ij->i", unit[ia], unit[ib])
    else:
        A, B = kv.vectors[ia].astype(np.float64), kv.vectors[ib].astype(np.float64)
        AG, BG = A @ metric, B @ metric
        cosines = np.einsum("ij,ij->i", AG, B) / np.sqrt(np.einsum("ij,ij->i", AG, A) * np.einsum("ij,ij->i", BG, B))
    return SimilarityResult(float(spearmanr(human, cosines).statistic), len(known), len(pairs) - len(known))


def evaluate_analogies(
    kv: KeyedVectors, path: str | Path, restrict_vocab: int = 30_000, batch: int = 256
) -> dict[str, float | int]:
    """3CosAdd and 3CosMul accuracy (Levy & Goldberg 2014) on the questions whose four words are
    among the ``restrict_vocab`` most frequent, searching those words only and excluding a, b, c,
    as gensim's ``evaluate_word_analogies`` does. Google-set sections named ``gram*`` count as
    syntactic, the others as semantic."""
    questions = read_analogy_file(path)
    index = _lower_index(kv, restrict_vocab)
    unit = kv.get_normed_vectors()[: min(restrict_vocab, len(kv))].astype(np.float32)
    known = [(sec, [index[w] for w in q]) for sec, q in questions if all(w in index for w in q)]
    result: dict[str, float | int] = {"questions": len(questions), "answered": len(known)}
    result["oov_rate"] = 1 - len(known) / len(questions)
    if not known:
        return result | {"3cosadd": float("nan"), "3cosmul": float("nan")}
    ids = np.array([q for _, q in known])
    syntactic = np.array([sec.startswith("gram") for sec, _ in known])
    hits = {"3cosadd": np.zeros(len(ids), bool), "3cosmul": np.zeros(len(ids), bool)}
    for start in range(0, len(ids), batch):
        q = ids[start : start + batch]
        sa, sb, sc = (unit[q[:, k]] @ unit.T for k in range(3))
        rows = np.arange(len(q))[:, None]
        scores = {
            "3cosadd": sb - sa + sc,
            "3cosmul": ((sb + 1) / 2) * ((sc + 1) / 2) / ((sa + 1) / 2 + 1e-3),
        }
        for name, s in scores.items():
            s[rows, q[:, :3]] = -np.inf
            hits[name][start : start + batch] = s.argmax(axis=1) == q[:, 3]
    for name, h in hits.items():
        result[name] = float(h.mean())
        result[f"{name}_semantic"] = float(h[~syntactic].mean()) if (~syntactic).any() else float("nan")
        result[f"{name}_syntactic"] = float(h[syntactic].mean()) if syntactic.any() else float("nan")
    return result


def evaluate(
    kv: KeyedVectors,
    similarity: dict[str, str | Path] | Sequence[str | Path] | None = None,
    analogies: str | Path | None = "default",
    restrict_vocab: int = 30_000,
) -> dict:
    """All benchmarks in one dict: ``{"similarity": {name: {spearman, pairs, oov_rate}},
    "analogy": {...}}``. Defaults: gensim's SimLex-999, WordSim-353 and Google analogy files;
    ``analogies=None`` skips the analogy test."""
    if similarity is None:
        files = default_similarity_files()
    elif isinstance(similarity, dict):
        files = {name: Path(p) for name, p in similarity.items()}
    else:
        files = {Path(p).stem: Path(p) for p in similarity}
    report: dict = {"similarity": {}}
    for name, path in files.items():
        r = evaluate_similarity(kv, path)
        report["similarity"][name] = {"spearman": r.spearman, "pairs": r.pairs, "oov_rate": r.oov_rate}
    if analogies is not None:
        path = default_analogy_file() if analogies == "default" else Path(analogies)
        report["analogy"] = evaluate_analogies(kv, path, restrict_vocab)
    return report


def pair_analogies(path: str | Path, index: dict[str, int]) -> tuple[np.ndarray, list[str]]:
    """Karkada et al.'s analogy set: in each section of a Google-format file, the word pairs (a, b) of
    its questions with both words in ``index``; every ordered pair of two distinct such pairs is a
    question (rows ``a, b, c, d``: b - a + c should be d). Returns the questions (int ids) and their
    sections."""
    pairs: dict[str, list[tuple[int, int]]] = {}
    for section, (a, b, c, d) in read_analogy_file(path):
        found = pairs.setdefault(section, [])
        for first, second in ((a, b), (c, d)):
            if first in index and second in index and (index[first], index[second]) not in found:
                found.append((index[first], index[second]))
    questions, sections = [], []
    for section, found in pairs.items():
        for p in found:
            for q in found:
                if p != q:
                    questions.append((*p, *q))
                    sections.append(section)
    return np.array(questions, dtype=np.int64).reshape(-1, 4), sections


def analogy_accuracy(E: np.ndarray, questions: np.ndarray, batch: int = 512) -> float:
    """3CosAdd accuracy of ``E`` (V x d, rows normalised here) on id questions: the answer is the word
    nearest (cosine) to b - a + c among all V words but a, b, c."""
    if not len(questions):
        return float("nan")
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    unit = np.divide(E, norms, out=np.zeros_like(E, dtype=np.float64), where=norms > 0)
    hits = 0
    for start in range(0, len(questions), batch):
        q = questions[start : start + batch]
        scores = (unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]) @ unit.T
        scores[np.arange(len(q))[:, None], q[:, :3]] = -np.inf
        hits += int((scores.argmax(axis=1) == q[:, 3]).sum())
    return hits / len(questions)
