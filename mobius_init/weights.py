"""Writing embeddings into a model: the tied input embedding / output head of MiniGPT or any Hugging
Face model with ``get_input_embeddings()`` / ``get_output_embeddings()``, and an output bias."""

from __future__ import annotations

from typing import Any

import torch

from .embeddings import DEFAULT_METHOD, analytic_embeddings, unigram_log_probs


def input_embedding_parameter(target: torch.nn.Module | torch.nn.Parameter) -> torch.nn.Parameter:
    """The input-embedding weight of a model with ``get_input_embeddings()`` (MiniGPT, Hugging Face),
    or ``target`` itself when it is a parameter."""
    if isinstance(target, torch.nn.Parameter):
        return target
    getter = getattr(target, "get_input_embeddings", None)
    if getter is None:
        raise TypeError(f"{type(target).__name__} has no get_input_embeddings(); pass the embedding Parameter itself")
    return getter().weight


def apply_embeddings_(
    target: torch.nn.Module | torch.nn.Parameter, E: torch.Tensor, *, untied: str = "error"
) -> torch.nn.Parameter:
    """Copy ``E`` (V x d) into the input embedding of ``target``, in place; returns that parameter.

    The output head (``get_output_embeddings()``) must be tied to it, i.e. be the same Parameter;
    with ``untied="copy"`` an untied head gets a copy of E too, with ``untied="input"`` it keeps its own
    init. Shape mismatches are errors that
    name the vocabulary or the dimension.
    """
    if untied not in ("error", "copy", "input"):
        raise ValueError(f"untied must be 'error', 'copy' or 'input', got {untied!r}")
    weight = input_embedding_parameter(target)
    E = torch.as_tensor(E)
    if E.ndim != 2:
        raise ValueError(f"E must be a V x d matrix, got shape {tuple(E.shape)}")
    if E.shape[0] != weight.shape[0]:
        raise ValueError(
            f"vocabulary size mismatch: the model embeds {weight.shape[0]} ids but E has {E.shape[0]} rows "
            "(build the statistics with the model's tokenizer, or size the model to the statistics)"
        )
    if E.shape[1] != weight.shape[1]:
        raise ValueError(f"dimension mismatch: the model's embedding has d = {weight.shape[1]}, E has {E.shape[1]}")
    if not torch.isfinite(E).all():
        raise ValueError("E contains NaN or Inf")
    heads = []
    get_output = getattr(target, "get_output_embeddings", None)
    head = get_output() if get_output is not None else None
    if head is not None and head.weight is not weight:
        if untied == "error":
            raise ValueError(
                "the output head is not tied to the input embedding (not the same Parameter); "
                "tie them, or pass untied='copy' to write E into both (untied='input': the input alone)"
            )
        if untied == "copy":
            if head.weight.shape != weight.shape:
                raise ValueError(f"the output head has shape {tuple(head.weight.shape)}, E has {tuple(E.shape)}")
            heads.append(head.weight)
    with torch.no_grad():
        for param in (weight, *heads):
            param.copy_(E.to(dtype=param.dtype, device=param.device))
    return weight


def set_output_bias_(model: torch.nn.Module, bias: torch.Tensor) -> torch.nn.Parameter:
    """Give the output head a bias initialised to ``bias`` (length V), in place; returns it.

    A head without one (MiniGPT, GPT-2) is replaced by a ``Linear`` with a bias whose weight is the
    same Parameter, so a tied head stays tied (``set_output_embeddings``). The bias is 1-D, so
    :func:`mobius_init.train` does not decay it. MiniGPT checkpoints keep it (``MiniGPT.load_state_dict``
    recreates it); a Hugging Face head whose config has no bias (GPT-2) loses it in ``save_pretrained``
    -> ``from_pretrained``: use :func:`set_output_prior_` there."""
    head = model.get_output_embeddings()
    bias = torch.as_tensor(bias)
    if bias.shape != (head.weight.shape[0],):
        raise ValueError(f"the bias has shape {tuple(bias.shape)}, the head has {head.weight.shape[0]} outputs")
    if head.bias is None:
        new = torch.nn.Linear(
            head.in_features, head.out_features, bias=True, device=head.weight.device, dtype=head.weight.dtype
        )
        new.weight = head.weight
        model.set_output_embeddings(new)
        head = new
    with torch.no_grad():
        head.bias.copy_(bias.to(head.bias))
    return head.bias


