"""An arm of an experiment: what every experiment shares (:class:`ExperimentConfig`), the init an arm
starts from (:class:`InitSpec`, built-in or a plug-in), the model it trains and how the init is
written into it. ``compare`` and ``horizons`` both build their arms from here.

An init is ``METHOD[:CONTROL][+unigram|+prior]``: ``ppmi_svd``, ``ppmi_svd:shuffled`` (its rows given to the
wrong tokens), ``ppmi_svd:random_rownorm`` (its row norms, random directions), ``random+unigram`` (a
random init whose output head starts at the log-unigram distribution), ``ppmi_svd+unigram``; or a user's
``module:function[:CONTROL][+...]``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from ..embeddings import CONTROLS, METHODS, analytic_embeddings, apply_control, unigram_log_probs
from ..minigpt import MiniGPT, MiniGPTConfig
from ..settings import CorpusConfig, InvalidSetting, check_positive, setting
from ..stats import CorpusStats
from ..train_config import TrainConfig
from ..weights import apply_embeddings_, input_embedding_parameter, set_output_bias_, set_output_prior_

ARCHITECTURES = ("minigpt", "gpt2")


PRIORS = ("unigram", "prior")


@dataclass(frozen=True)
class InitSpec:
    """One arm of the comparison: an embedding method, an optional control of it, an optional
    log-unigram start of the logits: ``unigram`` as an output bias (:func:`set_output_bias_`), ``prior``
    through the final LayerNorm and a reserved embedding direction (:func:`set_output_prior_`, which
    survives any save format). ``method`` is a built-in (:data:`METHODS`) or a plug-in
    ``module:function``: a user's ``function(stats, model)`` that writes its init into the model in place."""

    method: str
    control: str | None = None
    prior: str | None = None

    @property
    def plugin(self) -> bool:
        return self.method not in METHODS

    @classmethod
    def parse(cls, text: str) -> InitSpec:
        """``METHOD[:CONTROL][+unigram|+prior]``, or ``module:function[:CONTROL][+...]`` for a plug-in
        (imported and its signature checked here)."""
        body, plus, prior = text.partition("+")
        head, _, rest = body.partition(":")
        if head in METHODS:
            method, control = head, rest
        else:  # a plug-in: module:function[:CONTROL]
            function, _, control = rest.partition(":")
            method = f"{head}:{function}" if head and function else ""
        if not method or (control and control not in CONTROLS) or (plus and prior not in PRIORS):
            raise ValueError(
                f"cannot read init {text!r}: expected METHOD[:CONTROL][+unigram|+prior] with METHOD in "
                f"{', '.join(METHODS)} or a plug-in module:function, and CONTROL in {', '.join(CONTROLS)}"
            )
        spec = cls(method, control or None, prior or None)
        if spec.plugin:
            load_plugin(method)
        return spec

    def __str__(self) -> str:
        return self.method + (f":{self.control}" if self.control else "") + (f"+{self.prior}" if self.prior else "")


