"""Session-wide test setup: offline and quiet libraries, and every test in its own directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "OMP_NUM_THREADS": "2",
}
for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _library_logging() -> None:
    """Each test starts with trainwell's library logging (a CLI test may have changed it)."""
    from trainwell.utils.logging import DEFAULT_LIBRARY_LEVEL, configure_logging

    configure_logging("console", DEFAULT_LIBRARY_LEVEL)


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every test in its own directory so no test writes mlruns/ or models/ into the repo."""
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("TRAINWELL_")]:
        monkeypatch.delenv(key)
    return tmp_path


@pytest.fixture
def repo_root() -> Path:
    """The trainwell checkout (for configs/ and other shipped files)."""
    return REPO_ROOT
