"""Serving figures in one run: `trainwell serve` vs a bare FastAPI + ONNX Runtime app vs peers.

    .venv/bin/python benchmarks/bench_serve.py [--duration 10] [--repeats 3] [--json out.json]
        [--skip-mlflow] [--skip-litserve] [--skip-open-loop]
    .venv/bin/python benchmarks/bench_serve.py --quick --skip-mlflow   # seconds; what the test runs

What runs (loopback only; every server binds 127.0.0.1 on a free port this script picks and is
killed in a ``finally``):

* two LightGBM bundles trained here on scikit-learn's breast cancer data (seeds 42 and 1,
  ``checks.enabled=false``: the data checks do not change the served model), each exported to
  ONNX with ``trainwell export`` (the preprocessing inside the graph);
* ``trainwell-full``: ``trainwell serve --ab A:50,B:50 --sticky-key header:X-User-ID
  --request-log F --drift --drift-every 15 --runtime onnx``: validation, Prometheus metrics,
  drift, A/B with a sticky key and the JSONL request log all on (whether drift really was on is
  read back from ``GET /v1/drift``: a bundle without ``reference.json`` serves with drift off);
* ``trainwell-plain``: ``trainwell serve A --no-drift --runtime onnx``, one arm (information);
* ``bare``: a minimal FastAPI app (written below, ``BARE_APP``) on bundle A's same ONNX file:
  orjson-parses the record into the graph's column feeds, one ONNX Runtime session on one thread,
  returns the probabilities; uvicorn with trainwell's settings (uvloop + httptools, access log
  off, one process). The "within 80 %" reference;
* ``mlflow``: ``mlflow models serve --env-manager local -w 1`` on the same ONNX graph logged with
  the ``mlflow.onnx`` flavor (ONNX Runtime on one thread, CPU provider), requests in MLflow's
  tensor format ``{"inputs": {input: [[value]], ...}}`` (its ``dataframe_*`` formats cannot feed
  a graph of ``(n, 1)`` column inputs). MLflow's own uvicorn defaults (access log on) are kept:
  that is what a user of ``mlflow models serve`` gets;
* ``litserve`` (only when LitServe is installed: ``pip install -e '.[bench]' -c constraints.txt``):
  the same ONNX session in a ``LitAPI`` (``LITSERVE_APP``), one API server, one worker.

Method: every server is pinned to the first core this process may use, the load generator to
the second (``os.sched_setaffinity``). ``wrk`` (closed loop, one thread, a Lua script that cycles
through the 569 real rows of scikit-learn's breast cancer data, one record per request, each
with its own ``X-User-ID``) runs at concurrency 1 and 8 for ``--duration`` seconds after a
warm-up, ``--repeats`` rounds interleaved over the servers; the tables show medians. req/s counts
2xx answers only; wrk counts every non-2xx/3xx answer (a 503 past trainwell's in-flight limit is
one). ``cpu us/req`` is the CPU time (user + system, /proc) of the server's whole process group
over the run divided by its requests: on a machine shared with other work it is steadier than
req/s, and says where a gap comes from. An open-loop generator
(asyncio, keep-alive connections, a fixed schedule; latency from each request's scheduled time,
so a server that falls behind is charged for it) then sends at half of trainwell-full's c=8 rate
to trainwell-full and bare, and at 1.5x that rate over 128 connections to trainwell-full (past
its in-flight limit: fast 503s, or a queue that grows?). Then trainwell's VmRSS / VmHWM from
/proc, and the time from process start to ``/readyz`` 200, median of 3 fresh starts each.

Targets (issue 14, trainwell-full): >= 2x mlflow's req/s; >= 80 % of bare's req/s; p99 <= 5 ms
at c=1; at c=8 p99 <= 25 ms or fast 503s; RSS <= 150 MB (10^6 bytes); ready <= 1.5 s.
A shared machine is noisy: read the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import csv
import http.client
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

CONCURRENCIES = (1, 8)
OVERLOAD_CONNECTIONS = 128  # twice trainwell's default --max-in-flight (64)
DRIFT_EVERY_S = 15.0
HOST = "127.0.0.1"
MB = 1_000_000
TARGETS = {
    "mlflow_ratio": 2.0,
    "bare_ratio": 0.8,
    "p99_c1_ms": 5.0,
    "p99_c8_ms": 25.0,
    "rss_mb": 150.0,
    "ready_s": 1.5,
}
WRK_MISSING = (
    "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu; it is in Debian's "
    "packages), or build it from https://github.com/wg/wrk"
)

# ---------------------------------------------------------------------------------------------
# the peers' apps and wrk's script, written into the run's temporary directory

BARE_APP = '''"""Bare FastAPI + ONNX Runtime: one JSON record in, the graph's probabilities out."""
import sys

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

