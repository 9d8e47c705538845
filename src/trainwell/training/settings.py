"""The Trainer's loop settings as plain values; importable without torch.

:class:`TrainerSettings` is what :class:`~trainwell.training.trainer.Trainer` runs with and
what the torch estimators take as their ``loop`` parameter. Its names are ``TrainingConfig``'s
(``docs/training.md`` explains each one); :meth:`TrainerSettings.from_config` maps a config onto
it and :meth:`TrainerSettings.as_params` gives the flat builder parameters
(``trainwell.models.torch_entries``) for it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from trainwell.config.schema import TrainingConfig

OptimizerName = Literal["adamw", "adam", "sgd"]
SchedulerName = Literal["none", "cosine", "linear", "step"]
Precision = Literal["fp32", "bf16", "fp16"]

OPTIMIZERS: tuple[str, ...] = ("adamw", "adam", "sgd")
SCHEDULERS: tuple[str, ...] = ("none", "cosine", "linear", "step")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
DEFAULT_EPOCHS = 20
DEFAULT_BATCH_SIZE = 256
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_GRAD_CLIP = 1.0
DEFAULT_LOG_EVERY_STEPS = 50
DEFAULT_KEEP_CHECKPOINTS = 2
# Builder parameter name of a field, where it differs (scikit-learn calls the seed random_state).
_PARAM_NAMES = {"seed": "random_state"}
# ``TrainingConfig`` fields that the `train` job reads, not the loop (training/pipeline.py).
JOB_FIELDS = frozenset({"native_categorical", "refit_full", "refit_include_test"})


@dataclass(frozen=True)
class TrainerSettings:
    """The loop's settings (see ``docs/training.md``; the names match ``TrainingConfig``).

    The Trainer reads every field but ``deterministic`` and ``devices``: the caller seeds the
    RNGs (``seed_everything(seed, deterministic)``) and starts one process per device
    (torchrun), as the torch estimators do.

    Raises:
        ValueError: a setting out of its range, or not one of its choices.
    """

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    weight_decay: float = 0.0
    optimizer: OptimizerName = "adamw"
    scheduler: SchedulerName = "none"
    warmup_steps: int = 0
    precision: Precision = "fp32"
    grad_clip: float | None = DEFAULT_GRAD_CLIP
    grad_accumulation: int = 1
    compile: bool = False
    gradient_checkpointing: bool = False
    early_stopping_patience: int | None = None
    monitor: str = "val/loss"
    monitor_mode: Literal["min", "max"] = "min"
    num_workers: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every_steps: int | None = None
    keep_checkpoints: int = DEFAULT_KEEP_CHECKPOINTS
    resume: str | None = None
    device: str = "auto"
    seed: int = 0
    log_every_steps: int = DEFAULT_LOG_EVERY_STEPS
    progress_bar: bool | None = None
    deterministic: bool = False
    devices: int = 1

    def __post_init__(self) -> None:
        at_least_one = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "grad_accumulation": self.grad_accumulation,
            "keep_checkpoints": self.keep_checkpoints,
            "log_every_steps": self.log_every_steps,
            "checkpoint_every_steps": self.checkpoint_every_steps or 1,
            "early_stopping_patience": self.early_stopping_patience or 1,
        }
        for name, value in at_least_one.items():
            if value < 1:
                raise ValueError(f"The {name!r} parameter must be an int >= 1. Got {value}.")
        choices = {
            "optimizer": (self.optimizer, OPTIMIZERS),
            "scheduler": (self.scheduler, SCHEDULERS),
            "precision": (self.precision, PRECISIONS),
            "monitor_mode": (self.monitor_mode, ("min", "max")),
        }
        for name, (choice, allowed) in choices.items():
            if choice not in allowed:
                raise ValueError(
                    f"The {name!r} parameter must be one of {', '.join(allowed)}. Got {choice!r}."
                )
        if self.learning_rate <= 0 or self.weight_decay < 0 or self.warmup_steps < 0:
            raise ValueError(
                "learning_rate must be > 0, weight_decay >= 0 and warmup_steps >= 0. Got "
                f"{self.learning_rate}, {self.weight_decay}, {self.warmup_steps}."
            )
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(
                f"The 'grad_clip' parameter must be > 0 or None. Got {self.grad_clip}."
            )
        if self.num_workers < 0:
            raise ValueError(f"The 'num_workers' parameter must be >= 0. Got {self.num_workers}.")

    @classmethod
    def from_config(cls, cfg: TrainingConfig) -> TrainerSettings:
        """The settings of a ``training:`` section: every one of its fields but ``JOB_FIELDS``,
        under its name.

        ``checkpoint_dir``, ``keep_checkpoints``, ``log_every_steps`` and ``progress_bar`` are
        not config fields: they keep their defaults.
        """
        return cls(
            seed=cfg.seed,
            deterministic=cfg.deterministic,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            weight_decay=cfg.weight_decay,
            optimizer=cfg.optimizer,
            scheduler=cfg.scheduler,
            warmup_steps=cfg.warmup_steps,
            precision=cfg.precision,
            grad_clip=cfg.grad_clip,
            grad_accumulation=cfg.grad_accumulation,
            compile=cfg.compile,
            gradient_checkpointing=cfg.gradient_checkpointing,
            early_stopping_patience=cfg.early_stopping_patience,
            monitor=cfg.monitor,
            monitor_mode=cfg.monitor_mode,
            num_workers=cfg.num_workers,
            checkpoint_every_steps=cfg.checkpoint_every_steps,
            resume=cfg.resume,
            devices=cfg.devices,
            device=cfg.device,
        )

    @classmethod
    def param_names(cls) -> dict[str, str]:
        """Builder parameter name -> field name, for every field (``random_state`` -> ``seed``)."""
        return {_PARAM_NAMES.get(f.name, f.name): f.name for f in fields(cls)}

    def as_params(self) -> dict[str, Any]:
        """These settings as flat builder parameters (``seed`` as ``random_state``).

        ``build_*(objective, self.seed, self.as_params())`` trains with exactly these settings.
        """
        return {param: getattr(self, name) for param, name in self.param_names().items()}
