"""The horizon study's settings: inits x learning rates x embedding multipliers x seeds, the horizons,
and where each horizon's branch leaves the trunk."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..settings import InvalidSetting, setting
from ..train_config import TrainConfig
from .arms import ExperimentConfig, InitSpec

STUDY_INITS = ("random", "random+unigram", "ppmi_svd+unigram", "ppmi_svd:shuffled+unigram")
# A horizon study's warmup is fixed in steps: every horizon shares the trunk, so the warmup must not follow
# the longest horizon (adding one would change every trunk). 100 steps, as nanoGPT's small-model config.
WARMUP_STEPS = 100


@dataclass
class HorizonsConfig(ExperimentConfig):
    """The horizon study: inits x learning rates x embedding multipliers x seeds, each at every horizon."""

    train: TrainConfig = setting(
        factory=lambda: TrainConfig(schedule="wsd", min_lr_ratio=0.0, steps=1000, warmup_steps=WARMUP_STEPS)
    )
    inits: tuple[str, ...] = setting(
        STUDY_INITS,
        "comma-separated inits, each METHOD[:CONTROL][+unigram|+prior] or a plug-in module:function[:CONTROL] "
        "(a function(stats, model) writing its init in place); random must be one of them (the reference)",
    )
    seeds: int = setting(2, "seeds per arm, paired by seed (same data order and dropout)")
    horizons: tuple[int, ...] = setting((250, 500, 1000, 2000, 4000), "increasing training lengths in steps")
    lrs: tuple[float, ...] | None = setting(
        None, "learning rates to sweep, for every init: the grid of best against best (default: the one --lr)"
    )
    embedding_lr_mults: tuple[float, ...] | None = setting(
        None, "embedding learning-rate multipliers to sweep, for every init (default: the one --embedding-lr-mult)"
    )
    first_seed: int = setting(
        0, "the seeds run are first_seed ... first_seed + seeds - 1 (two processes can share one output directory)"
    )
    reference_horizons: tuple[int, ...] = setting(
        (),
        "extra horizons, longer than the longest, for the random arms alone: their curve then reaches past the "
        "longest horizon, so the steps saved there are read, not bounded (default: none)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.first_seed < 0:
            raise InvalidSetting("first_seed", f"must be >= 0, got {self.first_seed}")
        if self.train.schedule != "wsd":
            raise InvalidSetting("schedule", f"must be wsd for a horizon study, got {self.train.schedule!r}")
        if self.train.warmup_steps is None:
            raise InvalidSetting(
                "warmup_steps", "must be a number of steps in a horizon study (every horizon shares it)"
            )
        if not self.horizons or any(b <= a for a, b in zip(self.horizons, self.horizons[1:], strict=False)):
            raise InvalidSetting("horizons", f"must be strictly increasing, got {','.join(map(str, self.horizons))}")
        if any(h <= self.horizons[-1] for h in self.reference_horizons):
            raise InvalidSetting(
                "reference_horizons",
                f"must be longer than the longest horizon ({self.horizons[-1]}), got "
                f"{','.join(map(str, self.reference_horizons))}",
            )
        for horizon in (*self.horizons, *self.reference_horizons):
            decay = max(1, round(self.train.decay_fraction * horizon))
            if self.warmup + decay > horizon:
                raise InvalidSetting(
                    "horizons",
                    f"has {horizon}: shorter than the warmup (warmup_steps={self.warmup}) + its decay ({decay}); "
                    "use longer horizons or fewer warmup steps",
                )
            try:
                self.branch_config(horizon)
            except InvalidSetting as exc:
                raise InvalidSetting("horizons", f"has {horizon}: {exc.problem}") from None
        for name, single, values in (
            ("lrs", "lr", self.lrs),
            ("embedding_lr_mults", "embedding_lr_mult", self.embedding_lr_mults),
        ):
            if values is None:
                continue
            if any(not v > 0 for v in values):
                raise InvalidSetting(name, f"must be numbers > 0, got {','.join(f'{v:g}' for v in values)}")
            given, default = getattr(self.train, single), getattr(TrainConfig(device="cpu"), single)
            if given != default and given not in values:
                raise InvalidSetting(
                    name,
                    f"sweeps {','.join(f'{v:g}' for v in values)} and {single}={given:g} is not one of them: give one",
                )

    @property
    def warmup(self) -> int:
        """Warmup steps shared by every horizon (fixed in steps, so a trunk does not depend on the horizons)."""
        return self.train.warmup_steps

    def branch_config(self, horizon: int) -> TrainConfig:
        """The wsd schedule of ``horizon`` steps (raises InvalidSetting when it does not fit)."""
        return replace(self.train, steps=horizon, warmup_steps=self.warmup)

    def branch_point(self, horizon: int) -> int:
        """The step where the branch of ``horizon`` leaves the trunk (its decay starts)."""
        return horizon - self.branch_config(horizon).decay_steps

    def arm_horizons(self, init: str) -> list[int]:
        """The horizons an arm is trained to: the reference (random) arms also get ``reference_horizons``."""
        extra = self.reference_horizons if InitSpec.parse(init) == InitSpec("random") else ()
        return sorted({*self.horizons, *extra})

    def seeds_run(self) -> range:
        return range(self.first_seed, self.first_seed + self.seeds)

    def grid(self) -> list[tuple[str, float, float]]:
        """``(init, lr, embedding multiplier)`` of every arm."""
        lrs = self.lrs or (self.train.lr,)
        mults = self.embedding_lr_mults or (self.train.embedding_lr_mult,)
        return [(init, lr, mult) for init in self.inits for lr in lrs for mult in mults]
