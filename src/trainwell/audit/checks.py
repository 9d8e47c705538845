"""The audit's checks: the playbook's mandatory project layout and habits, grouped by the
mllint categories of LINT_RULES.md §4 (file structure, dependency management, version control,
testing, code quality, deployment, continuous integration).

``AUDIT_RULES`` is the catalog (one literal table); ``CHECKS`` maps each check function to the
codes it reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from trainwell.audit.project import SKIPPED_DIRS, Project
from trainwell.audit.settings import AuditSettings
from trainwell.lint.findings import Rule

PLAYBOOK_LAYOUT = "Project Structure (Mandatory)"


def _rule(code: str, name: str, summary: str, item: str, hint: str, bad: str, good: str) -> Rule:
    return Rule(
        code=code,
        name=name,
        summary=summary,
        playbook=item,
        hint=hint,
        bad=bad,
        good=good,
        source=f"trainwell audit ({name.split('/', maxsplit=1)[0]})",
    )


AUDIT_RULES: dict[str, Rule] = {
    "TWA101": _rule(
        "TWA101", "file-structure/required-file", "a file of the mandatory layout is missing",
        f"{PLAYBOOK_LAYOUT}: pyproject.toml, .gitignore, Makefile, README.md at the root.",
        "add the file (trainwell new NAME creates the whole layout)",
        "project/\n  src/\n  train.py",
        "project/\n  pyproject.toml\n  README.md\n  Makefile\n  .gitignore",
    ),
    "TWA102": _rule(
        "TWA102", "file-structure/required-folder", "a folder of the mandatory layout is missing",
        f"{PLAYBOOK_LAYOUT}: src/, scripts/, tests/, notebooks/, configs/, data/raw|processed|"
        "features, models/, outputs/, docker/.",
        "create the folder (keep empty data/model/output folders with a .gitkeep)",
        "project/\n  src/\n  experiments.yaml",
        "project/\n  src/\n  configs/\n  data/raw/\n  models/",
    ),
    "TWA103": _rule(
        "TWA103", "file-structure/package-layout", "the package under src/ lacks a layer",
        f"{PLAYBOOK_LAYOUT}: src/<project>/ with config, data, models, training, inference, "
        "evaluation, utils.",
        "add the subpackage (with an __init__.py)",
        "src/proj/\n  __init__.py\n  everything.py",
        "src/proj/\n  config/\n  data/\n  models/\n  training/\n  inference/\n"
        "  evaluation/\n  utils/",
    ),
    "TWA104": _rule(
        "TWA104", "file-structure/notebook-location", "a notebook outside notebooks/",
        "Anti-patterns: Jupyter in production -> .py files; notebooks/ is exploration only.",
        "move it under notebooks/ (and its reusable code into src/)",
        "src/proj/train.ipynb  # shipped with the package",
        "notebooks/01-explore.ipynb  # exploration only",
    ),
    "TWA105": _rule(
        "TWA105", "file-structure/config-location", "an experiment config outside configs/",
        f"{PLAYBOOK_LAYOUT}: configs/ holds experiment configs (YAML/JSON).",
        "move it under configs/",
        "experiment.yaml\nsrc/proj/params.yml", "configs/experiment.yaml  # and configs/*.yaml",
    ),
    "TWA106": _rule(
        "TWA106", "file-structure/makefile-targets", "the Makefile lacks common commands",
        f"{PLAYBOOK_LAYOUT}: Makefile with the common commands.",
        "add the targets (install, test, lint, format by default)",
        "train:\n\tpython train.py", "install:\n\t...\ntest:\n\t...\nlint:\n\t...\nformat:\n\t...",
    ),
    "TWA201": _rule(
        "TWA201", "dependency-management/setup-py", "setup.py present",
        f"{PLAYBOOK_LAYOUT}: pyproject.toml # Dependencies, build config (NO setup.py).",
        "move the metadata to pyproject.toml and delete setup.py",
        "setup.py\nsetup.cfg", "pyproject.toml  # [project] + [build-system]",
    ),
    "TWA202": _rule(
        "TWA202", "dependency-management/unpinned", "a dependency without a version bound or lock",
        "Core philosophy: Reproducible > Fast (random seeds, deterministic ops, version pinning).",
        "bound it (torch>=2.4,<2.5) and pin the exact set in a lock or constraints file",
        'dependencies = ["torch", "pandas>=2"]',
        'dependencies = ["torch>=2.4,<2.5", "pandas>=2.2,<2.3"]  # + uv.lock / constraints.txt',
    ),
    "TWA301": _rule(
        "TWA301", "version-control/env-example", ".env.example is missing",
        f"{PLAYBOOK_LAYOUT}: .env.example # Environment template.",
        "add .env.example listing every variable (with placeholder values)",
        "project/\n  .env", "project/\n  .env.example  # MLFLOW_TRACKING_URI=...",
    ),
    "TWA302": _rule(
        "TWA302", "version-control/env-committed", "a real .env file is committed",
        "Anti-patterns: hardcoded paths/secrets -> environment variables; commit the template.",
        "git rm --cached .env, add it to .gitignore, rotate any secret it held",
        "git add .env", "echo .env >> .gitignore\ngit add .env.example",
    ),
    "TWA303": _rule(
        "TWA303", "version-control/env-not-ignored", ".gitignore does not ignore .env",
        f"{PLAYBOOK_LAYOUT}: .gitignore; .env.example is the committed template.",
        "add `.env` to .gitignore",
        ".gitignore:\n  __pycache__/", ".gitignore:\n  __pycache__/\n  .env",
    ),
    "TWA304": _rule(
        "TWA304", "version-control/git", "the project is not under version control",
        "Core philosophy: Reproducible > Fast; mllint version-control/code/git.",
        "git init and commit",
        "project/  # no .git", "git init && git add . && git commit -m 'initial layout'",
    ),
    "TWA305": _rule(
        "TWA305", "version-control/large-file", "a large file is committed to git",
        f"{PLAYBOOK_LAYOUT}: data/ and models/ hold artifacts, not the git history (mllint "
        "git-no-big-files).",
        "untrack it; keep data and models in DVC, an artifact store or MLflow",
        "git add models/model.pt  # 400 MB", "dvc add models/model.pt",
    ),
    "TWA306": _rule(
        "TWA306", "version-control/generated-folder", "a virtualenv or cache folder is committed",
        f"{PLAYBOOK_LAYOUT}: .gitignore keeps environments and caches out of git.",
        "git rm -r --cached the folder and add it to .gitignore",
        "git add .venv/", ".gitignore:\n  .venv/\n  __pycache__/",
    ),
    "TWA401": _rule(
        "TWA401", "testing/has-tests", "no tests",
        "Core philosophy: Tested > Assumed (if it's not tested, it's broken).",
        "add pytest tests under tests/",
        "tests/  # empty", "tests/training/test_loop.py",
    ),
    "TWA402": _rule(
        "TWA402", "testing/mirror-src", "a source module without its mirrored test file",
        f"{PLAYBOOK_LAYOUT}: tests/ # pytest tests (mirror src structure).",
        "add tests/<subpackage>/test_<module>.py",
        "src/proj/training/loop.py\ntests/test_everything.py",
        "src/proj/training/loop.py\ntests/training/test_loop.py",
    ),
    "TWA501": _rule(
        "TWA501", "code-quality/linter", "no linter configured",
        "Code standards; mllint code-quality/use-linters.",
        "configure ruff in pyproject.toml ([tool.ruff]) and run it in CI",
        "pyproject.toml without [tool.ruff]", "[tool.ruff]\nline-length = 100",
    ),
    "TWA502": _rule(
        "TWA502", "code-quality/type-checker", "no type checker configured",
        "Code standards: Type Hints: Always.",
        "configure mypy (strict) or pyright",
        "pyproject.toml without [tool.mypy]", "[tool.mypy]\nstrict = true",
    ),
    "TWA601": _rule(
        "TWA601", "deployment/dockerfile", "docker/Dockerfile is missing",
        f"{PLAYBOOK_LAYOUT}: docker/Dockerfile.",
        "add docker/Dockerfile",
        "Dockerfile  # at the root", "docker/Dockerfile",
    ),
    "TWA602": _rule(
        "TWA602", "deployment/compose", "docker/docker-compose.yml is missing",
        f"{PLAYBOOK_LAYOUT}: docker/docker-compose.yml.",
        "add docker/docker-compose.yml",
        "docker/\n  Dockerfile", "docker/\n  Dockerfile\n  docker-compose.yml",
    ),
    "TWA701": _rule(
        "TWA701", "continuous-integration/use", "no CI configuration",
        "Core philosophy: Tested > Assumed; mllint continuous-integration/use.",
        "add a CI workflow that runs make lint and make test",
        "project/  # tests run by hand", ".github/workflows/ci.yml  # make lint && make test",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Hit:
    """One audit finding before rendering: code, path relative to the root, line, message."""

    code: str
    path: str
    message: str
    line: int = 1


# The fixed places of the mandatory layout.
LAYOUT = {
    "dockerfile": "docker/Dockerfile",
    "compose": "docker/docker-compose.yml",
    "env_example": ".env.example",
}
REQUIRED_FILES = ("pyproject.toml", "README.md", ".gitignore", "Makefile")
REQUIRED_FOLDERS = (
    "src", "scripts", "tests", "notebooks", "configs", "data/raw", "data/processed",
    "data/features", "models", "outputs", "docker",
)  # fmt: skip
PACKAGE_LAYERS = ("config", "data", "models", "training", "inference", "evaluation", "utils")
NOTEBOOK_FOLDER = "notebooks"
CONFIG_FOLDER = "configs"
CONFIG_SUFFIXES = (".yaml", ".yml")
CONFIG_EXEMPT_FOLDERS = frozenset(
    {"docker", "docs", "tests", "notebooks", "data", "models", "outputs", ".github", ".gitlab",
     ".circleci", ".ci", "charts", "helm", "k8s", "deploy", "deployment", "templates"}
)  # fmt: skip
TOOL_FILES = frozenset(
    {".pre-commit-config.yaml", "mkdocs.yml", "mkdocs.yaml", "environment.yml", "environment.yaml",
     ".readthedocs.yml", ".readthedocs.yaml", "codecov.yml", ".codecov.yml", ".gitlab-ci.yml",
     "dvc.yaml", "dvc.lock", "copier.yml", "copier.yaml", ".copier-answers.yml", ".yamllint",
     ".yamllint.yml", "bitbucket-pipelines.yml", "azure-pipelines.yml", "cloudbuild.yaml",
     ".golangci.yml", "conda.yaml", "MLproject", "mlproject.yaml"}
)  # fmt: skip
COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
LOCK_FILES = (
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "requirements.lock",
    "pylock.toml",
)
PIN_FILES_PATTERN = re.compile(r"^(constraints|requirements)[\w.-]*\.txt$")
REAL_ENV_NAMES = (".env", ".env.local", ".env.production", ".env.prod", ".env.dev")
CI_FILES = (
    ".gitlab-ci.yml", ".circleci/config.yml", "azure-pipelines.yml", "Jenkinsfile",
    "bitbucket-pipelines.yml", ".travis.yml", "cloudbuild.yaml",
)  # fmt: skip
CI_FOLDERS = (".github/workflows", ".ci", ".buildkite")
LINTER_TOOLS = ("ruff", "flake8", "pylint", "wemake-python-styleguide")
LINTER_FILES = (".flake8", ".pylintrc", "pylintrc", "ruff.toml", ".ruff.toml", "setup.cfg")
TYPE_CHECKER_TOOLS = ("mypy", "pyright", "pytype")
TYPE_CHECKER_FILES = ("mypy.ini", ".mypy.ini", "pyrightconfig.json")
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.-]+)\s*:(?!=)")
BYTES_PER_MB = 1024 * 1024
# requirement name, then the rest (specifiers, markers...)
REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*(?P<rest>.*)$"
)
UPPER_BOUNDS = ("==", "<", "<=", "~=", "===")
SKIP_MODULE_PREFIXES = ("_",)


# --- file structure ------------------------------------------------------------------------------


def check_required(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA101/TWA102/TWA103: the files and folders of the mandatory layout."""
    for name in REQUIRED_FILES:
        if not project.exists(name):
            yield Hit("TWA101", name, f"`{name}` is missing")
    for folder in REQUIRED_FOLDERS:
        if not (project.root / folder).is_dir():
            yield Hit("TWA102", f"{folder}/", f"folder `{folder}/` is missing")
    if not (project.root / "src").is_dir():
        return
    if not project.packages:
        yield Hit("TWA103", "src/", "no package under src/ (src/<project>/__init__.py)")
        return
    for package in project.packages:
        missing = [
            layer
            for layer in PACKAGE_LAYERS
            if not (project.root / "src" / package / layer).is_dir()
        ]
        if missing:
            yield Hit(
                "TWA103",
                f"src/{package}/",
                f"`src/{package}/` lacks {', '.join(f'{m}/' for m in missing)}",
            )


