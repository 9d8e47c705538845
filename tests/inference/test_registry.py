"""`trainwell registry`: register, promote, rollback, list and resolve against a real SQLite
MLflow store, with a real bundle; the alias history over many cycles, the cache, tampering, and
every unknown name, version and alias as one line and exit 2."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from tests.cli_helpers import EXIT_BAD_INPUT, invoke, only_bundle
from typer.testing import CliRunner

from trainwell.cli import app
from trainwell.errors import BundleError, ConfigError, RegistryError
from trainwell.inference import registry
from trainwell.inference.bundle import verify_bundle
from trainwell.inference.registry import (
    alias_history,
    list_versions,
    promote,
    register,
    resolve,
    rollback,
    store_uri,
)
from trainwell.tracking import default_tracking_uri
from trainwell.utils.environment import sha256_file
from trainwell.utils.files import write_json


@dataclass(frozen=True)
class Trained:
    bundle: Path
    store: str  # the store the bundle's training run is in
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """One small bundle per module, trained with tracking on into its own store."""
    root = tmp_path_factory.mktemp("registry")
    store = f"sqlite:///{root}/mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # the autouse chdir is per test; this fixture runs before it
        code, out = invoke(
            "train",
            "data.path=sklearn:breast_cancer",
            "model.architecture=sklearn-rf",
            "model.params.n_estimators=20",
            f"tracking.uri={store}",
            f"output.dir={root / 'models'}",
        )
    assert code == 0, out
    bundle = only_bundle(root / "models")
    return Trained(bundle, store, verify_bundle(bundle).manifest)


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty MLflow database: copying it skips MLflow's schema migrations."""
    path = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store(tmp_path: Path, empty_database: Path) -> str:
    """An empty store of this test's own (the training run is not in it)."""
    shutil.copyfile(empty_database, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path}/mlflow.db"


def _registered(trained: Trained, store: str, name: str = "churn", times: int = 1) -> list[int]:
    return [register(trained.bundle, name, store).version for _ in range(times)]


def _aliases(store: str, name: str = "churn") -> dict[str, int]:
    model = MlflowClient(tracking_uri=store, registry_uri=store).get_registered_model(name)
    return {alias: int(version) for alias, version in model.aliases.items()}


