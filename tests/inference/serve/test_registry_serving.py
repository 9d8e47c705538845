"""Serving a registered model: promote and rollback swap the served version under load without a
failed request; a corrupt version is refused and the old one keeps serving; admin needs a token."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from tests.inference.serve.live import free_port, live, sample_records

from trainwell.inference import registry
from trainwell.inference.serve.settings import ServeConfig

CYCLES = 10
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store(wine_bundle: Path, wine_challenger: Path, tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert registry.register(wine_bundle, "wine", uri).version == 1
    assert registry.register(wine_challenger, "wine", uri).version == 2
    registry.promote("wine", 1, "champion", uri)
    return uri


def config(uri: str) -> ServeConfig:
    return ServeConfig(registry="wine", tracking_uri=uri, admin_token=TOKEN, port=free_port())


@pytest.mark.slow
def test_promote_and_rollback_cycles_under_load_fail_no_request(
    store: str, wine_bundle: Path
) -> None:
    record = sample_records(wine_bundle, 1)[0]
    statuses: list[int] = []
    versions: set[str] = set()
    stop = threading.Event()
    with live(config(store)) as server:
        assert server.state.arms["champion"].identity.version == "1"

        def load() -> None:
            with server.client() as client:
                while not stop.is_set():
                    response = client.post("/v1/predict", json=record)
                    statuses.append(response.status_code)
                    versions.add(response.headers.get("X-Model-Version", "?"))

        threads = [threading.Thread(target=load) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            with server.client() as admin:
                for _ in range(CYCLES):
                    promoted = admin.post("/admin/promote", json={"version": "2"}, headers=AUTH)
                    assert promoted.status_code == 200, promoted.text
                    assert promoted.json()["versions"] == {"champion": "2"}
                    back = admin.post("/admin/rollback", json={}, headers=AUTH)
                    assert back.status_code == 200, back.text
                    assert back.json()["versions"] == {"champion": "1"}
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
    assert len(statuses) > 100
    assert set(statuses) == {200}
    assert versions == {"1", "2"}


def test_a_corrupt_version_is_refused_and_the_old_one_keeps_serving(
    store: str, wine_bundle: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy" / wine_bundle.name
    shutil.copytree(wine_bundle, copy)
    assert registry.register(copy, "wine", store).version == 3
    cached = registry.resolve("wine", "3", store).path
    (cached / "schema.json").write_text("{}")  # the downloaded copy was altered
    record = sample_records(wine_bundle, 1)[0]
    with live(config(store)) as server, server.client() as client:
        refused = client.post("/admin/promote", json={"version": "3"}, headers=AUTH)
        served = client.post("/v1/predict", json=record)
        metrics = client.get("/metrics").text
    assert refused.status_code == 409
    assert "refused, still serving the previous models" in refused.json()["detail"]
    assert "schema.json" in refused.json()["detail"]
    assert served.status_code == 200 and served.headers["X-Model-Version"] == "1"
    assert registry.resolve("wine", "champion", store).version == 1  # the registry unchanged
    assert "trainwell_model_load_failures_total 1.0" in metrics


def test_admin_routes_need_the_token(store: str) -> None:
    with live(config(store)) as server, server.client() as client:
        missing = client.post("/admin/reload")
        wrong = client.post("/admin/reload", headers={"Authorization": "Bearer nope"})
        right = client.post("/admin/reload", headers=AUTH)
    assert missing.status_code == wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert right.status_code == 200 and right.json()["changed"] == []


def test_reload_picks_up_an_alias_moved_by_the_cli(store: str) -> None:
    with live(config(store)) as server, server.client() as client:
        registry.promote("wine", 2, "champion", store)  # `trainwell registry promote wine 2`
        reloaded = client.post("/admin/reload", headers=AUTH)
    assert reloaded.json()["changed"] == ["champion: 1 -> 2"]


@pytest.mark.slow
def test_ab_split_with_feedback_gives_a_report_with_a_verdict(store: str, tmp_path: Path) -> None:
    """champion:50,challenger:50 sticky by user; every prediction labelled through /v1/feedback;
    `trainwell ab report` on the server's log compares the arms."""
    import json

    import pandas as pd
    from tests.cli_helpers import invoke

    from trainwell.inference.serve.requestlog import RequestLog
    from trainwell.inference.serve.settings import ArmSpec, StickyKey

    registry.promote("wine", 2, "challenger", store)
    log_path = tmp_path / "requests.jsonl"
    wine = pd.read_csv(next(Path(p) for p in _wine_files(store)))
    truth = wine.pop("target").tolist()
    rows = json.loads(wine.to_json(orient="records"))
    ab = ServeConfig(
        registry="wine", tracking_uri=store, port=free_port(), request_log=log_path,
        arms=(ArmSpec(ref="champion", weight=50), ArmSpec(ref="challenger", weight=50)),
        sticky_key=StickyKey(source="header", name="X-User-ID"),
    )  # fmt: skip
    log = RequestLog(log_path, ab.request_log_max_bytes, ab.request_log_backups)
    with live(ab, log=log) as server, server.client() as client:
        for repeat in range(2):
            for i, (row, label) in enumerate(zip(rows, truth, strict=True)):
                answer = client.post(
                    "/v1/predict", json=row, headers={"X-User-ID": f"u{repeat}-{i}"}
                )
                assert answer.status_code == 200
                feedback = {"request_id": answer.json()["request_id"], "outcome": label}
                assert client.post("/v1/feedback", json=feedback).status_code == 202
    code, output = invoke("ab", "report", str(log_path), "--json")
    assert code == 0, output
    report = json.loads(output)
    arms = {a["arm"]: a for a in report["arms"]}
    assert set(arms) == {"champion", "challenger"}
    assert sum(a["labelled_rows"] for a in arms.values()) == 2 * len(rows)
    assert all(a["accuracy"]["value"] > 0.8 for a in arms.values())
    (comparison,) = report["comparisons"]
    assert comparison["outcome"] in {"better", "worse", "no_difference"}
    assert comparison["verdict"]
    code, text = invoke("ab", "report", str(log_path))
    assert code == 0 and comparison["verdict"].split(":")[0] in " ".join(text.split())


def _wine_files(store: str) -> list[Path]:
    """The wine CSV the session's bundles were trained from (beside their models/ folder)."""
    version = registry.resolve("wine", "1", store)
    import yaml

    config = yaml.safe_load((version.path / "config.yaml").read_text())
    return [Path(config["data"]["path"])]
