"""What the server holds: the arms, the shadow, and the swap that replaces them without a gap.

A reload, promote or rollback loads the new model beside the old one (verify, load, warm-up
prediction), then replaces the arm table in one assignment: a request in flight keeps the model
it started with, the next one gets the new model, none waits or fails. A failed load leaves the
old table in place and says why.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import BundleError, ConfigError, ExportError, TrainwellError
from trainwell.inference.serve.models import ModelIdentity, ServedModel, load_served
from trainwell.inference.serve.routing import Router
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from trainwell.inference.drift import DriftThresholds
    from trainwell.inference.serve.metrics import ServeMetrics
    from trainwell.inference.serve.settings import ServeConfig

logger = get_logger(__name__)

DEFAULT_ARM = "default"


@dataclass(frozen=True)
class Resolved:
    """A ref resolved to a local bundle and the identity it is served under."""

    path: Path
    identity: ModelIdentity


class ModelSource:
    """Where refs come from: bundle directories, or a registered model's versions and aliases."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config

    @property
    def registry(self) -> str | None:
        """The registered model name (None: serving bundle directories)."""
        return self.config.registry

    def resolve(self, ref: str, arm: str) -> Resolved:
        """The bundle a ref names now (an alias is looked up again on every call).

        Raises:
            BundleError: the bundle is missing or altered.
            RegistryError: the model, version or alias is unknown.
        """
        if self.config.registry is None:
            from trainwell.inference.serve.models import _bundle_version

            path = Path(ref)
            if not (path / "manifest.json").is_file():
                raise BundleError(f"no bundle at {path} (a directory written by `trainwell train`)")
            return Resolved(path, ModelIdentity(arm, path.name, _bundle_version(path)))
        from trainwell.inference import registry

        resolved = registry.resolve(self.config.registry, ref, self.config.tracking_uri)
        identity = ModelIdentity(arm, resolved.name, str(resolved.version), resolved.alias)
        return Resolved(Path(resolved.path), identity)

    def promote(self, version: str, alias: str) -> Any:
        """Point ``alias`` at ``version`` in the registry."""
        from trainwell.inference import registry

        return registry.promote(self._name(), int(version), alias, self.config.tracking_uri)

    def rollback(self, alias: str) -> Any:
        """Point ``alias`` back at its previous version."""
        from trainwell.inference import registry

        return registry.rollback(self._name(), alias, self.config.tracking_uri)

    def _name(self) -> str:
        if self.config.registry is None:
            raise ConfigError("promote and rollback need `serve --registry NAME`")
        return self.config.registry


class ServeState:
    """The arms being served and the shadow; swapped whole under a lock (one swap at a time)."""

    def __init__(
        self,
        config: ServeConfig,
        metrics: ServeMetrics,
        thresholds: DriftThresholds | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        if thresholds is None:
            from trainwell.inference.drift import DriftThresholds

            thresholds = DriftThresholds(
                psi_alert=config.psi_alert,
                window=config.drift_window,
                min_rows=min(DriftThresholds().min_rows, config.drift_window),
            )
        self.thresholds = thresholds
        self.source = ModelSource(config)
        specs = config.served_arms()
        self.arm_refs = {self._arm_name(spec.ref, len(specs)): spec.ref for spec in specs}
        weights = [(name, spec.weight) for name, spec in zip(self.arm_refs, specs, strict=True)]
        self.router = Router(weights, seed=config.seed)
        self.arms: dict[str, ServedModel] = {}
        self.shadow: ServedModel | None = None
        self.ready = False
        self.draining = False
        self._swap = threading.Lock()

    def _arm_name(self, ref: str, n_arms: int) -> str:
        if self.config.registry is None:
            return DEFAULT_ARM if n_arms == 1 else Path(ref).name
        return ref if not ref.isdigit() else f"v{ref}"

    @property
    def control(self) -> str:
        """The first arm: the one the shadow is compared with and drift gauges describe."""
        return next(iter(self.arm_refs))

    def load_all(self) -> list[str]:
        """Load (or reload) every arm and the shadow; swap only if all loaded.

        Returns:
            What changed, one line per arm ("champion: v3 -> v4").

        Raises:
            TrainwellError: a model failed to load (the served ones are kept; counted).
        """
        with self._swap:
            try:
                arms = {arm: self._reuse_or_load(ref, arm) for arm, ref in self.arm_refs.items()}
                shadow = (
                    self._reuse_or_load(self.config.shadow, "shadow", shadow=True)
                    if self.config.shadow is not None
                    else None
                )
            except (BundleError, ExportError, ConfigError, TrainwellError) as exc:
                self.metrics.load_failures.inc()
                logger.error("model_load_failed", error=str(exc), kept=bool(self.arms))
                raise
            changes = [
                f"{arm}: {self._version(self.arms.get(arm))} -> {model.identity.version}"
                for arm, model in arms.items()
                if self.arms.get(arm) is not model
            ]
            if shadow is not None and shadow is not self.shadow:
                changes.append(f"shadow: {self._version(self.shadow)} -> {shadow.identity.version}")
            self.arms, self.shadow = arms, shadow  # the swap: requests pick up the new table
            self._describe_metrics()
            self.ready = True
        for change in changes:
            logger.info("model_swapped", change=change)
        return changes

    def _reuse_or_load(self, ref: str, arm: str, *, shadow: bool = False) -> ServedModel:
        """The served model when the ref still names the same bundle, else a fresh load (a
        bundle directory's version is its manifest hash: a re-export is a new version)."""
        current = self.shadow if shadow else self.arms.get(arm)
        resolved = self.source.resolve(ref, arm)
        if current is not None and (current.identity, current.path) == (
            resolved.identity,
            resolved.path,
        ):
            return current
        return load_served(
            resolved.path,
            resolved.identity,
            runtime=self.config.runtime,
            threads=self.config.threads,
            strict_categories=self.config.strict_categories,
            drift=self.config.drift,
            thresholds=self.thresholds,
        )

    @staticmethod
    def _version(model: ServedModel | None) -> str:
        return model.identity.version if model is not None else "none"

    def _describe_metrics(self) -> None:
        self.metrics.model_info.clear()
        for arm, model in self.arms.items():
            self.metrics.model_info.labels(
                arm, model.identity.name, model.identity.version, model.runtime
            ).set(1)
        self.metrics.ready.set(1 if not self.draining else 0)

    def start_draining(self) -> None:
        """SIGTERM: stop saying ready (in-flight and new requests are still answered)."""
        self.draining = True
        self.metrics.ready.set(0)
        logger.info("draining")