def test_register_prints_the_version_and_tags_it_with_the_bundle(
    trained: Trained, store: str, tmp_path: Path
) -> None:
    for expected in (1, 2):
        code, out = invoke(
            "registry", "register", str(trained.bundle), "--name", "churn", "--tracking-uri", store
        )
        assert code == 0, out
        assert f"registered churn version {expected} (sklearn-rf, balanced_accuracy 0." in out
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    version = client.get_model_version("churn", "1")
    test_metrics = json.loads((trained.bundle / "metrics.json").read_text())["test"]
    sha = sha256_file(trained.bundle / "manifest.json")
    assert version.tags["trainwell.task"] == "tabular-classification"
    assert version.tags["trainwell.architecture"] == "sklearn-rf"
    assert version.tags["trainwell.bundle_sha256"] == sha
    assert version.tags["trainwell.primary_metric"] == "balanced_accuracy"
    assert float(version.tags["trainwell.primary_value"]) == test_metrics["balanced_accuracy"]
    # the training run lives in another store: a registry run holds the bundle, beside the db
    run = client.get_run(version.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "trainwell-registry"
    assert run.data.tags["trainwell.training_run_id"] == trained.manifest["run_id"]
    assert run.data.metrics["test/accuracy"] == pytest.approx(test_metrics["accuracy"])
    beside = (tmp_path / "artifacts" / "trainwell-registry").as_uri()
    assert version.source.startswith(beside)
    assert version.source.endswith(f"/registry/bundle-{sha[:12]}")


def test_register_reuses_the_training_run_when_the_store_has_it(trained: Trained) -> None:
    info = register(trained.bundle, "reused", trained.store)
    run_id = trained.manifest["run_id"]
    assert info.run_id == run_id and info.version == 1
    assert info.task == "tabular-classification" and info.aliases == ()
    client = MlflowClient(tracking_uri=trained.store)
    logged = {
        a.path for a in client.list_artifacts(run_id, f"registry/bundle-{info.bundle_sha256[:12]}")
    }
    assert f"registry/bundle-{info.bundle_sha256[:12]}/manifest.json" in logged


def test_an_altered_bundle_is_refused_before_anything_is_written(
    trained: Trained, store: str, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(trained.bundle, tmp_path / "copy"))
    (copy / "metrics.json").write_text("{}")
    code, out = invoke(
        "registry", "register", str(copy), "--name", "churn", "--tracking-uri", store
    )
    assert code == EXIT_BAD_INPUT
    assert "was altered: sha256 mismatch for metrics.json" in out
    assert MlflowClient(tracking_uri=store).search_registered_models() == []


def test_a_bundle_of_another_task_is_refused_under_the_same_name(
    trained: Trained, store: str
) -> None:
    _registered(trained, store)
    MlflowClient(tracking_uri=store).set_registered_model_tag(
        "churn", "trainwell.task", "tabular-regression"
    )
    with pytest.raises(RegistryError, match="holds tabular-regression bundles; this bundle is"):
        register(trained.bundle, "churn", store)


def test_promote_rollback_and_list_through_the_cli(trained: Trained, store: str) -> None:
    _registered(trained, store, times=3)
    uri = ("--tracking-uri", store)
    steps = [
        (("promote", "churn", "1"), "churn: champion unset -> v1"),
        (("promote", "churn", "3"), "churn: champion v1 -> v3"),
        (("promote", "churn", "3"), "churn: v3 already holds champion; nothing changed"),
        (("promote", "churn", "2", "--alias", "challenger"), "churn: challenger unset -> v2"),
    ]
    for args, message in steps:
        code, out = invoke("registry", *args, *uri)
        assert code == 0, out
        assert out.strip() == message
    assert _aliases(store) == {"champion": 3, "previous-champion": 1, "challenger": 2}
    code, out = invoke("registry", "rollback", "churn", *uri)
    assert code == 0 and out.strip() == "churn: champion v3 -> v1 (rolled back)"
    assert _aliases(store) == {"champion": 1, "challenger": 2}
    code, out = invoke("registry", "rollback", "churn", *uri)
    assert code == EXIT_BAD_INPUT
    assert out.strip() == (
        "error: model 'churn': champion is v1 and no earlier version held it, so there is "
        "nothing to roll back to"
    )
    code, out = invoke("registry", "list", "churn", *uri)
    assert code == 0 and "3 version(s)" in out and "balanced_a" in out
    result = CliRunner().invoke(app, ["registry", "list", "churn", "--json", *uri])
    versions = json.loads(result.stdout)["versions"]
    assert [(v["version"], v["aliases"]) for v in versions] == [
        (1, ["champion"]),
        (2, ["challenger"]),
        (3, []),
    ]
    assert versions[0]["test_metrics"]["accuracy"] > 0.8


def test_ten_promote_rollback_cycles_keep_the_history_right(
    trained: Trained, store: str, tmp_path: Path
) -> None:
    _registered(trained, store, times=3)
    promote("churn", 1, tracking_uri=store)
    cache = tmp_path / "cache"
    for _ in range(10):
        assert promote("churn", 2, tracking_uri=store).history == (1, 2)
        change = promote("churn", 3, tracking_uri=store)
        assert (change.old_version, change.new_version, change.history) == (2, 3, (1, 2, 3))
        assert _aliases(store) == {"champion": 3, "previous-champion": 2}
        assert resolve("churn", "champion", store, cache).version == 3
        assert resolve("churn", "previous-champion", store, cache).version == 2
        change = rollback("churn", tracking_uri=store)
        assert (change.old_version, change.new_version, change.history) == (3, 2, (1, 2))
        change = rollback("churn", tracking_uri=store)
        assert (change.old_version, change.new_version, change.history) == (2, 1, (1,))
        assert _aliases(store) == {"champion": 1}
        assert resolve("churn", "champion", store, cache).version == 1
    assert alias_history("churn", tracking_uri=store) == (1,)
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        rollback("churn", tracking_uri=store)


def test_rollback_skips_deleted_versions_and_records_aliases_moved_elsewhere(
    trained: Trained, store: str
) -> None:
    _registered(trained, store, times=4)
    for version in (1, 2, 3):
        promote("churn", version, tracking_uri=store)
    client = MlflowClient(tracking_uri=store)
    client.delete_model_version("churn", "2")
    assert rollback("churn", tracking_uri=store).new_version == 1
    client.set_registered_model_alias("churn", "champion", "4")  # moved in the MLflow UI
    change = rollback("churn", tracking_uri=store)
    assert (change.old_version, change.new_version, change.history) == (4, 1, (1,))


def test_reserved_alias_names_are_refused(trained: Trained, store: str) -> None:
    _registered(trained, store)
    for alias, message in (
        ("latest", "alias 'latest' is reserved by MLflow"),
        ("v2", "alias 'v2' is reserved by MLflow"),
        ("previous-champion", "aliases starting with 'previous-' are kept by trainwell"),
        ("a b", "alias must be letters, digits, _ or -"),
    ):
        code, out = invoke(
            "registry", "promote", "churn", "1", "--alias", alias, "--tracking-uri", store
        )
        assert code == EXIT_BAD_INPUT and message in out, out
    with pytest.raises(ConfigError):
        rollback("churn", alias="latest", tracking_uri=store)


def test_unknown_models_versions_and_aliases_are_one_line_and_exit_2(
    trained: Trained, store: str, tmp_path: Path
) -> None:
    _registered(trained, store)
    promote("churn", 1, tracking_uri=store)
    uri = ("--tracking-uri", store)
    cases = [
        (
            ("promote", "nope", "1"),
            f"error: no registered model named 'nope' at {store} (registered: churn)",
        ),
        (("promote", "churn", "7"), "error: model 'churn' has no version 7 (versions: 1)"),
        (("rollback", "nope"), "error: no registered model named 'nope'"),
        (
            ("rollback", "churn", "--alias", "challenger"),
            "error: model 'churn' has no 'challenger' alias to roll back",
        ),
        (("list", "nope"), "error: no registered model named 'nope'"),
        (("register", str(tmp_path / "absent"), "--name", "churn"), "error: bundle not found:"),
    ]
    for args, message in cases:
        code, out = invoke("registry", *args, *uri)
        assert code == EXIT_BAD_INPUT, out
        assert out.startswith(message) and len(out.strip().splitlines()) == 1, out
    absent = f"sqlite:///{tmp_path}/absent.db"
    code, out = invoke("registry", "list", "churn", "--tracking-uri", absent)
    assert code == EXIT_BAD_INPUT
    assert out.strip() == (
        f"error: no model registry at {absent} yet: register a bundle first "
        "(trainwell registry register BUNDLE --name NAME)"
    )
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(
        RegistryError, match=r"has no alias 'challenger' \(aliases: champion \(v1\)\)"
    ):
        resolve("churn", "challenger", store)
    with pytest.raises(RegistryError, match="has no version 9"):
        resolve("churn", "9", store)


def test_resolve_downloads_once_atomically_and_reads_the_cache_after(
    trained: Trained, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _registered(trained, store)
    promote("churn", 1, tracking_uri=store)
    resolved = resolve("churn", "champion", store)
    assert (resolved.name, resolved.version, resolved.alias) == ("churn", 1, "champion")
    assert resolved.path.resolve() == tmp_path / ".trainwell" / "registry-cache" / "churn" / "1"
    assert resolved.bundle_sha256 == sha256_file(trained.bundle / "manifest.json")
    assert verify_bundle(resolved.path).manifest == trained.manifest
    assert [p.name for p in resolved.path.parent.iterdir()] == ["1"]  # no staging left

    def offline(**_: Any) -> str:
        raise AssertionError("a cached version was downloaded again")

    monkeypatch.setattr("mlflow.artifacts.download_artifacts", offline)
    for ref in ("champion", "1", "v1"):
        again = resolve("churn", ref, store)
        assert again.path == resolved.path and again.version == 1
        assert again.alias == ("champion" if ref == "champion" else None)


def test_a_tampered_cached_copy_is_refused_until_deleted(
    trained: Trained, store: str, tmp_path: Path
) -> None:
    _registered(trained, store)
    cache = tmp_path / "cache"
    path = resolve("churn", "1", store, cache).path
    (path / "metrics.json").write_text('{"test": {"accuracy": 1.0}}')
    with pytest.raises(BundleError, match=r"churn v1 is unusable: .*sha256 mismatch for metrics"):
        resolve("churn", "1", store, cache)
    # altered consistently, manifest included: it verifies, but it is not what was registered
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["metrics.json"] = sha256_file(path / "metrics.json")
    write_json(path / "manifest.json", manifest)
    verify_bundle(path)
    with pytest.raises(BundleError, match="is not the bundle that was registered"):
        resolve("churn", "1", store, cache)
    shutil.rmtree(path)
    assert resolve("churn", "1", store, cache).path == path


def test_a_corrupt_version_in_the_store_is_refused_and_not_cached(
    trained: Trained, store: str, tmp_path: Path
) -> None:
    _registered(trained, store, times=2)
    cache = tmp_path / "cache"
    good = resolve("churn", "1", store, cache)
    source = MlflowClient(tracking_uri=store).get_model_version("churn", "2").source
    stored = Path(source.removeprefix("file://"))
    with (stored / "schema.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(
        BundleError, match=r"the registry's copy of churn v2 is unusable: .*refused"
    ):
        resolve("churn", "2", store, cache)
    assert sorted(p.name for p in (cache / "churn").iterdir()) == ["1"]
    assert resolve("churn", "1", store, cache).path == good.path


def test_the_store_is_resolved_as_training_resolves_it(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_database: Path
) -> None:
    assert store_uri() == default_tracking_uri() == f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    info = register(trained.bundle, "churn")  # creates the default store, as train would
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()
    beside = (tmp_path / "mlruns" / "artifacts" / "trainwell-registry").as_uri()
    assert info.source.startswith(beside)
    other = f"sqlite:///{tmp_path}/team.db"
    monkeypatch.setenv("TRAINWELL_TRACKING__URI", other)
    assert store_uri() == other and store_uri("sqlite:///x.db") == "sqlite:///x.db"
    code, out = invoke("registry", "list", "churn")
    assert code == EXIT_BAD_INPUT and f"no model registry at {other} yet" in out
    shutil.copyfile(empty_database, tmp_path / "team.db")
    register(trained.bundle, "churn")
    assert [v.version for v in list_versions("churn")] == [1]
    assert Path(".trainwell/registry-cache") == registry.CACHE_DIR
