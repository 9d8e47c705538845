"""`trainwell new`'s generator: name validation, the destination guard, and what is rendered."""

from __future__ import annotations

import ast
import shutil
import subprocess
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from trainwell import __version__
from trainwell.api import load_config
from trainwell.config.schema import TASK_KINDS
from trainwell.errors import ConfigError
from trainwell.scaffold.generator import (
    ANSWERS_FILE,
    MAX_PROJECT_NAME_LENGTH,
    SUPPORTED_TASKS,
    TEMPLATE_DIR_NAME,
    TEMPLATE_VERSION,
    ProjectSpec,
    bounded,
    declared_requirements,
    derive_package_name,
    generate_project,
    init_git,
    plan_project,
)

TEMPLATE = files("trainwell.scaffold") / TEMPLATE_DIR_NAME
# The playbook's mandatory layout (seed/: "Project Structure (Mandatory)").
MANDATORY_FILES = (
    "pyproject.toml",
    ".env.example",
    ".gitignore",
    "Makefile",
    "README.md",
    "notebooks/README.md",
    "configs/experiment.yaml",
    "data/raw/.gitkeep",
    "data/processed/.gitkeep",
    "data/features/.gitkeep",
    "models/.gitkeep",
    "outputs/.gitkeep",
    "docker/Dockerfile",
    "docker/docker-compose.yml",
    ".pre-commit-config.yaml",
    ".github/workflows/ci.yml",
    ANSWERS_FILE,
)
SUBPACKAGES = ("config", "data", "models", "training", "inference", "evaluation", "utils")


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("churn-model", "churn_model"),
        ("Churn.Model", "churn_model"),
        ("fraud--watch__v2", "fraud_watch_v2"),
        ("x", "x"),
        ("model2", "model2"),
        ("  spaced-out  ", "spaced_out"),
    ],
)
def test_derive_package_name(name: str, package: str) -> None:
    assert derive_package_name(name) == package


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("2fast", "starts with a digit"),
        ("class", "Python keyword"),
        ("match", "Python keyword"),
        ("my model", "not valid"),
        ("-lead", "not valid"),
        ("trail-", "not valid"),
        ("café", "not valid"),
        ("a/b", "not valid"),
        ("..", "not valid"),
        ("json", "shadow"),
        ("trainwell", "shadow"),
        ("x" * (MAX_PROJECT_NAME_LENGTH + 1), "the limit is"),
    ],
)
def test_names_without_a_valid_package_are_refused(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        derive_package_name(name)


def test_plan_project_defaults(tmp_path: Path) -> None:
    spec = plan_project("churn-model")
    assert spec == ProjectSpec(
        project_name="churn-model",
        package_name="churn_model",
        task="tabular-classification",
        description="Tabular classification with trainwell.",
        destination=tmp_path / "churn-model",
    )


def test_plan_project_refuses_an_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown task 'vision'.*anomaly-detection"):
        plan_project("churn-model", task="vision", parent=tmp_path)


def test_plan_project_refuses_a_multi_line_description(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="one line"):
        plan_project("churn-model", parent=tmp_path, description="one\ntwo")


def test_a_non_empty_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / "churn-model"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not empty.*nothing was written"):
        plan_project("churn-model", parent=tmp_path)
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "churn-model").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a directory"):
        plan_project("churn-model", parent=tmp_path)


def test_generate_rechecks_the_destination(tmp_path: Path) -> None:
    spec = plan_project("churn-model", parent=tmp_path)
    spec.destination.mkdir()
    (spec.destination / "late.txt").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        generate_project(spec)
    assert [p.name for p in spec.destination.iterdir()] == ["late.txt"]


def test_requirements_are_bounded_as_trainwell_bounds_them() -> None:
    declared = {
        ("", "pandas"): "<3.2,>=3.1",
        ("dev", "ruff"): "==0.17.6",
        ("dev", "pandas-stubs"): "",
    }
    assert bounded(("pandas", "ruff", "pandas-stubs", "unknown"), "dev", declared) == [
        "pandas<3.2,>=3.1",
        "ruff==0.17.6",
        "pandas-stubs<3.2,>=3.1",
        "unknown",
    ]


def test_declared_requirements_read_trainwell_metadata() -> None:
    declared = declared_requirements()
    if not declared:
        pytest.skip("trainwell is not installed with metadata")
    assert ("", "pandas") in declared
    assert declared[("dev", "ruff")].startswith("==")


def test_the_project_is_put_under_git(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = generate_project(plan_project("churn-model", parent=tmp_path))
    assert (project / ".git").is_dir()
    assert init_git(project) is False  # already a work tree: left alone


def test_an_existing_empty_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "churn-model").mkdir()
    destination = generate_project(plan_project("churn-model", parent=tmp_path))
    assert (destination / "pyproject.toml").is_file()


def test_template_ships_inside_the_package() -> None:
    assert TEMPLATE.is_dir()
    assert (TEMPLATE / "copier.yml").is_file()


def test_template_tasks_and_versions_match_trainwell() -> None:
    questions = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    assert tuple(questions["task"]["choices"]) == SUPPORTED_TASKS
    assert set(SUPPORTED_TASKS) <= set(TASK_KINDS)
    assert questions["template_version"]["default"] == TEMPLATE_VERSION
    assert questions["trainwell_version"]["default"] == __version__


