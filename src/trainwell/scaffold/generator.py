"""`trainwell new`: a new ML project in the playbook's mandatory layout, rendered with Copier.

    from trainwell.scaffold.generator import plan_project, generate_project

    spec = plan_project("churn-model", task="tabular-classification", parent=Path.cwd())
    spec.package_name                     # 'churn_model'
    generate_project(spec)                # -> Path('churn-model'), trains, tests and lints clean

The template ships inside trainwell (``trainwell/scaffold/template``), so it is not a git
repository and Copier cannot record a ``_commit``. The template version is therefore written
explicitly: ``template_version`` in ``.copier-answers.yml`` and in the generated
``pyproject.toml`` under ``[tool.trainwell]``.
"""

from __future__ import annotations

import keyword
import re
import shutil
import subprocess
import sys
from importlib import metadata
from importlib.resources import as_file, files
from pathlib import Path
from typing import Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field

from trainwell import __version__
from trainwell.errors import ConfigError, TrainwellError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

# Bump when the generated project changes; recorded in every project the template renders.
TEMPLATE_VERSION = "1.0.0"
TEMPLATE_DIR_NAME = "template"
ANSWERS_FILE = ".copier-answers.yml"
TemplateTask = Literal["tabular-classification", "tabular-regression", "anomaly-detection"]
# The tasks the template has a working example for (a subset of trainwell's TASK_KINDS).
SUPPORTED_TASKS: tuple[str, ...] = get_args(TemplateTask)
DEFAULT_TASK = "tabular-classification"
# A distribution name as PEP 508 allows it: letters, digits, '-', '_', '.', alphanumeric ends.
PROJECT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
SEPARATORS_PATTERN = re.compile(r"[-_.]+")
# Long enough for any real name; short enough that generated lines stay within ruff's 100.
MAX_PROJECT_NAME_LENGTH = 50
# Package names that would shadow something the generated project imports.
RESERVED_PACKAGES = frozenset({"trainwell", "tests", "scripts", "src"})
# What the generated code imports directly, bounded exactly as trainwell bounds them (so
# `trainwell audit` finds every dependency pinned and pip never disagrees with trainwell).
PROJECT_REQUIREMENTS = ("pandas", "pydantic", "pydantic-settings", "scikit-learn", "structlog")
DEV_REQUIREMENTS = ("pytest", "ruff", "mypy", "pandas-stubs")
# Stub packages versioned like the package they describe: bounded like it.
STUBS_OF = {"pandas-stubs": "pandas"}
DEV_EXTRA = "dev"
REQUIREMENT_PATTERN = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(?P<specifier>.*)$"
)
EXTRA_MARKER_PATTERN = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
GIT_TIMEOUT_S = 30


