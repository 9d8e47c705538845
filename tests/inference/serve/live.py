"""What the serve tests share: bundles trained once, and a real server on 127.0.0.1.

A :class:`LiveServer` runs uvicorn in a thread of the test process on a port the test picks, so
tests speak real HTTP to it and can look at its state; the SIGTERM tests start `trainwell serve`
as a subprocess instead.
"""

from __future__ import annotations

import csv
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import uvicorn
from tests.cli_helpers import invoke, only_bundle

from trainwell.inference.serve.app import create_app
from trainwell.inference.serve.metrics import ServeMetrics
from trainwell.inference.serve.server import count_pending
from trainwell.inference.serve.settings import ServeConfig
from trainwell.inference.serve.state import ServeState

START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A port nothing listens on now (bound to 127.0.0.1, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wine_csv(directory: Path) -> Path:
    """scikit-learn's wine data with a string category (``band``) and a few missing values."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["band"] = pd.cut(frame["alcohol"], 3, labels=["low", "mid", "high"]).astype(str)
    frame = frame.drop(columns="alcohol")
    frame.loc[frame.index[::17], "magnesium"] = None
    path = directory / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def train_bundle(out: Path, *args: str, export: bool = True) -> Path:
    """Train (and export to ONNX) one small bundle under ``out``."""
    code, output = invoke("train", "tracking.enabled=false", f"output.dir={out}", *args)
    assert code == 0, output
    bundle = only_bundle(out)
    if export:
        code, output = invoke("export", str(bundle), "--format", "onnx")
        assert code == 0, output
    return bundle


def sample_records(bundle: Path, n: int | None = None) -> list[dict[str, Any]]:
    """The bundle's held-out rows as JSON records (numbers as floats, empty as null)."""
    import json

    schema = json.loads((bundle / "schema.json").read_text())
    kinds = {c["name"]: c["kind"] for c in schema["columns"]}
    out: list[dict[str, Any]] = []
    with (bundle / "samples.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            record: dict[str, Any] = {}
            for name, kind in kinds.items():
                text = row[name]
                record[name] = None if text == "" else float(text) if kind == "numeric" else text
            out.append(record)
    return out[:n] if n is not None else out


class LiveServer:
    """uvicorn serving an app on 127.0.0.1:<port> in a background thread."""

    def __init__(self, config: ServeConfig, **app_options: Any) -> None:
        self.state = ServeState(config, ServeMetrics())
        self.state.load_all()
        self.app = create_app(self.state, **app_options)
        self.url = f"http://127.0.0.1:{config.port}"
        uv = uvicorn.Config(
            self.app, host="127.0.0.1", port=config.port, log_level="warning",
            lifespan="on", access_log=False,
        )  # fmt: skip
        self.server = uvicorn.Server(uv)
        count_pending(self.app, self.server)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(START_TIMEOUT_S)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)


@contextmanager
def live(config: ServeConfig, **app_options: Any) -> Iterator[LiveServer]:
    """A started :class:`LiveServer`, stopped on exit."""
    server = LiveServer(config, **app_options).start()
    try:
        yield server
    finally:
        server.stop()