def test_template_holds_no_python_files_for_trainwell_tools() -> None:
    """Every .py in the template ends in .jinja, so trainwell's ruff, mypy and pytest skip it."""
    root = Path(str(TEMPLATE))
    assert [p for p in root.rglob("*.py")] == []


def test_template_files_are_not_git_ignored(repo_root: Path) -> None:
    """hatch leaves git-ignored files out of the wheel: no template file may be ignored."""
    if shutil.which("git") is None or not (repo_root / ".git").exists():
        pytest.skip("needs the git checkout")
    root = Path(str(TEMPLATE))
    paths = [str(p) for p in root.rglob("*") if p.is_file()]
    ignored = subprocess.run(
        ["git", "-C", str(repo_root), "check-ignore", "--no-index", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ignored.stdout == ""


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated project per task."""
    parent = tmp_path_factory.mktemp("generated")
    return {
        task: generate_project(plan_project(f"demo-{task}", task=task, parent=parent))
        for task in SUPPORTED_TASKS
    }


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_the_mandatory_layout_is_generated(projects: dict[str, Path], task: str) -> None:
    project = projects[task]
    package = project / "src" / derive_package_name(project.name)
    for relative in MANDATORY_FILES:
        assert (project / relative).is_file(), relative
    assert not (project / "setup.py").exists()
    assert (package / "__init__.py").is_file()
    for subpackage in SUBPACKAGES:
        modules = sorted(p.name for p in (package / subpackage).glob("*.py"))
        assert "__init__.py" in modules
        assert len(modules) >= 2, f"{subpackage}/ needs a real module: {modules}"
        for module in modules:
            if module != "__init__.py":
                mirror = project / "tests" / subpackage / f"test_{module}"
                assert mirror.is_file(), f"no test mirrors {subpackage}/{module}"
    assert sorted(p.name for p in (project / "scripts").glob("*.py")) == [
        "predict.py",
        "prepare_data.py",
        "train.py",
    ]


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_everything_is_rendered_and_python_parses(projects: dict[str, Path], task: str) -> None:
    for path in projects[task].rglob("*"):
        if not path.is_file() or ".git" in path.relative_to(projects[task]).parts:
            continue
        assert not path.name.endswith(".jinja"), path
        text = path.read_text(encoding="utf-8")
        assert "{{" not in text, path
        assert "{%" not in text, path
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_template_version_is_recorded(projects: dict[str, Path], task: str) -> None:
    project = projects[task]
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    assert answers["template_version"] == TEMPLATE_VERSION
    assert answers["trainwell_version"] == __version__
    assert answers["task"] == task
    assert answers["_src_path"].endswith(TEMPLATE_DIR_NAME)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["trainwell"]["template_version"] == TEMPLATE_VERSION
    assert pyproject["tool"]["trainwell"]["task"] == task


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_pyproject_pins_trainwell_and_configures_pytest(
    projects: dict[str, Path], task: str
) -> None:
    pyproject = tomllib.loads((projects[task] / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = pyproject["project"]["dependencies"]
    assert dependencies[0] == f"trainwell=={__version__}"
    for requirement in [*dependencies, *pyproject["project"]["optional-dependencies"]["dev"]]:
        assert "<" in requirement or "==" in requirement, f"{requirement} is not bounded"
    pytest_options = pyproject["tool"]["pytest"]["ini_options"]
    assert pytest_options["pythonpath"] == ["src"]
    assert pytest_options["testpaths"] == ["tests"]


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_experiment_config_is_valid_for_the_task(projects: dict[str, Path], task: str) -> None:
    config = load_config(projects[task] / "configs" / "experiment.yaml")
    assert config.task.kind == task
    expected = "isolation-forest" if task == "anomaly-detection" else "sklearn-hgb"
    assert config.model.architecture == expected


def test_docker_compose_runs_the_app_and_an_mlflow_server(projects: dict[str, Path]) -> None:
    project = projects["tabular-classification"]
    compose = yaml.safe_load(
        (project / "docker" / "docker-compose.yml").read_text(encoding="utf-8")
    )
    assert set(compose["services"]) == {"app", "mlflow"}
    assert "mlflow server" in compose["services"]["mlflow"]["command"]
    environment = compose["services"]["app"]["environment"]
    assert environment["DEMO_TABULAR_CLASSIFICATION_TRACKING_URI"] == "http://mlflow:5000"


def test_pre_commit_runs_ruff_and_trainwell_lint(projects: dict[str, Path]) -> None:
    project = projects["tabular-classification"]
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    entries = [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]
    assert "trainwell lint" in entries
    assert any(entry.startswith("ruff check") for entry in entries)
    assert any(entry.startswith("ruff format") for entry in entries)


def test_description_reaches_pyproject_and_readme(tmp_path: Path) -> None:
    text = 'Predicts "churn" \\ risk'
    project = generate_project(plan_project("churn-model", parent=tmp_path, description=text))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == text
    assert text in (project / "README.md").read_text(encoding="utf-8")
