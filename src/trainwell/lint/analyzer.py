"""trainwell's own pass over one file: parse once, index once, run every enabled custom rule.

It also returns the facts the ruff findings need to be mapped onto trainwell's rules: where each
``def`` starts (TW110 is reported once per def) and which ``print`` calls are a CLI's output
(dropped from TW103). Results are plain data, so files can be analysed in worker processes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from trainwell.lint.astutil import ModuleIndex, RawFinding
from trainwell.lint.context import in_cli_output
from trainwell.lint.general import (
    check_broad_except,
    check_config_frozen,
    check_global_mutation,
    check_nested_try,
    check_notebook_code,
    check_pandas_values,
    check_torch_load,
    non_pandas_values,
)
from trainwell.lint.leakage import check_leakage, check_refit
from trainwell.lint.magic import check_magic_numbers
from trainwell.lint.modes import check_modes
from trainwell.lint.noqa import noqa_lines
from trainwell.lint.notebooks import NotebookSource, read_notebook
from trainwell.lint.paths import check_hardcoded_paths
from trainwell.lint.reproducibility import (
    check_nondeterministic,
    check_random_state,
    check_unseeded,
)
from trainwell.lint.rules import PARSE_ERROR, RULES
from trainwell.lint.tracking import check_hparams
from trainwell.lint.training import (
    check_checkpoint,
    check_loss_accumulation,
    check_set_to_none,
    check_zero_grad,
)

Check = Callable[[ModuleIndex], Iterator[RawFinding]]

# Which custom check produces which codes. Delegated rules (ruff) are in trainwell.lint.ruff.
CHECKS: tuple[tuple[frozenset[str], Check], ...] = (
    (frozenset({"TW102"}), check_hardcoded_paths),
    (frozenset({"TW104"}), check_nested_try),
    (frozenset({"TW105"}), check_global_mutation),
    (frozenset({"TW106"}), check_magic_numbers),
    (frozenset({"TW107"}), check_notebook_code),
    (frozenset({"TW108"}), check_torch_load),
    (frozenset({"TW109"}), check_broad_except),
    (frozenset({"TW111"}), check_config_frozen),
    (frozenset({"TW201"}), check_unseeded),
    (frozenset({"TW202"}), check_random_state),
    (frozenset({"TW203"}), check_nondeterministic),
    (frozenset({"TW204", "TW205"}), check_modes),
    (frozenset({"TW206"}), check_zero_grad),
    (frozenset({"TW207"}), check_set_to_none),
    (frozenset({"TW208"}), check_checkpoint),
    (frozenset({"TW209"}), check_hparams),
    (frozenset({"TW210"}), check_leakage),
    (frozenset({"TW211"}), check_refit),
    (frozenset({"TW212"}), check_loss_accumulation),
    (frozenset({"TW308"}), check_pandas_values),
)
CUSTOM_CODES: frozenset[str] = frozenset().union(*(codes for codes, _ in CHECKS))
NOTEBOOK_CODES: frozenset[str] = frozenset(code for code, rule in RULES.items() if rule.notebooks)
PRINT_NAMES = frozenset({"print", "pprint", "pprint.pprint", "builtins.print"})


@dataclass(frozen=True)
class FunctionSpan:
    """Where a def is: its ``def`` line and column, and the lines its header and body cover."""

    name: str
    line: int
    column: int
    first: int
    last: int


@dataclass
class FileResult:
    """Everything trainwell's pass learned about one file."""

    path: Path
    findings: list[RawFinding] = field(default_factory=list)
    functions: list[FunctionSpan] = field(default_factory=list)
    cli_prints: set[tuple[int, int]] = field(default_factory=set)
    # (line, column) of `.values` read from something provably not pandas (dropped from PD011)
    non_pandas_values: set[tuple[int, int]] = field(default_factory=set)
    noqa: dict[int, frozenset[str]] = field(default_factory=dict)
    notebook: NotebookSource | None = None
    parsed: bool = True


def _string_lines(index: ModuleIndex) -> frozenset[int]:
    """Lines inside multi-line string literals (after their first line)."""
    lines: set[int] = set()
    for node in [*index.nodes(ast.Constant), *index.nodes(ast.JoinedStr)]:
        end = node.end_lineno or node.lineno
        if end > node.lineno and (
            not isinstance(node, ast.Constant) or isinstance(node.value, str)
        ):
            lines.update(range(node.lineno + 1, end + 1))
    return frozenset(lines)


def analyze_source(source: str, path: Path, enabled: frozenset[str]) -> FileResult:
    """Run the enabled custom rules on one module's source."""
    result = FileResult(path=path)
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as e:
        result.noqa = noqa_lines(source)
        result.parsed = False
        if PARSE_ERROR.code in enabled:
            line = getattr(e, "lineno", 1) or 1
            column = getattr(e, "offset", 1) or 1
            message = getattr(e, "msg", str(e))
            result.findings.append(RawFinding(PARSE_ERROR.code, line, column, message))
        return result
    index = ModuleIndex(tree, path, source)
    result.noqa = noqa_lines(source, _string_lines(index))
    for codes, check in CHECKS:
        wanted = codes & enabled
        if wanted:
            result.findings.extend(f for f in check(index) if f.code in wanted)
    result.functions = [
        FunctionSpan(f.name, f.lineno, f.col_offset + 1, f.lineno, f.end_lineno or f.lineno)
        for f in index.functions
    ]
    if "TW308" in enabled:
        result.non_pandas_values = non_pandas_values(index)
    if "TW103" in enabled:
        result.cli_prints = {
            (call.lineno, call.col_offset + 1)
            for call in index.calls
            if index.call_name(call) in PRINT_NAMES and in_cli_output(index, call)
        }
    return result


def analyze_file(path: Path, enabled: frozenset[str]) -> FileResult:
    """Read and analyse one ``.py`` or ``.ipynb`` file (a notebook runs its rule subset).

    Raises:
        TrainwellError: a notebook that is not valid JSON.
    """
    if path.suffix == ".ipynb":
        notebook = read_notebook(path)
        result = analyze_source(notebook.source, path, enabled & (NOTEBOOK_CODES | {"TW001"}))
        result.notebook = notebook
        return result
    try:
        data = path.read_bytes()
    except OSError as e:
        result = FileResult(path=path, parsed=False)
        result.findings.append(RawFinding(PARSE_ERROR.code, 1, 1, f"cannot read file: {e}"))
        return result
    source = data.decode("utf-8", errors="replace")
    return analyze_source(source, path, enabled)
