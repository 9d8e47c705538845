"""`trainwell bench`: the table and the JSON on a default bundle, the settle rule, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.cli_helpers import EXIT_BAD_INPUT, invoke
from tests.inference.test_export import train

from trainwell.errors import ConfigError
from trainwell.inference import bench


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = train(tmp_path_factory.mktemp("bench"), "sklearn-hgb", "tabular-classification")
    assert invoke("export", str(bundle))[0] == 0
    return bundle


def test_bench_prints_and_writes_the_table(exported: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "bench.json"
    code, out = invoke("bench", str(exported), "--batch-sizes", "1,7", "--window", "0.05",
                       "--output", str(out_file))  # fmt: skip
    assert code == 0, out
    assert "speed-up" in out and "onnx" in out and "peak RSS MB" in out
    report = json.loads(out_file.read_text())
    rows = {(r["runtime"], r["batch_size"]): r for r in report["rows"]}
    assert set(rows) == {("native", 1), ("native", 7), ("onnx", 1), ("onnx", 7)}
    for row in rows.values():
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
        assert row["throughput"] > 0 and 1 <= row["windows"] <= bench.MAX_WINDOWS
    assert rows[("native", 1)]["speedup"] == 1.0
    onnx = rows[("onnx", 1)]
    assert onnx["speedup"] == pytest.approx(rows[("native", 1)]["p50_ms"] / onnx["p50_ms"])
    facts = {f["runtime"]: f for f in report["runtimes"]}
    assert facts["onnx"]["file_size_bytes"] > 0
    assert facts["native"]["peak_rss_mb"] > 10 and facts["onnx"]["cold_start_s"] > 0
    assert report["threads"] == 1


def test_timing_settles_on_a_steady_call() -> None:
    latencies, windows, settled = bench.time_call(lambda: sum(range(2000)), 0.02)
    assert settled and windows >= bench.SETTLE_WINDOWS
    assert len(latencies) > windows


def test_batch_sizes_parse_and_refuse() -> None:
    assert bench.parse_batch_sizes("1, 8,8,64") == (1, 8, 64)
    with pytest.raises(ConfigError, match="at least 1, got 0"):
        bench.parse_batch_sizes("1,0")
    with pytest.raises(ConfigError, match="'x' is not an integer"):
        bench.parse_batch_sizes("x")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--batch-sizes", "0"), "every batch size must be at least 1, got 0"),
        (("--batch-sizes", "-4"), "every batch size must be at least 1, got -4"),
        (("--runtime", "torchscript"), "has no torchscript export to bench"),
        (("--runtime", "tensorrt"), "unknown runtime 'tensorrt'"),
    ],
)
def test_bad_bench_requests_exit_2(exported: Path, args: tuple[str, ...], message: str) -> None:
    code, out = invoke("bench", str(exported), *args)
    assert code == EXIT_BAD_INPUT
    assert message in out


def test_bench_of_a_tampered_bundle_exits_2(exported: Path, tmp_path: Path) -> None:
    copy = tmp_path / exported.name
    shutil.copytree(exported, copy)
    (copy / "export" / "model.onnx").write_bytes(b"not onnx")
    code, out = invoke("bench", str(copy))
    assert code == EXIT_BAD_INPUT
    assert "was altered" in out
