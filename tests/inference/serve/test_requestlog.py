"""The request log: lines written off the request path, in order, rotated by size."""

from __future__ import annotations

import json
from pathlib import Path

from trainwell.inference.abreport import log_files
from trainwell.inference.serve.requestlog import RequestLog

LINES = 2_000


def test_lines_are_written_in_order_and_rotated_by_size(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "requests.jsonl"
    log = RequestLog(path, max_bytes=20_000, backups=100)
    for i in range(LINES):
        log.write("prediction", request_id=f"r{i}", predictions=[i])
    log.close()
    log.close()  # idempotent
    files = log_files(path)  # oldest first, as `ab report` reads them
    assert len(files) > 3 and files[-1] == path
    assert all(f.stat().st_size <= 20_000 for f in files)
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert [x["request_id"] for x in lines] == [f"r{i}" for i in range(LINES)]
    assert lines[0]["event"] == "prediction" and lines[0]["ts"] > 0


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    log = RequestLog(path, max_bytes=2_000, backups=2)
    for i in range(LINES):
        log.write("feedback", request_id=f"r{i}", outcomes=[1])
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "requests.jsonl", "requests.jsonl.1", "requests.jsonl.2",
    ]  # fmt: skip
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["request_id"] == f"r{LINES - 1}"


def test_an_existing_log_is_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    for run in range(2):
        log = RequestLog(path, max_bytes=1_000_000, backups=1)
        log.write("prediction", request_id=f"run{run}")
        log.close()
    assert [json.loads(x)["request_id"] for x in path.read_text().splitlines()] == ["run0", "run1"]