config = orjson.loads(open(sys.argv[1], "rb").read())
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(config["model"], options, providers=["CPUExecutionProvider"])
pairs = list(zip(config["columns"], config["input_names"]))
app = FastAPI()


@app.get("/readyz")
async def readyz() -> Response:
    return Response(b'{"status":"ready"}', media_type="application/json")


@app.post("/v1/predict")
async def predict(request: Request) -> Response:
    record = orjson.loads(await request.body())
    feeds = {name: np.array([[record[column]]], dtype=np.float32) for column, name in pairs}
    probabilities = session.run(None, feeds)[0]
    body = orjson.dumps({"predictions": probabilities.tolist()})
    return Response(body, media_type="application/json")


uvicorn.run(app, host=sys.argv[2], port=int(sys.argv[3]), workers=1, loop="uvloop",
            http="httptools", access_log=False, log_level="warning", timeout_keep_alive=5)
'''

LITSERVE_APP = '''"""LitServe on the same ONNX graph: one API server, one inference worker."""
import sys

import numpy as np
import onnxruntime as ort
import orjson
import litserve as ls

config = orjson.loads(open(sys.argv[1], "rb").read())


class OnnxAPI(ls.LitAPI):
    def setup(self, device):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(config["model"], options,
                                            providers=["CPUExecutionProvider"])
        self.pairs = list(zip(config["columns"], config["input_names"]))

    def decode_request(self, request):
        return {name: np.array([[request[c]]], dtype=np.float32) for c, name in self.pairs}

    def predict(self, feeds):
        return self.session.run(None, feeds)[0]

    def encode_response(self, output):
        return {"predictions": output.tolist()}


if __name__ == "__main__":
    server = ls.LitServer(OnnxAPI(), accelerator="cpu", devices=1, workers_per_device=1)
    server.run(host=sys.argv[2], port=int(sys.argv[3]), num_api_servers=1,
               generate_client_file=False, log_level="warning", access_log=False,
               loop="uvloop", http="httptools")
