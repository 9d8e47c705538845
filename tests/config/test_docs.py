"""docs/configuration.md is generated from the config models and must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_configuration_reference_is_up_to_date(repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "gen_config_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
