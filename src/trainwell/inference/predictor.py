"""Validated batch inference from a saved bundle — the same path `predict` and `serve` use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.data.preprocessing import transform
from trainwell.data.schema import InputSchema, validate_frame
from trainwell.errors import BundleError, ConfigError, ModelError
from trainwell.inference.bundle import (
    MODEL_DIR,
    PREPROCESSING_FILE,
    SCHEMA_FILE,
    VerifiedBundle,
    verify_bundle,
)
from trainwell.tasks import TaskSpec, get_task
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = get_logger(__name__)

DEFAULT_CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class Predictor:
    """A loaded, verified bundle ready to predict.

    Example:
        >>> predictor = Predictor.load(Path("models/breast-cancer-sklearn-hgb-1a2b3c"))
        >>> predictor.predict_frame(rows)  # doctest: +SKIP
    """

    bundle: VerifiedBundle
    schema: InputSchema
    preprocessor: Any
    model: Any
    task: TaskSpec

    @classmethod
    def load(cls, path: Path) -> Predictor:
        """Verify the bundle's hashes, then load schema, preprocessing and model.

        Raises:
            BundleError: the bundle is missing, altered, or names an unknown architecture.
        """
        from trainwell.models.registry import get_spec
        from trainwell.models.sklearn_models import load_skops

        bundle = verify_bundle(path)
        try:
            task = get_task(str(bundle.manifest.get("task", "")))
        except ConfigError as exc:
            raise BundleError(f"bundle {path}: {exc}") from exc
        schema = InputSchema.model_validate(bundle.read_json(SCHEMA_FILE))
        architecture = str(bundle.manifest.get("architecture", ""))
        try:
            spec = get_spec(architecture)
        except ModelError as exc:
            raise BundleError(f"bundle {path}: {exc}") from exc
        preprocessor = load_skops(path / PREPROCESSING_FILE)
        model = spec.load(path / MODEL_DIR)
        return cls(
            bundle=bundle,
            schema=schema,
            preprocessor=preprocessor,
            model=model,
            task=task,
        )

    def features(self, frame: pd.DataFrame, *, strict_categories: bool = False) -> np.ndarray:
        """Validate rows against the schema and run the saved preprocessing."""
        validated = validate_frame(frame, self.schema, strict_categories=strict_categories)
        return transform(self.preprocessor, validated, self.schema)

    def predict_frame(
        self, frame: pd.DataFrame, *, strict_categories: bool = False
    ) -> pd.DataFrame:
        """Predictions for ``frame``: labels (+ one probability column per class) or values."""
        import pandas as pd

        X = self.features(frame, strict_categories=strict_categories)
        columns = self.task.objective.outputs(self.model, X, tuple(self.schema.classes))
        return pd.DataFrame(columns, index=frame.index)

    def predict_file(
        self,
        input_path: Path,
        output_path: Path,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        strict_categories: bool = False,
    ) -> int:
        """Predict a CSV/Parquet file in chunks and write a CSV/Parquet of predictions.

        The output keeps the input's row order; it is written to a temporary file first and
        renamed, so a failure leaves no partial output.

        Returns:
            The number of rows predicted.
        """
        import pandas as pd

        from trainwell.data.loading import load_table

        frame = load_table(str(input_path))
        parts = [
            self.predict_frame(
                frame.iloc[start : start + chunk_rows], strict_categories=strict_categories
            )
            for start in range(0, len(frame), chunk_rows)
        ]
        result = pd.concat(parts)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        staging = output_path.with_name(f".{output_path.name}.partial")
        if output_path.suffix.lower() in {".parquet", ".pq"}:
            result.to_parquet(staging, index=False)
        else:
            result.to_csv(staging, index=False)
        staging.replace(output_path)
        logger.info("predictions_written", path=str(output_path), rows=len(result))
        return len(result)