'''

WRK_SCRIPT = """-- POST one line of the bodies file per request, cycled, each with its own X-User-ID
local prepared = {}
local index = 0

function init(args)
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    prepared[n] = wrk.format("POST", nil, {
      ["Host"] = wrk.headers["Host"],
      ["Content-Type"] = "application/json",
      ["X-User-ID"] = "user-" .. n,
    }, line)
  end
end

function request()
  index = index % #prepared + 1
  return prepared[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


# ---------------------------------------------------------------------------------------------
# bundles and request bodies


def train(out: Path, seed: int) -> Path:
    """A LightGBM bundle on breast cancer, trained in this process, exported to ONNX."""
    from typer.testing import CliRunner

    from trainwell.cli import app
    from trainwell.inference.export import export_bundle

    args = [
        "train",
        "data.path=sklearn:breast_cancer",
        "model.architecture=lightgbm",
        "tracking.enabled=false",
        "checks.enabled=false",
        f"training.seed={seed}",
        f"output.dir={out}",
    ]
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        raise SystemExit(f"train (seed {seed}) failed:\n{result.output}")
    (bundle,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    export_bundle(bundle, "onnx", threads=1)
    return bundle


@dataclass(frozen=True)
class Graph:
    """Bundle A's ONNX export: the file, the record's column names and the graph's inputs."""

    model: Path
    columns: list[str]
    input_names: list[str]

    @classmethod
    def of(cls, bundle: Path) -> Graph:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        record = manifest["exports"]["onnx"]
        meta = json.loads((bundle / "export" / "onnx.json").read_text(encoding="utf-8"))
        if meta.get("input_kind") != "columns":
            raise SystemExit(f"{bundle}: the ONNX graph does not take column feeds")
        return cls(bundle / record["file"], list(meta["columns"]), list(meta["input_names"]))


def sample_records(bundle: Path, columns: Sequence[str]) -> list[dict[str, float | None]]:
    """Real rows as JSON records: all 569 of scikit-learn's breast cancer data (what the drift
    monitor sees is then the training distribution), else the bundle's samples.csv."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    if set(columns) <= set(frame.columns):
        return [{c: float(row[c]) for c in columns} for row in frame.to_dict("records")]
    records = []
    with (bundle / "samples.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            records.append(
                {c: float(row[c]) if row.get(c) not in {"", None} else None for c in columns}
            )
    if not records:
        raise SystemExit(f"{bundle}: samples.csv holds no rows")
    return records


def write_lines(path: Path, payloads: Sequence[Any]) -> Path:
    path.write_text(
        "".join(json.dumps(p, separators=(",", ":")) + "\n" for p in payloads), encoding="utf-8"
    )
    return path


def save_mlflow_model(graph: Graph, out: Path) -> Path:
    """The same ONNX graph as an MLflow model (``mlflow.onnx``, one thread, CPU provider)."""
    import mlflow.onnx
    import numpy as np
    import onnx
    from mlflow.models import infer_signature

    example = {name: np.zeros((1, 1), dtype=np.float32) for name in graph.input_names}
    signature = infer_signature(example, np.zeros((1, 2), dtype=np.float32))
    mlflow.onnx.save_model(
        onnx.load(str(graph.model)),
        str(out),
        signature=signature,
        onnx_execution_providers=["CPUExecutionProvider"],
        onnx_session_options={"intra_op_num_threads": 1, "inter_op_num_threads": 1},
        save_as_external_data=False,
    )
    return out


# ---------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(core: int | None) -> Callable[[], None] | None:
    if core is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {core})

    return pin


@dataclass
class Server:
    """A server process this script started (its own session: the group is killed)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    predict_path: str
    ready_path: str
    log: Path
    started: float
    ready_s: float = float("nan")
    body_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.predict_path}"


def start(
    name: str,
    argv: Callable[[int], list[str]],
    *,
    predict_path: str,
    ready_path: str,
    logs: Path,
    env: dict[str, str],
    core: int | None,
    ready_timeout: float = 60.0,
) -> Server:
    """Start a server on a free port and wait for its readiness route (200)."""
    port = free_port()
    log = logs / f"{name}-{port}.log"
    handle: IO[bytes] = log.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv(port),
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=pinned(core),  # noqa: PLW1509 (the affinity, set before any thread starts)
    )
    handle.close()
    server = Server(name, proc, port, predict_path, ready_path, log, started)
    try:
        server.ready_s = wait_ready(server, ready_timeout)
    except BaseException:
        stop(server)
        raise
    return server


def wait_ready(server: Server, timeout: float) -> float:
    """Seconds from the process start to the first 200 of its readiness route."""
    deadline = server.started + timeout
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            tail = server.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise SystemExit(f"{server.name} exited ({server.proc.returncode}):\n{tail}")
        try:
            status, _ = http_call(server.port, "GET", server.ready_path, timeout=0.5)
        except OSError:
            status = 0
        if status == 200:
            return time.perf_counter() - server.started
        time.sleep(0.005)
    tail = server.log.read_text(encoding="utf-8", errors="replace")[-3000:]
    raise SystemExit(f"{server.name} was not ready within {timeout:.0f}s:\n{tail}")


def stop(server: Server) -> None:
    """SIGTERM to the server's process group, SIGKILL after 10 s."""
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(10)
    with contextlib.suppress(ProcessLookupError):  # the group's children (mlflow's uvicorn)
        os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group (a server and its
    children: mlflow's uvicorn, LitServe's workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="utf-8")
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # from field 3 (state) on
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (10^6 bytes)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            out[key.lower() + "_mb"] = int(value.split()[0]) * 1024 / MB
    return out


# ---------------------------------------------------------------------------------------------
# load


def run_wrk(
    wrk: str, lua: Path, server: Server, connections: int, duration: int, core: int | None
) -> dict[str, Any]:
    """One closed-loop wrk run; req/s counts 2xx/3xx answers only."""
    assert server.body_file is not None
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        server.url,
        "--",
        str(server.body_file),
    ]
    cpu_before = group_cpu_s(server.proc.pid)
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
        preexec_fn=pinned(core),
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(
            f"wrk on {server.name} failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    cpu = group_cpu_s(server.proc.pid) - cpu_before
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "rps": (raw["requests"] - raw["non2xx"]) / seconds,
        "rps_all": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1e3,
        "p90_ms": raw["p90_us"] / 1e3,
        "p99_ms": raw["p99_us"] / 1e3,
        "max_ms": raw["max_us"] / 1e3,
        "mean_ms": raw["mean_us"] / 1e3,
        "requests": raw["requests"],
        "non2xx": raw["non2xx"],
        "socket_errors": socket_errors,
        "cpu_us_per_req": 1e6 * cpu / max(1, raw["requests"]),
        "server_cpu_share": cpu / seconds,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in [0, 100]); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the open-loop generator (no pipelining)."""

    def __init__(self, generator: OpenLoop) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.scheduled = 0.0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            match = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            del self.buffer[:total]
            self.generator.answered(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.generator.lost(self)
        if not self.closed.done():
            self.closed.set_result(None)


class OpenLoop:
    """Requests on a fixed schedule (``rate`` per second) over ``connections`` keep-alive
    connections; a request waits for a free connection when all are busy, and its latency runs
    from its scheduled time (no coordinated omission)."""

    def __init__(self, port: int, requests: Sequence[bytes], connections: int) -> None:
        self.port = port
        self.requests = requests
        self.connections = connections
        self.free: collections.deque[_Connection] = collections.deque()
        self.waiting: collections.deque[float] = collections.deque()
        self.results: list[tuple[float, float, int]] = []  # (scheduled, latency, status)
        self.lag: list[float] = []
        self.sent = 0
        self.broken = 0
        self.loop: asyncio.AbstractEventLoop | None = None

    def _send(self, conn: _Connection, scheduled: float) -> None:
        assert conn.transport is not None
        conn.scheduled = scheduled
        conn.transport.write(self.requests[self.sent % len(self.requests)])
        self.sent += 1

    def dispatch(self, scheduled: float) -> None:
        if self.free:
            self._send(self.free.popleft(), scheduled)
        else:
            self.waiting.append(scheduled)

    def answered(self, conn: _Connection, status: int) -> None:
        assert self.loop is not None
        now = self.loop.time()
        self.results.append((conn.scheduled, now - conn.scheduled, status))
        if self.waiting:
            self._send(conn, self.waiting.popleft())
        else:
            self.free.append(conn)

    def lost(self, conn: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self.free.remove(conn)
        self.broken += 1

    async def run(self, rate: float, duration: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.loop = loop
        conns = []
        for _ in range(self.connections):
            _, conn = await loop.create_connection(lambda: _Connection(self), HOST, self.port)
            conns.append(conn)
            self.free.append(conn)
        total = max(1, int(rate * duration))
        begin = loop.time() + 0.05
        for i in range(total):
            scheduled = begin + i / rate
            delay = scheduled - loop.time()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            self.lag.append(max(0.0, loop.time() - scheduled))
            self.dispatch(scheduled)
        deadline = loop.time() + max(30.0, duration)
        while len(self.results) + self.broken < total and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in conns:
            if conn.transport is not None:
                conn.transport.close()
        return self.summary(begin, rate, duration, total)

    def summary(self, begin: float, rate: float, duration: float, total: int) -> dict[str, Any]:
        ok = [lat for _, lat, status in self.results if 200 <= status < 300]
        refused = [lat for _, lat, status in self.results if status == 503]
        quarter = duration / 4
        first = [lat for at, lat, _ in self.results if at - begin < quarter]
        last = [lat for at, lat, _ in self.results if at - begin >= duration - quarter]
        return {
            "rate": rate,
            "connections": self.connections,
            "scheduled": total,
            "answered": len(self.results),
            "unanswered": total - len(self.results),
            "ok": len(ok),
            "status_503": len(refused),
            "other_status": len(self.results) - len(ok) - len(refused),
            "p50_ms": 1e3 * percentile(ok, 50),
            "p99_ms": 1e3 * percentile(ok, 99),
            "max_ms": 1e3 * max(ok, default=float("nan")),
            "p99_503_ms": 1e3 * percentile(refused, 99),
            "p50_first_quarter_ms": 1e3 * percentile(first, 50),
            "p50_last_quarter_ms": 1e3 * percentile(last, 50),
            "generator_lag_p99_ms": 1e3 * percentile(self.lag, 99),
        }


def open_loop(
    port: int, path: str, bodies: Sequence[bytes], rate: float, duration: float, connections: int
) -> dict[str, Any]:
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"X-User-ID: user-{i}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for i, body in enumerate(bodies, 1)
    ]
    generator = OpenLoop(port, requests, connections)
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(generator.run(rate, duration))


# ---------------------------------------------------------------------------------------------
# the run


@dataclass
class Setup:
    args: argparse.Namespace
    wrk: str
    server_core: int | None
    load_core: int | None
    root: Path
    env: dict[str, str]
    bundles: tuple[Path, Path]
    graph: Graph
    records_file: Path
    mlflow_file: Path
    request_log: Path


def trainwell_argv(setup: Setup, full: bool) -> Callable[[int], list[str]]:
    exe = Path(sys.executable).with_name("trainwell")
    base = (
        [str(exe)]
        if exe.is_file()
        else [sys.executable, "-c", "from trainwell.cli import main; main()"]
    )
    a, b = setup.bundles

    def argv(port: int) -> list[str]:
        common = ["--host", HOST, "--port", str(port), "--runtime", "onnx"]
        if full:
            return [
                *base,
                "serve",
                *common,
                "--ab",
                f"{a}:50,{b}:50",
                "--sticky-key",
                "header:X-User-ID",
                "--request-log",
                str(setup.request_log),
                "--drift",
                "--drift-every",
                str(DRIFT_EVERY_S),
            ]
        return [*base, "serve", str(a), *common, "--no-drift"]

    return argv


def start_all(setup: Setup, servers: dict[str, Server], notes: list[str]) -> None:
    args = setup.args
    logs = setup.root / "logs"
    kw: dict[str, Any] = {"logs": logs, "env": setup.env, "core": setup.server_core}
    config = setup.root / "graph.json"
    config.write_text(
        json.dumps(
            {
                "model": str(setup.graph.model),
                "columns": setup.graph.columns,
                "input_names": setup.graph.input_names,
            }
        )
    )
    for name, full in (("trainwell-full", True), ("trainwell-plain", False)):
        print(f"starting {name}", flush=True)
        servers[name] = start(
            name,
            trainwell_argv(setup, full),
            predict_path="/v1/predict",
            ready_path="/readyz",
            **kw,
        )
        servers[name].body_file = setup.records_file
    bare = setup.root / "bare_app.py"
    bare.write_text(BARE_APP, encoding="utf-8")
    print("starting bare", flush=True)
    servers["bare"] = start(
        "bare",
        lambda p: [sys.executable, str(bare), str(config), HOST, str(p)],
        predict_path="/v1/predict",
        ready_path="/readyz",
        **kw,
    )
    servers["bare"].body_file = setup.records_file
    if args.skip_mlflow:
        notes.append("mlflow: skipped (--skip-mlflow)")
    else:
        print("saving the MLflow model and starting `mlflow models serve` (slow)", flush=True)
        model = save_mlflow_model(setup.graph, setup.root / "mlflow-model")
        mlflow = str(Path(sys.executable).with_name("mlflow"))
        servers["mlflow"] = start(
            "mlflow",
            lambda p: [
                mlflow,
                "models",
                "serve",
                "-m",
                str(model),
                "--env-manager",
                "local",
                "-h",
                HOST,
                "-p",
                str(p),
                "-w",
                "1",
            ],
            predict_path="/invocations",
            ready_path="/ping",
            ready_timeout=240.0,
            **kw,
        )
        servers["mlflow"].body_file = setup.mlflow_file
    if args.skip_litserve:
        notes.append("litserve: skipped (--skip-litserve)")
    elif importlib.util.find_spec("litserve") is None:
        notes.append("litserve: not installed (pip install -e '.[bench]' -c constraints.txt)")
    else:
        app = setup.root / "litserve_app.py"
        app.write_text(LITSERVE_APP, encoding="utf-8")
        print("starting litserve", flush=True)
        servers["litserve"] = start(
            "litserve",
            lambda p: [sys.executable, str(app), str(config), HOST, str(p)],
            predict_path="/predict",
            ready_path="/health",
            ready_timeout=120.0,
            **kw,
        )
        servers["litserve"].body_file = setup.records_file


def probabilities(name: str, payload: Any) -> list[float]:
    """The first record's class probabilities, from any server's answer."""
    if name.startswith("trainwell"):
        row = payload["predictions"][0]
        return [float(v) for k, v in row.items() if k.startswith("proba_")]
    if name == "mlflow":
        return [float(v) for v in payload["predictions"]["probabilities"][0]]
    return [float(v) for v in payload["predictions"][0]]


def check_answers(servers: dict[str, Server]) -> dict[str, Any]:
    """Every server answers the first sample record; those serving bundle A's graph agree."""
    answers: dict[str, list[float]] = {}
    for name, server in servers.items():
        assert server.body_file is not None
        body = server.body_file.read_text(encoding="utf-8").splitlines()[0].encode()
        headers = {"Content-Type": "application/json", "X-User-ID": "user-1"}
        status, raw = http_call(server.port, "POST", server.predict_path, body, headers)
        if status != 200:
            raise SystemExit(f"{name} answered {status}: {raw[:500]!r}")
        answers[name] = probabilities(name, json.loads(raw))
    same = [n for n in answers if n != "trainwell-full"]  # full's arm B is another model
    reference = answers["trainwell-plain"]
    agree = all(
        len(answers[n]) == len(reference)
        and all(abs(x - y) <= 1e-5 for x, y in zip(answers[n], reference, strict=True))
        for n in same
    )
    return {"probabilities": answers, "same_graph_agree": agree}


def drift_state(server: Server) -> dict[str, Any]:
    _, raw = http_call(server.port, "GET", "/v1/drift")
    report = json.loads(raw)
    if not report.get("enabled"):
        return {"enabled": False, "reason": report.get("reason")}
    arms = report.get("arms", {})
    return {
        "enabled": True,
        "arms": {
            arm: {"status": r.get("status"), "window": r.get("window")} for arm, r in arms.items()
        },
    }


def overloaded_count(server: Server) -> int | None:
    _, raw = http_call(server.port, "GET", "/metrics")
    match = re.search(rb'trainwell_rejected_requests_total\{reason="overloaded"\} ([0-9.e+]+)', raw)
    return int(float(match.group(1))) if match else 0


def measure_closed_loop(
    setup: Setup, servers: dict[str, Server]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    args = setup.args
    lua = setup.root / "post.lua"
    lua.write_text(WRK_SCRIPT, encoding="utf-8")
    for name, server in servers.items():
        print(f"warm-up {name}", flush=True)
        run_wrk(setup.wrk, lua, server, max(CONCURRENCIES), args.warmup, setup.load_core)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {str(c): [] for c in CONCURRENCIES} for name in servers
    }
    for repeat in range(args.repeats):
        for c in CONCURRENCIES:
            for name, server in servers.items():
                result = run_wrk(setup.wrk, lua, server, c, args.duration, setup.load_core)
                runs[name][str(c)].append(result)
                print(
                    f"  round {repeat + 1}/{args.repeats} c={c} {name:<16} "
                    f"{result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:6.2f} ms  non-2xx {result['non2xx']}",
                    flush=True,
                )
    return runs


def medians(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, by_c in runs.items():
        out[name] = {}
        for c, results in by_c.items():
            out[name][c] = {
                key: statistics.median(r[key] for r in results)
                for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_req")
            }
            out[name][c]["non2xx"] = sum(r["non2xx"] for r in results)
            out[name][c]["socket_errors"] = sum(r["socket_errors"] for r in results)
    return out


def measure_open_loop(
    setup: Setup, servers: dict[str, Server], capacity: float
) -> list[dict[str, Any]]:
    bodies = [line.encode() for line in setup.records_file.read_text().splitlines()]
    duration = float(setup.args.duration)
    plan = [
        ("trainwell-full", 0.5, 16),
        ("bare", 0.5, 16),
        ("trainwell-full", 1.5, OVERLOAD_CONNECTIONS),
    ]
    out = []
    for name, share, connections in plan:
        rate = max(10.0, share * capacity)
        server = servers[name]
        print(f"open loop: {name} at {rate:.0f} req/s over {connections} connections", flush=True)
        result = open_loop(server.port, server.predict_path, bodies, rate, duration, connections)
        result.update({"server": name, "share_of_capacity": share})
        out.append(result)
    return out


def measure_ready(setup: Setup, starts: int) -> dict[str, Any]:
    """Process start to /readyz 200 (fresh starts, nothing else serving) and the idle RSS."""
    out: dict[str, Any] = {}
    logs = setup.root / "logs"
    for name, full in (("trainwell-full", True), ("trainwell-plain", False)):
        seconds: list[float] = []
        idle: list[float] = []
        for _ in range(starts):
            server = start(
                name,
                trainwell_argv(setup, full),
                predict_path="/v1/predict",
                ready_path="/readyz",
                logs=logs,
                env=setup.env,
                core=setup.server_core,
            )
            try:
                seconds.append(server.ready_s)
                idle.append(memory_mb(server.proc.pid)["vmrss_mb"])
            finally:
                stop(server)
        out[name] = {
            "ready_s": statistics.median(seconds),
            "starts": seconds,
            "idle_rss_mb": statistics.median(idle),
        }
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    med = report["medians"]
    full = med["trainwell-full"]
    rows: list[dict[str, Any]] = []

    def add(name: str, passed: bool | None, detail: str) -> None:
        rows.append({"target": name, "passed": passed, "detail": detail})

    for c in CONCURRENCIES:
        r = report["ratios"][f"trainwell/mlflow c={c}"]
        add(
            f">= {TARGETS['mlflow_ratio']:g}x mlflow req/s (c={c})",
            None if r is None else r >= TARGETS["mlflow_ratio"],
            "mlflow not run"
            if r is None
            else f"{r:.2f}x ({full[str(c)]['rps']:.0f} vs {med['mlflow'][str(c)]['rps']:.0f})",
        )
    for c in CONCURRENCIES:
        r = report["ratios"][f"trainwell/bare c={c}"]
        add(
            f">= {TARGETS['bare_ratio']:.0%} of bare req/s (c={c})",
            r is not None and r >= TARGETS["bare_ratio"],
            f"{r:.0%} ({full[str(c)]['rps']:.0f} vs {med['bare'][str(c)]['rps']:.0f} req/s)",
        )
    p99 = full["1"]["p99_ms"]
    add(f"p99 <= {TARGETS['p99_c1_ms']:g} ms at c=1", p99 <= TARGETS["p99_c1_ms"], f"{p99:.2f} ms")
    p99 = full["8"]["p99_ms"]
    refused = full["8"]["non2xx"]
    ok = p99 <= TARGETS["p99_c8_ms"]
    detail = f"{p99:.2f} ms, {refused} non-2xx (503) answers"
    if not ok and refused:
        detail += ": 503s were returned, but not fast enough to hold p99"
    add(f"c=8: p99 <= {TARGETS['p99_c8_ms']:g} ms or fast 503s", ok, detail)
    memory = report["memory"]["trainwell-full"]
    add(
        f"RSS <= {TARGETS['rss_mb']:g} MB",
        memory["vmrss_mb"] <= TARGETS["rss_mb"],
        f"VmRSS {memory['vmrss_mb']:.1f} MB after the load (VmHWM {memory['vmhwm_mb']:.1f} MB);"
        f" one arm, no drift: {report['memory']['trainwell-plain']['vmrss_mb']:.1f} MB",
    )
    ready = report["ready"]
    add(
        f"ready <= {TARGETS['ready_s']:g} s",
        ready["trainwell-full"]["ready_s"] <= TARGETS["ready_s"],
        f"{ready['trainwell-full']['ready_s']:.2f} s median of "
        f"{len(ready['trainwell-full']['starts'])} starts; one arm: "
        f"{ready['trainwell-plain']['ready_s']:.2f} s",
    )
    return rows


def print_report(report: dict[str, Any]) -> None:
    print()
    print(
        f"{'server':<17}{'c':>3}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'non-2xx':>9}{'cpu us/req':>12}{'ready s':>9}"
    )
    for name, by_c in report["medians"].items():
        for c, m in by_c.items():
            ready = report["servers"][name]["ready_s"] if c == "1" else None
            print(
                f"{name:<17}{c:>3}{m['rps']:>9.0f}{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}"
                f"{m['max_ms']:>9.1f}{m['non2xx']:>9}{m['cpu_us_per_req']:>12.0f}"
                f"{'' if ready is None else f'{ready:.2f}':>9}"
            )
    print(
        f"(medians of {report['config']['repeats']} runs of {report['config']['duration_s']} s;"
        " req/s counts 2xx answers; cpu us/req: the server's process group, user + system;"
        " ready s: this run's first start)"
    )
    print()
    for key, value in report["ratios"].items():
        print(f"{key}: {'n/a' if value is None else f'{value:.2f}'}")
    if report["open_loop"]:
        print()
        print(
            f"{'open loop':<17}{'req/s':>7}{'conns':>7}{'ok':>8}{'503':>6}{'lost':>6}"
            f"{'p50 ms':>9}{'p99 ms':>9}{'503 p99':>9}{'p50 1st/4':>11}{'p50 4th/4':>11}"
            f"{'gen lag p99':>13}"
        )
        for r in report["open_loop"]:
            print(
                f"{r['server']:<17}{r['rate']:>7.0f}{r['connections']:>7}{r['ok']:>8}"
                f"{r['status_503']:>6}{r['unanswered']:>6}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                f"{r['p99_503_ms']:>9.2f}{r['p50_first_quarter_ms']:>11.2f}"
                f"{r['p50_last_quarter_ms']:>11.2f}{r['generator_lag_p99_ms']:>13.2f}"
            )
    print()
    for name, m in report["memory"].items():
        print(f"memory {name}: VmRSS {m['vmrss_mb']:.1f} MB, VmHWM {m['vmhwm_mb']:.1f} MB")
    for name, r in report["ready"].items():
        starts = ", ".join(f"{s:.2f}" for s in r["starts"])
        print(
            f"ready {name}: {r['ready_s']:.2f} s (starts: {starts}); idle VmRSS "
            f"{r['idle_rss_mb']:.1f} MB"
        )
    drift = report["config"]["drift"]
    print(
        f"drift (trainwell-full): {'ON' if drift['before']['enabled'] else 'OFF'}"
        + ("" if drift["before"]["enabled"] else f" ({drift['before'].get('reason')})")
        + f"; after the load: {drift['after']}"
    )
    print(f"mlflow flavor: {report['config']['mlflow_flavor']}")
    print(f"answers agree (same ONNX graph): {report['answers']['same_graph_agree']}")
    for note in report["notes"]:
        print(f"note: {note}")
    print()
    for row in report["targets"]:
        verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[row["passed"]]
        print(f"{verdict}  {row['target']}: {row['detail']}")


def versions(wrk: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("trainwell", "fastapi", "uvicorn", "onnxruntime", "mlflow", "litserve"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[package] = importlib.metadata.version(package)
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    out["wrk"] = (done.stdout or done.stderr).splitlines()[0].strip()
    return out


def cores() -> tuple[int | None, int | None, str | None]:
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None, None, "one core only: server and load generator share it (not pinned)"
    return allowed[0], allowed[1], None


@contextlib.contextmanager
def running(servers: dict[str, Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers.values():
            stop(server)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the servers")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    parser.add_argument("--ready-starts", type=int, default=3, help="starts timed to /readyz")
    parser.add_argument("--quick", action="store_true", help="1 s runs, 1 repeat (smoke test)")
    parser.add_argument("--skip-mlflow", action="store_true", help="no `mlflow models serve`")
    parser.add_argument("--skip-litserve", action="store_true", help="no LitServe")
    parser.add_argument("--skip-open-loop", action="store_true", help="no open-loop runs")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.repeats, args.warmup, args.ready_starts = 1, 1, 1, 1
    if min(args.duration, args.repeats, args.warmup, args.ready_starts) < 1:
        parser.error("--duration, --repeats, --warmup and --ready-starts must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    server_core, load_core, core_note = cores()
    notes = [core_note] if core_note else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINWELL_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        root = Path(tmp)
        (root / "logs").mkdir()
        print("training and exporting two LightGBM bundles", flush=True)
        bundles = (train(root / "a", 42), train(root / "b", 1))
        graph = Graph.of(bundles[0])
        records = sample_records(bundles[0], graph.columns)
        mlflow_bodies = [
            {
                "inputs": {
                    name: [[r[c]]] for c, name in zip(graph.columns, graph.input_names, strict=True)
                }
            }
            for r in records
        ]
        setup = Setup(
            args,
            wrk,
            server_core,
            load_core,
            root,
            env,
            bundles,
            graph,
            write_lines(root / "records.jsonl", records),
            write_lines(root / "mlflow.jsonl", mlflow_bodies),
            root / "requests.jsonl",
        )
        if load_core is not None:  # this process is the open-loop generator
            os.sched_setaffinity(0, {load_core})
        servers: dict[str, Server] = {}
        with running(servers):
            start_all(setup, servers, notes)
            answers = check_answers(servers)
            drift_before = drift_state(servers["trainwell-full"])
            runs = measure_closed_loop(setup, servers)
            med = medians(runs)
            capacity = med["trainwell-full"][str(max(CONCURRENCIES))]["rps"]
            loops = [] if args.skip_open_loop else measure_open_loop(setup, servers, capacity)
            if args.skip_open_loop:
                notes.append("open loop: skipped (--skip-open-loop)")
            memory = {
                n: memory_mb(servers[n].proc.pid)
                for n in ("trainwell-full", "trainwell-plain", "bare")
            }
            drift_after = drift_state(servers["trainwell-full"])
            overloaded = {
                n: overloaded_count(servers[n]) for n in ("trainwell-full", "trainwell-plain")
            }
            server_info = {n: {"port": s.port, "ready_s": s.ready_s} for n, s in servers.items()}
        log_lines = sum(
            len(p.read_text(encoding="utf-8").splitlines()) for p in root.glob("requests.jsonl*")
        )
        print("timing fresh starts to /readyz", flush=True)
        ready = measure_ready(setup, args.ready_starts)
    rps = {name: {c: m[c]["rps"] for c in m} for name, m in med.items()}
    ratios: dict[str, float | None] = {}
    for c in map(str, CONCURRENCIES):
        ratios[f"trainwell/mlflow c={c}"] = ratio(
            rps["trainwell-full"][c], rps.get("mlflow", {}).get(c)
        )
        ratios[f"trainwell/bare c={c}"] = ratio(rps["trainwell-full"][c], rps["bare"][c])
        ratios[f"trainwell-plain/bare c={c}"] = ratio(rps["trainwell-plain"][c], rps["bare"][c])
        ratios[f"cpu per request trainwell/bare c={c}"] = ratio(
            med["trainwell-full"][c]["cpu_us_per_req"], med["bare"][c]["cpu_us_per_req"]
        )
        if "litserve" in rps:
            ratios[f"trainwell/litserve c={c}"] = ratio(
                rps["trainwell-full"][c], rps["litserve"][c]
            )
    report: dict[str, Any] = {
        "config": {
            "duration_s": args.duration,
            "repeats": args.repeats,
            "warmup_s": args.warmup,
            "quick": args.quick,
            "workdir": str(root),
            "concurrencies": list(CONCURRENCIES),
            "server_core": server_core,
            "load_core": load_core,
            "model": "lightgbm on sklearn:breast_cancer (30 numeric columns), ONNX runtime",
            "records": len(records),
            "trainwell_full": "--ab A:50,B:50 --sticky-key header:X-User-ID --request-log F "
            f"--drift --drift-every {DRIFT_EVERY_S:g} --runtime onnx",
            "trainwell_plain": "one arm, --no-drift, --runtime onnx",
            "mlflow_flavor": "mlflow.onnx (the same ONNX graph; ONNX Runtime on 1 thread, CPU "
            'provider; tensor input {"inputs": {...}}; mlflow models serve --env-manager local '
            "-w 1)",
            "drift": {"before": drift_before, "after": drift_after},
            "request_log_lines": log_lines,
        },
        "versions": versions(wrk),
        "servers": server_info,
        "answers": answers,
        "runs": runs,
        "medians": med,
        "ratios": ratios,
        "open_loop": loops,
        "memory": memory,
        "ready": ready,
        "overloaded_503": overloaded,
        "notes": notes,
    }
    report["targets"] = targets(report)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