def load_plugin(path: str) -> Callable[[CorpusStats, torch.nn.Module], Any]:
    """The function of a plug-in init ``module:function`` (the module found from the current directory
    too, as ``python -m`` finds it); ValueError naming what is wrong: the import, the name, the signature."""
    module_name, _, name = path.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a user's module may fail to import in any way
        raise ValueError(f"init {path!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"init {path!r}: {module_name!r} has no function {name!r}")
    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        raise ValueError(
            f"init {path!r}: {name}{inspect.signature(function)} must take (stats, model) and write the init into "
            "the model in place"
        ) from None
    return function


@dataclass
class ExperimentConfig:
    """What every experiment shares: the corpus and its held-out split, the model, training, the inits."""

    corpus: str = setting(
        "builtin:lee",
        "corpus source: a file or directory (.gz/.bz2/.xz read directly), builtin:lee, or hf:NAME[/CONFIG][:SPLIT]",
    )
    data: CorpusConfig = setting(factory=lambda: CorpusConfig(vocab_size=1000))
    architecture: str = setting(
        "minigpt",
        "the model: minigpt, or gpt2 (transformers.GPT2LMHeadModel built "
        "locally with the same shape; needs the [hf] extra)",
        choices=ARCHITECTURES,
        flag="model",
    )
    model: MiniGPTConfig = setting(factory=MiniGPTConfig)
    train: TrainConfig = setting(factory=TrainConfig)
    inits: tuple[str, ...] = setting(
        METHODS,
        "comma-separated inits, each METHOD[:CONTROL][+unigram|+prior]; random must be one of them (the reference)",
    )
    seeds: int = setting(3, "seeds per init (seed s gives every init the same data order and dropout)")
    val_fraction: float = setting(0.1, "share of the documents (the last ones) held out for validation")
    max_docs: int | None = setting(None, "read at most this many documents")
    progress: bool = setting(True, "progress bars", cli=False)

    def __post_init__(self) -> None:
        check_positive(self, "seeds")
        check_positive(self, "max_docs", allow_none=True)
        try:
            specs = [InitSpec.parse(text) for text in self.inits]
        except ValueError as exc:
            raise InvalidSetting("inits", str(exc).replace("cannot read init", "has")) from None
        if InitSpec("random") not in specs:
            raise InvalidSetting("inits", "must include random, the reference every init is compared with")
        if not 0 < self.val_fraction < 1:
            raise InvalidSetting("val_fraction", f"must lie in (0, 1), got {self.val_fraction}")
        if self.architecture not in ARCHITECTURES:
            raise InvalidSetting("architecture", f"must be one of {', '.join(ARCHITECTURES)}")
        if self.architecture == "gpt2" and not _installed("transformers"):
            raise InvalidSetting("architecture", "gpt2 needs transformers: pip install 'mobius-init[hf]'")


def _installed(package: str) -> bool:
    """Whether ``package`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except ValueError:  # in sys.modules as None: import it and it fails
        return False


def build_model(architecture: str, config: MiniGPTConfig, seed: int) -> torch.nn.Module:
    """A freshly initialised model of the given architecture (torch seeded with ``seed`` first)."""
    torch.manual_seed(seed)
    if architecture == "gpt2":
        from ..integrations.hf import gpt2_model

        return gpt2_model(config)
    return MiniGPT(config)


def initialise(model: torch.nn.Module, stats: CorpusStats, spec: InitSpec, seed: int) -> None:
    """Write the init of ``spec`` into the model's tied embedding (and head bias). A plug-in writes its
    own init; its control, if any, then rearranges the embedding it wrote. ValueError, naming the init,
    when a plug-in changes the embedding's shape or writes non-finite values."""
    dim = input_embedding_parameter(model).shape[1]
    untied = "input" if getattr(getattr(model, "config", None), "tie_embeddings", True) is False else "error"
    if spec.plugin:
        before = input_embedding_parameter(model).detach().clone()
        load_plugin(spec.method)(stats, model)
        weight = input_embedding_parameter(model)
        if weight.shape != before.shape:
            raise ValueError(
                f"init {spec.method!r} changed the embedding's shape from {tuple(before.shape)} to {tuple(weight.shape)}"
            )
        bad = next((n for n, p in model.named_parameters() if not torch.isfinite(p).all()), None)
        if bad is not None:
            raise ValueError(f"init {spec.method!r} wrote non-finite values into {bad}")
        if spec.control:
            if torch.equal(weight.detach(), before):
                raise ValueError(
                    f"init {spec}: the control :{spec.control} rearranges the embedding's rows, which "
                    f"{spec.method} does not write"
                )
            E = apply_control(weight.detach().double().cpu().numpy(), spec.control, seed)
            apply_embeddings_(model, torch.from_numpy(E), untied=untied)
    else:
        E = analytic_embeddings(stats, dim, spec.method, seed=seed, control=spec.control)
        apply_embeddings_(model, E, untied=untied)  # an untied head keeps its random init
    if spec.prior:
        log_probs = torch.from_numpy(unigram_log_probs(stats.vocab.counts))
        (set_output_bias_ if spec.prior == "unigram" else set_output_prior_)(model, log_probs)


def check_plugins(config: ExperimentConfig, stats: CorpusStats) -> None:
    """Apply every plug-in init once to a fresh model, so one that fails does so before any training."""
    model_config = replace(config.model, vocab_size=stats.vocab_size)
    for text in config.inits:
        spec = InitSpec.parse(text)
        if spec.plugin:
            initialise(build_model(config.architecture, model_config, 0), stats, spec, 0)
