"""Loading configs: YAML, `TRAINWELL_*` environment, dotted CLI overrides, and their errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from trainwell.config.loader import (
    config_hash,
    flatten_config,
    load_config,
    load_experiment,
    parse_override,
    resolve_config,
)
from trainwell.config.schema import ExperimentConfig
from trainwell.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIGS = sorted(REPO_ROOT.glob("configs/**/*.yaml"))
BASE = {"data": {"path": "sklearn:iris", "target": "target"}}
NO_ENV: dict[str, str] = {}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write(
        tmp_path / "exp.yaml",
        "name: exp\ndata:\n  path: data.csv\n  target: label\ntraining:\n  seed: 1\n",
    )


def test_shipped_configs_exist() -> None:
    assert SHIPPED_CONFIGS, "configs/**/*.yaml should hold at least one example config"


@pytest.mark.parametrize(
    "path", SHIPPED_CONFIGS, ids=[str(p.relative_to(REPO_ROOT)) for p in SHIPPED_CONFIGS]
)
def test_every_shipped_config_loads(path: Path) -> None:
    cfg = load_config(path, environ=NO_ENV)
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.data.path is not None or cfg.data.train_path is not None


# --- YAML files -----------------------------------------------------------------------------


def test_load_yaml_file(config_file: Path) -> None:
    cfg = load_config(config_file, environ=NO_ENV)
    assert cfg.name == "exp"
    assert (cfg.data.path, cfg.data.target) == ("data.csv", "label")
    assert cfg.training.seed == 1
    # everything the file leaves out keeps its default
    assert cfg.training.epochs == 20
    assert cfg.model.architecture == "auto"


def test_no_path_uses_the_default_mapping() -> None:
    cfg = load_config(None, environ=NO_ENV, default=BASE)
    assert cfg.data.path == "sklearn:iris"


def test_empty_yaml_file_is_the_defaults_and_then_needs_data(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.yaml", "# nothing yet\n")
    assert load_config(path, ["data.path=x.csv"], environ=NO_ENV).data.path == "x.csv"
    with pytest.raises(ConfigError, match=r"empty\.yaml: `\(top level\)`: no data"):
        load_config(path, environ=NO_ENV)


# --- overrides ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("training.seed=7", ("training.seed", 7)),
        ("training.learning_rate=0.5", ("training.learning_rate", 0.5)),
        ("tracking.enabled=false", ("tracking.enabled", False)),
        ("tracking.uri=null", ("tracking.uri", None)),
        ("data.drop_columns=[a, b]", ("data.drop_columns", ["a", "b"])),
        ("model.params={max_depth: 3}", ("model.params", {"max_depth": 3})),
        ("data.path=s3://bucket/x=1.csv", ("data.path", "s3://bucket/x=1.csv")),
        (" data.target = label ", ("data.target", "label")),
        ("data.target=", ("data.target", "")),
        ("data.path=[unclosed", ("data.path", "[unclosed")),
    ],
)
def test_parse_override_reads_the_value_as_yaml(text: str, expected: tuple[str, object]) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["training.seed", "=7", "  =7"])
def test_parse_override_rejects_missing_key_or_equals(text: str) -> None:
    with pytest.raises(ConfigError, match=r"is not key=value \(e\.g\. training\.seed=7\)"):
        parse_override(text)


def test_cli_overrides_apply_and_nest() -> None:
    cfg = resolve_config(
        BASE,
        ["training.seed=7", "model.params.n_estimators=50", "data.drop_columns=[a, b]"],
        environ=NO_ENV,
    )
    assert cfg.training.seed == 7
    assert cfg.model.params == {"n_estimators": 50}
    assert cfg.data.drop_columns == ("a", "b")
    assert cfg.data.path == "sklearn:iris"


@pytest.mark.parametrize(
    ("override", "section", "field", "expected"),
    [
        ("data.target=1", "data", "target", "1"),
        ("tracking.experiment=2024", "tracking", "experiment", "2024"),
    ],
)
def test_number_like_values_for_string_fields(
    override: str, section: str, field: str, expected: str
) -> None:
    cfg = resolve_config(BASE, [override], environ=NO_ENV)
    assert getattr(getattr(cfg, section), field) == expected


def test_overrides_do_not_mutate_the_raw_mapping() -> None:
    raw = {"data": {"path": "a.csv"}}
    resolve_config(raw, ["data.path=b.csv"], environ=NO_ENV)
    assert raw == {"data": {"path": "a.csv"}}


def test_env_overrides_use_double_underscore_levels() -> None:
    environ = {
        "TRAINWELL_TRAINING__SEED": "9",
        "TRAINWELL_TRAINING__BATCH_SIZE": "32",
        "TRAINWELL_TRACKING__ENABLED": "false",
        "TRAINWELL_LOG_FORMAT": "json",  # reserved: configures the process, not the experiment
        "OTHER_TRAINING__SEED": "3",
    }
    cfg = resolve_config(BASE, environ=environ)
    assert (cfg.training.seed, cfg.training.batch_size) == (9, 32)
    assert cfg.tracking.enabled is False


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINWELL_TRAINING__EPOCHS", "3")
    assert resolve_config(BASE).training.epochs == 3


def test_precedence_defaults_file_env_cli(config_file: Path) -> None:
    # the file sets seed=1 and leaves epochs at its default
    assert load_config(config_file, environ=NO_ENV).training.seed == 1
    env = {"TRAINWELL_TRAINING__SEED": "2", "TRAINWELL_TRAINING__EPOCHS": "5"}
    from_env = load_config(config_file, environ=env)
    assert (from_env.training.seed, from_env.training.epochs) == (2, 5)
    from_cli = load_config(config_file, ["training.seed=3"], environ=env)
    assert (from_cli.training.seed, from_cli.training.epochs) == (3, 5)
    # the last of several CLI overrides of one key wins
    last = load_config(config_file, ["training.seed=3", "training.seed=4"], environ=env)
    assert last.training.seed == 4


# --- errors: one line naming the source, the field and what is allowed ----------------------


def one_line(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.yaml", "data:\n  path: a.csv\ntraining:\n  sed: 3\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ=NO_ENV)
    message = one_line(exc)
    assert message.startswith(f"{path}: unknown key `training.sed` (allowed: ")
    allowed = re.search(r"\(allowed: (.*)\)$", message)
    assert allowed is not None
    names = allowed.group(1).split(", ")
    assert names == sorted(names)
    assert {"seed", "epochs", "batch_size", "learning_rate"} <= set(names)


def test_unknown_top_level_section_lists_the_sections() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_config({**BASE, "trainer": {}}, environ=NO_ENV, source="exp.yaml")
    assert one_line(exc) == (
        "exp.yaml: unknown key `trainer` (allowed: checks, data, model, name, output, task, "
        "tracking, training, tune)"
    )


def test_out_of_range_value_names_the_limit_and_the_value(config_file: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(config_file, ["training.seed=-1"], environ=NO_ENV)
    assert one_line(exc) == (
        f"{config_file} (+ command line): `training.seed`: "
        "Input should be greater than or equal to 0 (got -1)"
    )


def test_bad_choice_lists_the_choices() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_config(BASE, ["training.optimizer=adamx"], environ=NO_ENV, source="exp.yaml")
    assert one_line(exc) == (
        "exp.yaml (+ command line): `training.optimizer`: "
        "Input should be 'adamw', 'adam' or 'sgd' (got 'adamx')"
    )


def test_error_from_env_names_the_variable() -> None:
    environ = {"TRAINWELL_TRAINING__EPOCHS": "0"}
    with pytest.raises(ConfigError) as exc:
        resolve_config(BASE, environ=environ, source="exp.yaml")
    assert one_line(exc) == (
        "exp.yaml (+ environment variable TRAINWELL_TRAINING__EPOCHS): `training.epochs`: "
        "Input should be greater than or equal to 1 (got 0)"
    )


def test_unknown_env_key_is_an_unknown_key_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown key `training\.sede` \(allowed: .*seed"):
        resolve_config(BASE, environ={"TRAINWELL_TRAINING__SEDE": "1"})


def test_cross_field_error_drops_the_value_error_prefix() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_config(BASE, ["data.train_path=t.csv"], environ=NO_ENV, source="exp.yaml")
    assert one_line(exc) == (
        "exp.yaml (+ command line): `data`: give either `data.path` or the pre-split files "
        "`data.train_path`/`data.valid_path`/`data.test_path`, not both"
    )


def test_several_problems_are_joined_on_one_line() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_config(BASE, ["training.seed=-1", "training.epochs=0"], environ=NO_ENV)
    message = one_line(exc)
    assert "`training.seed`" in message
    assert "`training.epochs`" in message
    assert message.count("; ") == 1


def test_override_into_a_value_is_an_error() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_config(BASE, ["data.path.x=1"], environ=NO_ENV)
    assert (
        one_line(exc) == "override 'data.path.x=1': 'data.path.x': `path` is a value, not a section"
    )


@pytest.mark.parametrize("key", ["training..seed", ".seed", "training."])
def test_malformed_override_key(key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_config(BASE, [f"{key}=1"], environ=NO_ENV)
    assert one_line(exc) == (
        f"override '{key}=1': malformed key '{key}' (expected e.g. training.seed)"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert one_line(exc) == f"config file not found: {path}"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"cannot read config file {re.escape(str(tmp_path))}"):
        load_config(tmp_path)


def test_bad_yaml_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "data:\n  path: [a, b\ntraining: {\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ=NO_ENV)
    assert one_line(exc).startswith(f"{path}: not valid YAML: ")


@pytest.mark.parametrize(
    ("text", "shown"), [("- a\n- b\n", "['a', 'b']"), ("just text\n", "'just text'")]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, shown: str) -> None:
    path = write(tmp_path / "list.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ=NO_ENV)
    assert one_line(exc) == f"{path}: the top level must be a mapping of sections, got {shown}"


def test_config_error_exit_code() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_override("nothing")
    assert exc.value.exit_code == 2


# --- config_hash and flatten_config ---------------------------------------------------------


def test_config_hash_is_stable_and_independent_of_key_order() -> None:
    a = resolve_config(
        {"data": {"path": "a.csv", "target": "y"}, "training": {"seed": 3}}, environ=NO_ENV
    )
    b = resolve_config(
        {"training": {"seed": 3}, "data": {"target": "y", "path": "a.csv"}}, environ=NO_ENV
    )
    assert re.fullmatch(r"[0-9a-f]{64}", config_hash(a))
    assert config_hash(a) == config_hash(b) == config_hash(a.model_copy())


def test_config_hash_matches_an_explicit_default_value() -> None:
    implicit = resolve_config(BASE, environ=NO_ENV)
    explicit = resolve_config(BASE, ["training.seed=42"], environ=NO_ENV)
    assert config_hash(implicit) == config_hash(explicit)


@pytest.mark.parametrize(
    "override", ["training.seed=43", "data.target=label", "model.params.depth=3", "name=x"]
)
def test_config_hash_changes_with_any_value(override: str) -> None:
    base = resolve_config(BASE, environ=NO_ENV)
    assert config_hash(resolve_config(BASE, [override], environ=NO_ENV)) != config_hash(base)


def test_flatten_config() -> None:
    cfg = resolve_config(
        BASE,
        ["model.params={n_estimators: 20, depth: 3}", "data.drop_columns=[id]"],
        environ=NO_ENV,
    )
    flat = flatten_config(cfg)
    assert flat["training.seed"] == "42"
    assert flat["training.learning_rate"] == "0.001"
    assert flat["data.path"] == "sklearn:iris"
    assert flat["data.drop_columns"] == '["id"]'
    assert flat["model.params.n_estimators"] == "20"
    assert flat["model.params.depth"] == "3"
    assert flat["output.dir"] == "models"
    assert flat["checks.downgrade"] == "{}"
    assert all(isinstance(v, str) for v in flat.values())
    # one entry per leaf: every field of every section appears
    assert "model.params" not in flat
    assert {k.split(".")[0] for k in flat} == set(ExperimentConfig.model_fields)


def test_config_package_is_import_light() -> None:
    """Config errors and --help must stay fast: no torch, sklearn, mlflow or pandas."""
    code = (
        "import sys, trainwell.config; "
        "heavy = [m for m in ('torch', 'sklearn', 'mlflow', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_process_variables_with_the_prefix_are_not_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve`'s admin token (and the launcher's run id) share the prefix but configure the
    process: a registry command run beside a token-holding server must still load its config."""
    monkeypatch.setenv("TRAINWELL_ADMIN_TOKEN", "s3cret")
    monkeypatch.setenv("TRAINWELL_RUN_ID", "abc123")
    assert load_experiment([]).training.seed == 42
