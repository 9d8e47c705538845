"""What a user asks ``trainwell serve`` for: one frozen config, parsed from the CLI's options."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainwell.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_ROWS = 1_000
DEFAULT_MAX_IN_FLIGHT = 64
DEFAULT_LOG_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_LOG_BACKUPS = 5
ADMIN_TOKEN_ENV = "TRAINWELL_ADMIN_TOKEN"
DEFAULT_ALIAS = "champion"
WEIGHT_TOTAL = 100.0
_ARM = re.compile(r"^(?P<ref>.+):(?P<weight>\d+(\.\d+)?)$")

ServeRuntime = Literal["auto", "native", "onnx"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArmSpec(_Frozen):
    """One arm of an A/B split.

    Attributes:
        ref: a registry alias or version (``--registry``), or a bundle directory.
        weight: its share of traffic, in percent of the sum of all weights.
    """

    ref: str
    weight: float = Field(gt=0)


class StickyKey(_Frozen):
    """Where the key that pins a caller to one arm is read: a header or a record field."""

    source: Literal["header", "field"]
    name: str = Field(min_length=1)


class ServeConfig(_Frozen):
    """Everything ``trainwell serve`` runs with (defaults are the safe ones).

    Attributes:
        bundle: a bundle directory to serve (or None with ``registry``).
        registry: a registered model name in the MLflow Model Registry.
        arms: the served arms; one arm without ``--ab``.
        shadow: a ref answered off the response path, compared with the first arm.
        runtime: ``auto`` serves the bundle's ONNX export when it has one, else the native model.
        max_in_flight: requests past this many at once get a fast 503 instead of a queue.
        drain_seconds: after SIGTERM, answer ``/readyz`` 503 for this long before closing.
    """

    bundle: Path | None = None
    registry: str | None = None
    tracking_uri: str | None = None
    arms: tuple[ArmSpec, ...] = ()
    sticky_key: StickyKey | None = None
    shadow: str | None = None
    seed: int = 0
    host: str = DEFAULT_HOST
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    runtime: ServeRuntime = "auto"
    threads: int = Field(1, ge=1)
    strict_categories: bool = False
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024)
    max_rows: int = Field(DEFAULT_MAX_ROWS, ge=1)
    max_in_flight: int = Field(DEFAULT_MAX_IN_FLIGHT, ge=1)
    drain_seconds: float = Field(0.0, ge=0)
    graceful_timeout_s: float = Field(30.0, gt=0)
    request_log: Path | None = None
    request_log_max_bytes: int = Field(DEFAULT_LOG_MAX_BYTES, ge=1024)
    request_log_backups: int = Field(DEFAULT_LOG_BACKUPS, ge=0)
    drift: bool = True
    drift_check_every_s: float = Field(15.0, gt=0)
    drift_window: int = Field(2_000, ge=10)
    psi_alert: float = Field(0.25, gt=0)
    webhook_url: str | None = None
    admin_token: str | None = Field(None, repr=False)

    @model_validator(mode="after")
    def _one_source(self) -> ServeConfig:
        if (self.bundle is None) == (self.registry is None):
            raise ValueError("serve a bundle directory or --registry NAME (one of the two)")
        if self.shadow is not None and self.registry is None and self.bundle is None:
            raise ValueError("--shadow needs a model to compare with")
        return self

    def served_arms(self) -> tuple[ArmSpec, ...]:
        """The arms to load: ``arms``, or the one model asked for."""
        if self.arms:
            return self.arms
        if self.bundle is not None:
            return (ArmSpec(ref=str(self.bundle), weight=WEIGHT_TOTAL),)
        return (ArmSpec(ref=DEFAULT_ALIAS, weight=WEIGHT_TOTAL),)


def parse_arms(text: str) -> tuple[ArmSpec, ...]:
    """``champion:90,challenger:10`` -> arms (a ref may hold ``:``; the weight is after the last).

    Raises:
        ConfigError: an arm without a weight, a weight of 0, or a ref named twice.
    """
    arms: list[ArmSpec] = []
    for part in (p.strip() for p in text.split(",")):
        match = _ARM.match(part)
        if not match or float(match["weight"]) <= 0:
            raise ConfigError(
                f"--ab arm {part!r} must be REF:WEIGHT with a weight above 0 "
                "(e.g. champion:90,challenger:10)"
            )
        arms.append(ArmSpec(ref=match["ref"], weight=float(match["weight"])))
    refs = [a.ref for a in arms]
    if len(set(refs)) != len(refs):
        raise ConfigError(f"--ab names an arm twice: {', '.join(refs)}")
    if len(arms) < 2:
        raise ConfigError("--ab needs at least two arms (e.g. champion:90,challenger:10)")
    return tuple(arms)


def parse_sticky_key(text: str) -> StickyKey:
    """``header:X-User-ID`` or ``field:user_id``.

    Raises:
        ConfigError: another form.
    """
    source, _, name = text.partition(":")
    if source not in {"header", "field"} or not name:
        raise ConfigError(
            f"--sticky-key must be header:NAME or field:NAME (e.g. header:X-User-ID), got {text!r}"
        )
    return StickyKey(source="header" if source == "header" else "field", name=name)