def final_layer_norm(model: torch.nn.Module) -> torch.nn.LayerNorm:
    """The LayerNorm just before the output head: the last ``nn.LayerNorm`` of the model (MiniGPT's
    ``ln_f``, GPT-2's ``transformer.ln_f``)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    if not norms or norms[-1].bias is None or norms[-1].weight is None:
        raise TypeError(f"{type(model).__name__} has no final LayerNorm with a weight and a bias")
    return norms[-1]


def set_output_prior_(model: torch.nn.Module, log_probs: torch.Tensor, *, column: int = -1) -> dict[str, float]:
    """Make the logits start with ``log_probs`` (length V) added, through parameters every tied model
    already has, so the init survives any save format: the final LayerNorm's gain on one reserved
    direction ``column`` is set to 0 and its bias to β, and that column of the tied embedding to
    ``(log_probs - mean) / β``, so the head adds ``β · E[y, column] = log p(y) - mean`` to logit y
    (softmax ignores the mean). β makes the column's RMS that of the others, so the input side sees a
    feature of ordinary size. The column's previous values are lost. Returns ``{"column", "beta"}``."""
    weight = input_embedding_parameter(model)
    head = model.get_output_embeddings()
    if head is None or head.weight is not weight:
        raise ValueError("the output head is not tied to the input embedding: use set_output_bias_ on an untied head")
    if getattr(head, "bias", None) is not None:
        raise ValueError("the head already has a bias: the prior would be added twice")
    norm = final_layer_norm(model)
    prior = torch.as_tensor(log_probs, dtype=torch.float64)
    if prior.shape != (weight.shape[0],) or not torch.isfinite(prior).all():
        raise ValueError(f"log_probs must be {weight.shape[0]} finite values, got shape {tuple(prior.shape)}")
    j = column % weight.shape[1]
    prior = prior - prior.mean()
    others = torch.cat([weight[:, :j], weight[:, j + 1 :]], dim=1).detach().double()
    beta = float(prior.pow(2).mean().sqrt() / others.pow(2).mean().sqrt())
    with torch.no_grad():
        weight[:, j] = (prior / beta).to(weight)
        norm.weight[j] = 0.0
        norm.bias[j] = beta
    return {"column": j, "beta": beta}


def initialize_(
    model: torch.nn.Module,
    stats: Any,
    *,
    method: str = DEFAULT_METHOD,
    unigram_prior: str | None = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """The recommended init in one call, in place: ``method`` embeddings (:func:`analytic_embeddings`,
    scaled to the random init's RMS) into the tied embedding of a MiniGPT or a Hugging Face model, and
    the logits started at the log-unigram distribution of ``stats``. ``unigram_prior``: ``"bias"`` (an
    output bias, :func:`set_output_bias_`: what the measurements used; MiniGPT checkpoints keep it),
    ``"reserved"`` (:func:`set_output_prior_`: survives ``save_pretrained``, but measured to hurt at a
    fast embedding learning rate: docs/results/horizons.md), ``"auto"`` (= bias; a Hugging Face model
    whose config has no head bias gets a warning that ``save_pretrained`` drops it) or None. Returns
    what it did."""
    if unigram_prior not in (None, "auto", "bias", "reserved"):
        raise ValueError(f"unigram_prior must be 'auto', 'bias', 'reserved' or None, got {unigram_prior!r}")
    if not (
        callable(getattr(model, "get_input_embeddings", None))
        and callable(getattr(model, "get_output_embeddings", None))
    ):
        raise TypeError(
            f"initialize_ needs a model with a tied embedding and head (get_input_embeddings() and "
            f"get_output_embeddings(): MiniGPT, a Hugging Face model), got {type(model).__name__}; for a bare "
            "embedding matrix use apply_embeddings_(weight, analytic_embeddings(stats, dim))"
        )
    weight = input_embedding_parameter(model)
    head = model.get_output_embeddings()
    if head is None or head.weight is not weight:
        raise ValueError("initialize_ needs the output head tied to the input embedding (the same Parameter)")
    if unigram_prior == "reserved":
        if getattr(head, "bias", None) is not None:
            raise ValueError("the head already has a bias: the reserved prior would be added twice")
        final_layer_norm(model)  # raises before anything is written when there is none
    E = analytic_embeddings(stats, weight.shape[1], method, seed=seed)
    apply_embeddings_(model, E)  # checks every shape before it writes
    E = torch.as_tensor(E)
    done: dict[str, Any] = {"method": method, "shape": tuple(E.shape), "rms": float(E.double().pow(2).mean().sqrt())}
    done["prior"] = None
    if unigram_prior == "auto":
        unigram_prior = "bias"
        if hasattr(getattr(model, "config", None), "model_type"):
            import warnings

            warnings.warn(
                "the unigram prior is an output bias, which save_pretrained/from_pretrained drops for a head whose "
                "config has none (GPT-2): save model.get_output_embeddings().bias beside the checkpoint, or pass "
                "unigram_prior='reserved' (survives the save; measured to hurt at a fast embedding learning rate)",
                UserWarning,
                stacklevel=2,
            )
    if unigram_prior is not None:
        log_probs = torch.from_numpy(unigram_log_probs(stats.vocab.counts))
        if unigram_prior == "bias":
            set_output_bias_(model, log_probs)
        else:
            done.update(set_output_prior_(model, log_probs))
        done["prior"] = unigram_prior
    return done
