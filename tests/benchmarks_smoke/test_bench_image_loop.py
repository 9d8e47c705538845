"""benchmarks/bench_image_loop.py runs end to end in its --smoke configuration.

The smoke run checks that the benchmark works (every variant runs, the JSON holds what the
docstring promises), not the speed ratio: a few batches on a shared CI machine say nothing
about it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path("benchmarks") / "bench_image_loop.py"
VARIANTS = (
    "(a) hand-written timm/PyTorch loop",
    "(b) trainwell ImageClassifier.fit",
    "(l) loader only, hand-written Dataset",
    "(l') loader only, trainwell ImageDataset",
)


@pytest.mark.slow
def test_smoke_run_writes_the_table_and_json(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(repo_root / SCRIPT), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trainwell / hand-written:" in done.stdout
    assert "validation: none (both)" in done.stdout

    document = json.loads(out.read_text(encoding="utf-8"))
    config = document["config"]
    assert config["smoke"] is True
    assert config["grad_clip_in"] == "both loops"
    assert config["validation"] == "none (both loops)"
    assert config["transform"]["channels"] == 1
    assert config["transform"]["image_size"] == config["image_size"]
    assert {"torch", "timm", "torchvision"} <= document["versions"].keys()
    assert list(document["runs"]) == list(VARIANTS)
    for name, runs in document["runs"].items():
        assert len(runs) == config["repeats"]
        for run in runs:
            assert run["images_per_s"] > 0
            assert len(run["epoch_seconds"]) == config["warmup_epochs"] + config["epochs"]
            assert (run["final_loss"] is None) == name.startswith("(l")
    for name in VARIANTS[:2]:  # both loops train: same model, same data, a finite loss
        assert all(math.isfinite(run["final_loss"]) for run in document["runs"][name])
    ratios = document["ratios"]
    assert all(value is not None and value > 0 for value in ratios.values())
    assert document["target"] == 0.95
