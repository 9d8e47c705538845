"""The ruff delegation: finding ruff, running it, reading its JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from trainwell.errors import TrainwellError
from trainwell.lint import ruff as ruff_module
from trainwell.lint.ruff import (
    RUFF_CODES,
    RuffRun,
    _chunks,
    find_ruff,
    parse_ruff_json,
)


def test_npy002_is_never_delegated() -> None:
    assert "NPY002" not in RUFF_CODES
    assert RUFF_CODES["F403"] == "TW101" and RUFF_CODES["ANN001"] == "TW110"


def test_find_ruff_prefers_the_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINWELL_RUFF", "/opt/custom/ruff")
    assert find_ruff() == Path("/opt/custom/ruff")
    monkeypatch.delenv("TRAINWELL_RUFF")
    found = find_ruff()
    assert found is not None and found.name.startswith("ruff")
    assert found.parent == Path(sys.executable).parent or found.exists()


def test_parse_keeps_known_codes_only() -> None:
    raw = json.dumps(
        [
            {"code": "F403", "filename": "/a.py", "location": {"row": 3, "column": 1},
             "message": "star", "cell": None},
            {"code": "E501", "filename": "/a.py", "location": {"row": 1, "column": 1},
             "message": "long", "cell": None},
            {"code": None, "filename": "/a.py", "location": {"row": 1, "column": 1},
             "message": "syntax", "cell": None},
        ]
    ).encode()  # fmt: skip
    diagnostics = parse_ruff_json(raw)
    assert [(d.code, d.row) for d in diagnostics] == [("F403", 3)]
    with pytest.raises(TrainwellError, match="not JSON"):
        parse_ruff_json(b"oops")


def test_chunks_stay_under_the_argument_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ruff_module, "MAX_ARGUMENT_CHARS", 30)
    files = [Path(f"/src/file_{i}.py") for i in range(5)]
    chunks = _chunks(files)
    assert [p for chunk in chunks for p in chunk] == files
    assert len(chunks) > 1
    assert all(sum(len(str(p)) + 1 for p in chunk) <= 30 for chunk in chunks)


def test_real_ruff_run(tmp_path: Path) -> None:
    ruff = find_ruff()
    assert ruff is not None
    source = tmp_path / "a.py"
    source.write_text("from os import *\nprint(1)\n")
    diagnostics = RuffRun(ruff, [source], ["F403", "T201"]).results()
    assert sorted((d.code, d.row) for d in diagnostics) == [("F403", 1), ("T201", 2)]


def test_a_broken_ruff_is_an_error(tmp_path: Path) -> None:
    fake = tmp_path / "ruff"
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 2\n")
    fake.chmod(0o755)
    with pytest.raises(TrainwellError, match=r"ruff failed.*boom"):
        RuffRun(fake, [tmp_path / "a.py"], ["F403"]).results()
    with pytest.raises(TrainwellError, match="cannot run ruff"):
        RuffRun(tmp_path / "missing", [tmp_path / "a.py"], ["F403"])
