"""Res2Vec's defaults chosen among a handful of configurations the literature supports (issue 29).

    python benchmarks/res2vec_configs.py [--corpus PATH] --out benchmarks/results/res2vec_configs.json

The grid, and nothing finer: window 2 or 5, harmonic or linear (word2vec's dynamic window) distance
weights (Levy, Goldberg & Dagan 2015); eigenvalue exponent 0 or 0.5 (ibid.); word vectors alone (w)
or word + context vectors, each row normalised (w + c; ibid.); without or with "all-but-the-top"
(Mu & Viswanath 2018: subtract the mean vector, remove the top d/100 principal directions). 32 rows,
every one reported. One count and one SVD per (window, weighting), at Res2Vec's default SVD
(``n_iter``, ``block_size``), context-distribution smoothing 0.75 and min_count 5; the other three
choices are applied to that SVD's factors (``U S^p``, ``V S^p``). Every row at d = 300, skip-gram's
size, so the dimension rule does not enter.

**Score, fixed before the run**: similarity, relatedness and analogy weighted equally: the mean of
(mean Spearman over SimLex-999 and WS-353-similarity), (Spearman on WS-353-relatedness) and (Google
3CosAdd over the 30,000 most frequent words). WS-353 in full is reported but not averaged: it is the
union of the two splits. Skip-gram's scores on the same benchmarks come from
``benchmarks/results/res2vec.json`` when it holds them (``bench_res2vec.py``). This is quality only:
the seconds printed are not timings (the script may share the machine).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARD_AA, require, similarity_files  # noqa: E402

GROUPS = {"similarity": ("simlex999", "ws353_similarity"), "relatedness": ("ws353_relatedness",)}
COUNTS = list(itertools.product((2, 5), ("harmonic", "linear")))
VARIANTS = list(itertools.product((0.0, 0.5), (False, True), (False, True)))  # eig, w + c, all-but-the-top


def equal_weight_score(evaluation: dict) -> dict[str, float]:
    """The three task scores and their mean (the rule in the module docstring)."""
    sim = evaluation["similarity"]
    out = {group: float(np.mean([sim[name]["spearman"] for name in names])) for group, names in GROUPS.items()}
    out["analogy"] = float(evaluation["analogy"]["3cosadd"])
    out["mean"] = float(np.mean([out["similarity"], out["relatedness"], out["analogy"]]))
    return out


def all_but_the_top(X: np.ndarray, n_directions: int) -> np.ndarray:
    """Mu & Viswanath (2018): ``X`` (V x d) minus its mean, then without its top principal directions."""
    centred = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    top = Vt[:n_directions]
    return centred - (centred @ top.T) @ top


def variant_vectors(model, eig: float, context: bool, abtt: bool) -> np.ndarray:
    """From a model fitted with eig = 0.5: ``U S^eig`` (+ ``V S^eig``, rows normalised), post-processed."""
    S = np.asarray(model.results_["spectrum"], dtype=np.float64)
    scale = np.where(S > 0, S ** (eig - model.eig), 0.0)
    W = model.word_factors_.astype(np.float64) * scale
    if context:
        from res2vec.model import _unit_rows as unit_rows  # Res2Vec's own row normalisation

        W = unit_rows(W) + unit_rows(model.context_factors_.astype(np.float64) * scale)
    return all_but_the_top(W, max(1, W.shape[1] // 100)) if abtt else W


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARD_AA)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from res2vec import Res2Vec, evaluate
    from res2vec.io import keyed_vectors

    corpus = require(args.corpus)
    files = similarity_files()
    rows = []
    for window, weighting in COUNTS:
        t0 = time.perf_counter()
        model = Res2Vec(window=window, weighting=weighting, dim=300, eig=0.5, context_vectors=True).fit(str(corpus))
        print(f"window {window} {weighting}: fitted in {time.perf_counter() - t0:.0f} s", flush=True)
        for eig, context, abtt in VARIANTS:
            E = variant_vectors(model, eig, context, abtt)
            keep = np.flatnonzero(np.any(E != 0, axis=1))
            kv = keyed_vectors([model.vocab_.tokens[i] for i in keep], E[keep], model.vocab_.counts[keep])
            evaluation = evaluate(kv, similarity=files)
            row = {"window": window, "weighting": weighting, "eig": eig, "context_vectors": context, "abtt": abtt}
            row |= {"scores": equal_weight_score(evaluation), "evaluation": evaluation}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "evaluation"}), flush=True)
    skipgram = None
    committed = Path(__file__).resolve().parent / "results" / "res2vec.json"
    if committed.is_file():
        found = json.loads(committed.read_text()).get("skipgram", {}).get("evaluation")
        if found and all(n in found["similarity"] for names in GROUPS.values() for n in names):
            skipgram = equal_weight_score(found) | {"from": str(committed.name)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"corpus": str(corpus), "rows": rows, "skipgram": skipgram}, indent=1) + "\n")
    best = max(rows, key=lambda r: r["scores"]["mean"])
    print("best:", {k: v for k, v in best.items() if k != "evaluation"}, "skip-gram:", skipgram)


if __name__ == "__main__":
    main()
