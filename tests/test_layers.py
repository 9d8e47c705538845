"""The package's declared layers, and the task contract's rule: no task-kind branches.

Layers, lowest first. A module may import its own layer and the layers below it, never one
above (every import counts: top-level, inside functions and under ``TYPE_CHECKING``). The
layers are what keep a new task family from becoming a web of cycles: the loop knows nothing of
tasks, components know their row of a table, the job composes them, the interface only calls.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from trainwell.config.schema import TASK_KINDS
from trainwell.tasks import TASKS

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "trainwell"

# (layer name, module prefixes). The first matching prefix, longest first, decides a module.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("trainwell", "trainwell.errors", "trainwell.utils")),
    ("config", ("trainwell.config",)),
    (
        "loop",
        (
            "trainwell.training.trainer",
            "trainwell.training.data",
            "trainwell.training.callbacks",
            "trainwell.training.checkpoint",
            "trainwell.training.distributed",
            "trainwell.training.settings",
        ),
    ),
    (
        "components",
        (
            "trainwell.data",
            "trainwell.models",
            "trainwell.evaluation",
            "trainwell.tracking",
            "trainwell.advise",
            "trainwell.training.selection",
        ),
    ),
    ("tasks", ("trainwell.tasks",)),
    (
        "job",
        (
            "trainwell.training",
            "trainwell.training.pipeline",
            "trainwell.training.fit",
            "trainwell.inference",
            "trainwell.tune",
        ),
    ),
    (
        "interface",
        (
            "trainwell.cli",
            "trainwell.cli_render",
            "trainwell.api",
            "trainwell.__main__",
            "trainwell.advise.cli",
            "trainwell.advise.render",
            "trainwell.tune.cli",
            "trainwell.scaffold",
            "trainwell.audit",
            "trainwell.lint",
        ),
    ),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}
PREFIXES = sorted(
    ((prefix, name) for name, prefixes in LAYERS for prefix in prefixes),
    key=lambda item: -len(item[0]),
)


def layer_of(module: str) -> str:
    for prefix, name in PREFIXES:
        if module == prefix or module.startswith(prefix + "."):
            return name
    raise AssertionError(f"{module} is in no declared layer: add it to LAYERS")


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_only_lines(tree: ast.Module) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, root: Path = SRC, *, type_only: bool = True) -> list[tuple[int, str]]:
    """Every trainwell module ``path`` imports (``type_only=False``: not the typing ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if type_only else _type_only_lines(tree)
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            # `from trainwell.training import fit` imports the module trainwell.training.fit
            # (the package's __init__ is a docstring; what counts is the module named)
            submodules = [f"{target}.{alias.name}" for alias in node.names]
            if not all(_existing_module(name) for name in submodules):
                found.append((node.lineno, target))
            found += [(node.lineno, name) for name in submodules]
    return [
        (line, name)
        for line, name in found
        if name.split(".")[0] == "trainwell" and line not in skip
    ]


def _existing_module(name: str) -> str | None:
    """``name`` if it is a module or package of trainwell, else None (an imported attribute)."""
    relative = Path(*name.split("."))
    if (SRC / relative).with_suffix(".py").is_file() or (SRC / relative / "__init__.py").is_file():
        return name
    return None


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer() -> None:
    for path in SOURCES:
        layer_of(module_name(path))


def test_no_import_goes_up_a_layer() -> None:
    upward: list[str] = []
    for path in SOURCES:
        here = module_name(path)
        rank = RANK[layer_of(here)]
        for line, name in imports_of(path):
            target = _existing_module(name)
            if target is None:
                continue
            there = layer_of(target)
            if RANK[there] > rank:
                where = f"{path.relative_to(SRC)}:{line}"
                upward.append(f"{where}: {here} ({layer_of(here)}) imports {target} ({there})")
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The rule is live: a planted lazy import of the job from a model module is reported."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from trainwell.training import pipeline\n", encoding="utf-8")
    names = [name for _, name in imports_of(planted, tmp_path)]
    assert "trainwell.training.pipeline" in names
    assert RANK[layer_of("trainwell.training.pipeline")] > RANK[layer_of("trainwell.models.gbm")]


# --- the task contract ----------------------------------------------------------------------

# Where a task kind may be named in a comparison: the task table, the objectives, the modality
# modules (data/), the advisor's rules and the config schema. lint/ analyses users' code.
ALLOWED = ("tasks.py", "evaluation/objectives.py", "data/", "advise/", "config/", "lint/")
KIND = "|".join(re.escape(kind) for kind in TASK_KINDS)
COMPARISON = re.compile(
    rf"(==|!=|\bin\s*[\(\[\{{])[^#\n]*[\"']({KIND})[\"']|[\"']({KIND})[\"']\s*(==|!=)"
)
DISPATCH = re.compile(r"\b(family|spec\.name|architecture)\s*(==|!=)\s*[\"']")


def _outside(allowed: tuple[str, ...]) -> list[Path]:
    return [p for p in SOURCES if not p.relative_to(PACKAGE).as_posix().startswith(allowed)]


def test_no_task_kind_comparisons_outside_the_task_contract() -> None:
    hits = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in _outside(ALLOWED)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if COMPARISON.search(line)
    ]
    assert not hits, "task kinds compared outside the task table:\n" + "\n".join(hits)


def test_no_architecture_dispatch_outside_models() -> None:
    hits = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in _outside(("models/", "lint/"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DISPATCH.search(line)
    ]
    assert not hits, "dispatch on an architecture's name or family:\n" + "\n".join(hits)


@pytest.mark.parametrize(
    "line",
    [
        'if task == "tabular-regression":',
        'classification = data.task != "anomaly-detection"',
        'if kind in ("tabular-classification", "tabular-regression"):',
        'elif "tabular-classification" == task:',
    ],
)
def test_the_comparison_rule_sees_task_branches(line: str) -> None:
    assert COMPARISON.search(line)


def test_the_task_table_serves_every_configurable_kind() -> None:
    assert tuple(TASKS) == TASK_KINDS
    for name, row in TASKS.items():
        assert row.name == name


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        here = module_name(path)
        targets = {_existing_module(name) for _, name in imports_of(path, type_only=False)}
        graph[here] = {t for t in targets if t is not None and t != here}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules() -> None:
    """Not even through lazy imports (imports for type hints only cannot loop at run time):
    cli <-> tune.cli and torch_checks <-> pipeline are gone."""
    assert [c for c in _cycles(_graph()) if c not in KNOWN_CYCLES] == []


# audit's settings check codes against audit's rule table, which imports the settings type;
# one package, one job, left for the audit's own issue.
KNOWN_CYCLES = [["trainwell.audit.checks", "trainwell.audit.settings"]]