class ProjectSpec(BaseModel):
    """Everything `generate_project` needs, validated. Build it with :func:`plan_project`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_name: str = Field(description="Directory and distribution name (churn-model).")
    package_name: str = Field(description="Importable package under src/ (churn_model).")
    task: TemplateTask = Field(description="The task the example trains.")
    description: str = Field(description="One line for pyproject.toml and the README.")
    destination: Path = Field(description="The project directory to create.")


def derive_package_name(project_name: str) -> str:
    """The Python package name for a project name, or a ConfigError saying why there is none.

    ``churn-model`` -> ``churn_model``; runs of ``-``, ``_`` and ``.`` become one ``_``.

    Raises:
        ConfigError: the name is empty, too long, has characters a package name cannot hold,
            starts with a digit, is a Python keyword, or would shadow a standard-library module
            or trainwell.
    """
    name = project_name.strip()
    example = "e.g. churn-model"
    if not name:
        raise ConfigError(f"the project name is empty ({example})")
    if len(name) > MAX_PROJECT_NAME_LENGTH:
        raise ConfigError(
            f"project name {name!r} is {len(name)} characters long; the limit is "
            f"{MAX_PROJECT_NAME_LENGTH} ({example})"
        )
    if not PROJECT_NAME_PATTERN.match(name):
        raise ConfigError(
            f"project name {name!r} is not valid: use letters, digits, '-', '_' and '.', "
            f"starting and ending with a letter or digit ({example})"
        )
    package = SEPARATORS_PATTERN.sub("_", name).lower()
    if package[0].isdigit():
        raise ConfigError(
            f"project name {name!r} starts with a digit, so it cannot name a Python package "
            f"({example})"
        )
    if not package.isidentifier():
        raise ConfigError(f"project name {name!r} does not yield a Python identifier ({example})")
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise ConfigError(
            f"project name {name!r} gives the package {package!r}, a Python keyword; "
            f"choose another name ({example})"
        )
    if package in sys.stdlib_module_names or package in RESERVED_PACKAGES:
        raise ConfigError(
            f"project name {name!r} gives the package {package!r}, which would shadow the "
            f"module of the same name; choose another name ({example})"
        )
    return package


def _check_destination(destination: Path) -> None:
    if destination.is_dir():
        if any(destination.iterdir()):
            raise ConfigError(
                f"{destination} already exists and is not empty; choose another name or "
                "directory (nothing was written)"
            )
    elif destination.exists():
        raise ConfigError(f"{destination} exists and is not a directory (nothing was written)")


def plan_project(
    name: str,
    *,
    task: str = DEFAULT_TASK,
    parent: Path | None = None,
    description: str | None = None,
) -> ProjectSpec:
    """Validate the inputs of `trainwell new` and decide what will be written where.

    Args:
        name: the project name; also the directory created under ``parent``.
        task: one of :data:`SUPPORTED_TASKS`.
        parent: the directory the project is created in (default: the current directory).
        description: one line for pyproject.toml and the README.

    Raises:
        ConfigError: the name, task or description is invalid, or the destination exists and
            is not empty.
    """
    package = derive_package_name(name)
    if task not in SUPPORTED_TASKS:
        raise ConfigError(f"unknown task {task!r} (choose one of: {', '.join(SUPPORTED_TASKS)})")
    project_name = name.strip()
    destination = (parent if parent is not None else Path.cwd()).expanduser() / project_name
    _check_destination(destination)
    text = description.strip() if description else ""
    if any(not character.isprintable() for character in text):
        raise ConfigError("the description must be one line of printable text")
    return ProjectSpec(
        project_name=project_name,
        package_name=package,
        task=cast(TemplateTask, task),  # checked against SUPPORTED_TASKS above
        description=text or f"{task.replace('-', ' ').capitalize()} with trainwell.",
        destination=destination,
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements() -> dict[tuple[str, str], str]:
    """trainwell's own requirements: (extra or "", canonical name) -> version specifier.

    Empty when trainwell runs without installed metadata (e.g. from a source tree).
    """
    try:
        requirements = metadata.requires("trainwell") or []
    except metadata.PackageNotFoundError:
        logger.warning("trainwell_metadata_missing", hint="pip install -e . to bound dependencies")
        return {}
    declared: dict[tuple[str, str], str] = {}
    for text in requirements:
        requirement, _, marker = text.partition(";")
        match = REQUIREMENT_PATTERN.match(requirement)
        if match is None:
            continue
        extra = EXTRA_MARKER_PATTERN.search(marker)
        key = (extra.group(1) if extra else "", _canonical(match.group("name")))
        declared[key] = match.group("specifier").strip()
    return declared


def bounded(names: tuple[str, ...], extra: str, declared: dict[tuple[str, str], str]) -> list[str]:
    """``name<specifier>`` for each name, with the specifier trainwell declares for it.

    A name trainwell declares without a bound (or not at all) borrows the bound of the package
    it provides stubs for, else of trainwell's core requirement of the same name.
    """
    out: list[str] = []
    for name in names:
        key = _canonical(name)
        specifier = declared.get((extra, key)) or declared.get(("", key))
        if not specifier and key in STUBS_OF:
            specifier = declared.get(("", STUBS_OF[key]), "")
        out.append(f"{name}{specifier or ''}")
    return out


def template_data(spec: ProjectSpec) -> dict[str, object]:
    """The answers and constants Copier renders the template with."""
    declared = declared_requirements()
    return {
        "project_name": spec.project_name,
        "package_name": spec.package_name,
        "task": spec.task,
        "description": spec.description,
        "trainwell_version": __version__,
        "template_version": TEMPLATE_VERSION,
        "dependencies": bounded(PROJECT_REQUIREMENTS, "", declared),
        "dev_dependencies": bounded(DEV_REQUIREMENTS, DEV_EXTRA, declared),
    }


def init_git(directory: Path) -> bool:
    """``git init`` a new project (unless it already sits in a work tree); True when it did.

    A project outside version control is an audit finding; a missing or failing git only
    costs that, so it is logged, not raised.
    """
    git = shutil.which("git")
    if git is None:
        logger.warning("git_not_found", hint="run `git init` in the project")
        return False
    try:
        inside = subprocess.run(
            [git, "-C", str(directory), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
        if inside.returncode == 0 and inside.stdout.strip() == "true":
            return False
        subprocess.run(
            [git, "-c", "init.defaultBranch=main", "init", "-q", str(directory)],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("git_init_failed", path=str(directory), error=str(exc))
        return False
    return True


def generate_project(spec: ProjectSpec) -> Path:
    """Render the template into ``spec.destination`` and return that directory.

    The destination is checked again just before rendering; Copier removes what it wrote if
    rendering fails, so an error leaves nothing behind. A new project is put under git
    (``git init``) unless it is inside a work tree already.

    Raises:
        ConfigError: the destination appeared and is not empty.
        TrainwellError: Copier could not render or write the project.
    """
    import copier
    from copier.errors import CopierError

    _check_destination(spec.destination)
    resource = files("trainwell.scaffold") / TEMPLATE_DIR_NAME
    with as_file(resource) as template_dir:
        try:
            copier.run_copy(
                str(template_dir.resolve()),
                spec.destination,
                data=template_data(spec),
                defaults=True,
                unsafe=False,
                vcs_ref=None,
                quiet=True,
            )
        except (CopierError, OSError, ValueError) as exc:
            raise TrainwellError(
                f"could not write the project to {spec.destination}: {exc}"
            ) from exc
    init_git(spec.destination)
    logger.info(
        "project_generated",
        path=str(spec.destination),
        package=spec.package_name,
        task=spec.task,
        template_version=TEMPLATE_VERSION,
    )
    return spec.destination