def check_locations(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA104/TWA105: notebooks only under notebooks/, experiment configs under configs/."""
    for path in project.files:
        parts = PurePosixPath(path).parts
        folders = set(parts[:-1])
        if path.endswith(".ipynb") and parts[0] != NOTEBOOK_FOLDER:
            yield Hit("TWA104", path, "notebook outside notebooks/")
        elif (
            path.endswith(CONFIG_SUFFIXES)
            and CONFIG_FOLDER not in folders
            and not folders & CONFIG_EXEMPT_FOLDERS
            and parts[-1] not in TOOL_FILES
            and parts[-1] not in COMPOSE_NAMES
        ):
            yield Hit("TWA105", path, "YAML config outside configs/")


def make_targets(text: str) -> set[str]:
    """Target names defined in a Makefile."""
    targets: set[str] = set()
    for line in text.splitlines():
        match = MAKE_TARGET.match(line)
        if match and not line.startswith((".", "\t")):
            targets.add(match.group(1))
    return targets


def check_makefile(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA106: a Makefile with the common commands."""
    path = project.root / "Makefile"
    if not path.is_file():
        return
    targets = make_targets(path.read_text(encoding="utf-8", errors="replace"))
    missing = [t for t in settings.make_targets if t not in targets]
    if missing:
        yield Hit("TWA106", "Makefile", f"Makefile lacks targets: {', '.join(missing)}")


# --- dependency management -----------------------------------------------------------------------


def check_setup_py(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA201: no setup.py."""
    if project.exists("setup.py"):
        yield Hit("TWA201", "setup.py", "setup.py present; use pyproject.toml")


def is_pinned(requirement: str) -> bool:
    """Whether a requirement has an upper bound or an exact version (or is a URL/path)."""
    match = REQUIREMENT.match(requirement.split(";", maxsplit=1)[0])
    if match is None:
        return True
    rest = match.group("rest").strip()
    if rest.startswith("@"):
        return True
    return any(op in rest for op in UPPER_BOUNDS)


def _requirement_name(requirement: str) -> str:
    match = REQUIREMENT.match(requirement)
    return match.group("name").lower().replace("_", "-") if match else requirement


def _pinned_elsewhere(project: Project) -> set[str] | None:
    """Names pinned with ``==`` in constraints/requirements files; None when a lock file exists."""
    if any(project.exists(lock) for lock in LOCK_FILES):
        return None
    pinned: set[str] = set()
    for entry in project.root.iterdir():
        if entry.is_file() and PIN_FILES_PATTERN.match(entry.name):
            for line in entry.read_text(encoding="utf-8", errors="replace").splitlines():
                text = line.split("#")[0].strip()
                if "==" in text:
                    pinned.add(_requirement_name(text))
    return pinned


def _declared(project: Project) -> list[str]:
    """Requirements declared in pyproject.toml (PEP 621 and Poetry), self-references dropped."""
    data = project.pyproject
    table: dict[str, Any] = data.get("project", {})
    own = _requirement_name(str(table.get("name", "")))
    requirements = [r for r in table.get("dependencies", []) if isinstance(r, str)]
    for group in table.get("optional-dependencies", {}).values():
        requirements.extend(r for r in group if isinstance(r, str))
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    for name, spec in poetry.items():
        version = spec.get("version", "*") if isinstance(spec, dict) else str(spec)
        if name.lower() == "python" or version.startswith(("^", "~")):
            continue
        requirements.append(name if version == "*" else f"{name}{version}")
    return [r for r in requirements if _requirement_name(r) != own]


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def check_pinned(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA202: every dependency bounded (or pinned by a lock/constraints file)."""
    pinned = _pinned_elsewhere(project)
    if pinned is None:
        return
    text = (
        (project.root / "pyproject.toml").read_text(encoding="utf-8")
        if project.exists("pyproject.toml")
        else ""
    )
    for requirement in _declared(project):
        if is_pinned(requirement) or _requirement_name(requirement) in pinned:
            continue
        yield Hit(
            "TWA202",
            "pyproject.toml",
            f"`{requirement}` has no upper bound and no pin in a lock/constraints file",
            _line_of(text, requirement),
        )
    for entry in sorted(project.root.glob("requirements*.txt")):
        if not project.exists("pyproject.toml"):
            for number, line in enumerate(entry.read_text(encoding="utf-8").splitlines(), 1):
                text_line = line.split("#")[0].strip()
                if text_line and not text_line.startswith("-") and not is_pinned(text_line):
                    yield Hit("TWA202", entry.name, f"`{text_line}` is not pinned", number)


# --- version control -----------------------------------------------------------------------------


def check_env(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA301/TWA302/TWA303: .env.example present, no real .env committed, .env ignored."""
    if not project.exists(LAYOUT["env_example"]):
        yield Hit("TWA301", LAYOUT["env_example"], ".env.example is missing")
    for name in REAL_ENV_NAMES:
        committed = (
            name in project.tracked
            if project.is_git
            else (project.exists(name) and not project.is_ignored(name))
        )
        if committed:
            yield Hit("TWA302", name, f"`{name}` is committed (secrets belong outside git)")
    if project.exists(".gitignore") and not project.is_ignored(".env"):
        yield Hit("TWA303", ".gitignore", ".gitignore does not ignore .env")


def check_git(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA304/TWA305/TWA306: under git, no large files and no virtualenv/cache folders in it."""
    if not project.is_git:
        yield Hit("TWA304", ".", "not a git repository")
        return
    generated: dict[str, int] = {}
    limit = settings.large_file_mb * BYTES_PER_MB
    for path in sorted(project.tracked):
        folders = PurePosixPath(path).parts[:-1]
        skipped = next((f for f in folders if f in SKIPPED_DIRS), None)
        if skipped is not None:
            prefix = "/".join(folders[: folders.index(skipped) + 1]) + "/"
            generated[prefix] = generated.get(prefix, 0) + 1
            continue
        full = project.root / path
        if full.is_file() and full.stat().st_size > limit:
            size = full.stat().st_size / BYTES_PER_MB
            yield Hit(
                "TWA305", path, f"{size:.1f} MB committed (limit {settings.large_file_mb} MB)"
            )
    for prefix, count in sorted(generated.items()):
        yield Hit("TWA306", prefix, f"`{prefix}` is committed ({count} files); untrack it")


# --- testing -------------------------------------------------------------------------------------


def _is_test_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def check_tests(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA401/TWA402: tests exist and mirror src/."""
    tests = {p for p in project.files if p.startswith("tests/") and _is_test_file(p)}
    if not tests:
        yield Hit("TWA401", "tests/", "no test files (tests/**/test_*.py)")
        return
    for path in project.files:
        parts = PurePosixPath(path).parts
        if (
            len(parts) < len(("src", "pkg", "m.py"))
            or parts[0] != "src"
            or not path.endswith(".py")
        ):
            continue
        module = parts[-1]
        if module.startswith(SKIP_MODULE_PREFIXES):
            continue
        inner = parts[2:-1]
        stem = module.removesuffix(".py")
        candidates = {
            "/".join(("tests", *inner, f"test_{stem}.py")),
            "/".join(("tests", *parts[1:-1], f"test_{stem}.py")),
            "/".join(("tests", *inner, f"{stem}_test.py")),
        }
        if not candidates & tests:
            expected = "/".join(("tests", *inner, f"test_{stem}.py"))
            yield Hit("TWA402", path, f"no mirrored test ({expected})")


# --- code quality, deployment, CI ----------------------------------------------------------------


def check_tooling(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA501/TWA502: a linter and a type checker are configured."""
    tools = project.pyproject.get("tool", {})
    if not any(t in tools for t in LINTER_TOOLS) and not any(
        project.exists(f) for f in LINTER_FILES
    ):
        yield Hit("TWA501", "pyproject.toml", "no linter configured ([tool.ruff] or similar)")
    if not any(t in tools for t in TYPE_CHECKER_TOOLS) and not any(
        project.exists(f) for f in TYPE_CHECKER_FILES
    ):
        yield Hit("TWA502", "pyproject.toml", "no type checker configured ([tool.mypy] or similar)")


def check_docker(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA601/TWA602: docker/Dockerfile and docker/docker-compose.yml."""
    if not project.exists(LAYOUT["dockerfile"]):
        where = " (one at the root: move it)" if project.exists("Dockerfile") else ""
        yield Hit("TWA601", LAYOUT["dockerfile"], f"docker/Dockerfile is missing{where}")
    if not any(project.exists(f"docker/{name}") for name in COMPOSE_NAMES):
        yield Hit("TWA602", LAYOUT["compose"], "docker/docker-compose.yml is missing")


def check_ci(project: Project, settings: AuditSettings) -> Iterator[Hit]:
    """TWA701: some CI configuration."""
    has_file = any(project.exists(f) for f in CI_FILES)
    has_folder = any(
        (project.root / folder).is_dir() and any((project.root / folder).iterdir())
        for folder in CI_FOLDERS
    )
    if not has_file and not has_folder:
        yield Hit("TWA701", ".", "no CI configuration (.github/workflows, .gitlab-ci.yml...)")


Check = Callable[[Project, AuditSettings], Iterator[Hit]]

CHECKS: tuple[tuple[frozenset[str], Check], ...] = (
    (frozenset({"TWA101", "TWA102", "TWA103"}), check_required),
    (frozenset({"TWA104", "TWA105"}), check_locations),
    (frozenset({"TWA106"}), check_makefile),
    (frozenset({"TWA201"}), check_setup_py),
    (frozenset({"TWA202"}), check_pinned),
    (frozenset({"TWA301", "TWA302", "TWA303"}), check_env),
    (frozenset({"TWA304", "TWA305", "TWA306"}), check_git),
    (frozenset({"TWA401", "TWA402"}), check_tests),
    (frozenset({"TWA501", "TWA502"}), check_tooling),
    (frozenset({"TWA601", "TWA602"}), check_docker),
    (frozenset({"TWA701"}), check_ci),
)
