"""trainwell's own exception types.

Library code raises these (re-raising third-party errors with context); the CLI turns any
``TrainwellError`` into one clear line on stderr and the exit code the error carries.
"""

from __future__ import annotations


class TrainwellError(Exception):
    """Base class for every error trainwell raises on purpose.

    Attributes:
        exit_code: the process exit code the CLI uses for this error.
    """

    exit_code: int = 2


class ConfigError(TrainwellError):
    """A config file, an override or an environment variable is invalid."""


class DataError(TrainwellError):
    """Input data is missing, unreadable, empty or unusable for the task."""


class ModelError(TrainwellError):
    """An architecture is unknown, unavailable in this install, or failed to build/fit."""


class BundleError(TrainwellError):
    """A model bundle is missing, incomplete, altered or from an incompatible version."""


class SchemaError(TrainwellError):
    """Input rows do not match the schema a bundle was trained on."""


class TrackingError(TrainwellError):
    """The experiment tracker could not be reached or refused a write."""


class TrainingError(TrainwellError):
    """Training failed (non-finite loss, out of memory, a corrupt checkpoint...)."""


class CheckFailedError(TrainwellError):
    """A pre-training check failed and was not downgraded in the config."""

    exit_code = 1


class ExportError(TrainwellError):
    """A model cannot be exported in the format or opset asked for, or an export is missing."""


class RegistryError(TrainwellError):
    """A registered model, version or alias is unknown, or the model registry refused a change."""


class ParityError(TrainwellError):
    """An exported model's outputs differ from the native model's beyond the tolerances."""

    exit_code = 1
