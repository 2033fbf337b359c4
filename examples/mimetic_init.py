"""A plug-in init measured by ``mobius-init horizons``: mimetic attention (Trockman & Kolter 2023).

Any ``function(stats, model)`` that writes an init into a model in place can be put through the horizon
study beside the built-in inits, with the same paired seeds, wsd branches and steps saved:

    mobius-init horizons --inits random,examples.mimetic_init:mimetic_attention_ ...

(run from the repository root, so that ``examples.mimetic_init`` imports). Mimetic initialization sets
each attention layer's query-key product to ``alpha Z + beta I`` and its value-projection product to
``alpha Z - beta I`` (``Z`` Gaussian with variance 1/d), factored by an SVD, so an untrained layer looks
like a trained one's. It uses no corpus statistics: it is data-free, and the study measures it as it
measures ours. The (alpha, beta) defaults follow our reading of the paper's vision setting (0.7, 0.7 for
query-key; 0.4, 0.4 for value-projection); they were not checked against the authors' code.

python examples/mimetic_init.py [--steps 300]   # a short study on the built-in corpus (a smoke test)
"""

import argparse

import torch


def _factors(dim: int, alpha: float, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, B)`` with ``A @ B.T = alpha Z + beta I``, ``Z ~ N(0, 1/dim)`` (torch's seeded generator)."""
    M = alpha * torch.randn(dim, dim, dtype=torch.float64) / dim**0.5 + beta * torch.eye(dim, dtype=torch.float64)
    U, S, Vh = torch.linalg.svd(M)
    return U * S.sqrt(), Vh.T * S.sqrt()


def mimetic_attention_(stats, model, qk=(0.7, 0.7), vo=(0.4, 0.4)) -> None:
    """Mimetic init of every MiniGPT attention layer, in place (``stats`` unused: the init is data-free;
    ``Z`` comes from torch's generator, which the study seeds per run)."""
    with torch.no_grad():
        for block in model.blocks:
            attn = block.attn
            d = attn.proj.weight.shape[0]
            q, k = _factors(d, *qk)  # x @ q @ (x @ k).T = x (alpha Z + beta I) x.T
            v, o = _factors(d, vo[0], -vo[1])  # x @ v @ o.T = x (alpha Z - beta I)
            attn.qkv.weight[:d] = q.T.to(attn.qkv.weight)
            attn.qkv.weight[d : 2 * d] = k.T.to(attn.qkv.weight)
            attn.qkv.weight[2 * d :] = v.T.to(attn.qkv.weight)
            attn.proj.weight.copy_(o.to(attn.proj.weight))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A short horizon study of the mimetic plug-in on builtin:lee.")
    parser.add_argument("--steps", type=int, default=300, help="the longest horizon (default: 300)")
    parser.add_argument("-o", "--output", default="mimetic-study", help="output directory (default: mimetic-study)")
    args = parser.parse_args()
    from mobius_init.cli import main

    horizons = ",".join(str(args.steps * k // 4) for k in (1, 2, 4))
    main(
        [
            "horizons",
            "--quiet",
            "--inits",
            "random,examples.mimetic_init:mimetic_attention_,ppmi_svd+unigram",
            "--horizons",
            horizons,
            "--warmup-steps",
            str(max(1, args.steps // 40)),
            "--n-embd",
            "32",
            "--block-size",
            "32",
            "--seeds",
            "2",
            "--eval-every",
            str(max(1, args.steps // 6)),
            "-o",
            args.output,
        ]
    )
