"""TW106 magic-number: unnamed numeric literals in executable code.

Not reported (LINT_RULES.md §5): 0, 1, -1, 2 in any numeric form; the right-hand side of
UPPER_CASE assignments; parameter defaults; annotations; field defaults of config classes
(Pydantic, dataclasses, enums); arguments of ``Field``/``ConfigDict`` and CLI option
definitions (``add_argument``, ``typer.Option``, ``click.option``); slices and integer indices;
dimension arguments (``dim=``, ``axis=``, ``permute(0, 2, 1)``); the digits of ``round(x, 4)``;
string repetition (``"-" * 40``); ``sys.version_info`` comparisons; test files.
Everything else counts, literal seeds included. One finding per line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainwell.lint.astutil import ModuleIndex, RawFinding, dotted, last_name
from trainwell.lint.context import in_config_class_body

ALLOWED_VALUES = frozenset({0, 1, -1, 2})
DIM_KEYWORDS = frozenset(
    {"dim", "dims", "axis", "axes", "start_dim", "end_dim", "dim0", "dim1", "keepdim", "keepdims"}
)
# methods whose positional integers are all dimensions
AXIS_METHODS = frozenset(
    {
        "permute",
        "transpose",
        "unsqueeze",
        "squeeze",
        "movedim",
        "moveaxis",
        "swapaxes",
        "swapdims",
        "flatten",
        "expand_dims",
        "size",
        "softmax",
        "log_softmax",
        "argmax",
        "argmin",
        "cumsum",
        "cumprod",
        "logsumexp",
        "amax",
        "amin",
        "unbind",
        "flip",
    }
)
# methods whose first positional argument is a dimension
DIM_FIRST_METHODS = frozenset(
    {"unfold", "narrow", "select", "index_select", "gather", "scatter", "scatter_add"}
)
CONCAT_FUNCTIONS = frozenset({"cat", "concat", "concatenate", "stack", "hstack", "vstack"})
ROUNDING = frozenset({"round", "around"})
DEFINITION_CALLS = frozenset(
    {
        "Field",
        "ConfigDict",
        "SettingsConfigDict",
        "field",
        "add_argument",
        "Option",
        "Argument",
        "option",
        "argument",
        "PrivateAttr",
    }
)
VERSION_INFO = "sys.version_info"
ROUND_KEYWORDS = frozenset({"decimals", "ndigits"})
LITERAL_TYPES = frozenset({"Literal", "typing.Literal", "typing_extensions.Literal"})


def _is_upper_target(target: ast.AST) -> bool:
    if isinstance(target, ast.Name):
        name = target.id.lstrip("_")
    elif isinstance(target, ast.Attribute):
        name = target.attr.lstrip("_")
    elif isinstance(target, ast.Tuple | ast.List):
        return bool(target.elts) and all(_is_upper_target(e) for e in target.elts)
    else:
        return False
    return bool(name) and name.upper() == name and any(c.isalpha() for c in name)


def _numeric_value(node: ast.Constant) -> complex | None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float | complex):
        return None
    return value


def _call_exempts(call: ast.Call, child: ast.AST) -> bool:
    name = last_name(call.func)
    if name in DEFINITION_CALLS:
        return True
    positions = [i for i, arg in enumerate(call.args) if arg is child]
    if positions:
        position = positions[0]
        if name in AXIS_METHODS:
            return True
        if name in DIM_FIRST_METHODS and position == 0 and isinstance(call.func, ast.Attribute):
            return True
        if name in CONCAT_FUNCTIONS and position >= 1:
            return True
        if name in ROUNDING and position == 1:
            return True
        if name in ROUNDING and isinstance(call.func, ast.Attribute) and position == 0:
            return True
    return False


def _exempt_at(index: ModuleIndex, parent: ast.AST, child: ast.AST) -> bool | None:
    """True/False when ``parent`` decides whether the literal below is exempt, else None."""
    result: bool | None = None
    if isinstance(parent, ast.Slice | ast.arguments | ast.arg):
        result = True
    elif isinstance(parent, ast.keyword):
        result = True if parent.arg in DIM_KEYWORDS or parent.arg in ROUND_KEYWORDS else None
    elif isinstance(parent, ast.Call):
        result = True if _call_exempts(parent, child) else None
    elif isinstance(parent, ast.BinOp):
        other = parent.right if child is parent.left else parent.left
        repeats_text = isinstance(other, ast.Constant) and isinstance(other.value, str)
        result = True if isinstance(parent.op, ast.Mult) and repeats_text else None
    elif isinstance(parent, ast.Compare):
        operands = [parent.left, *parent.comparators]
        result = True if any(index.qualname(o) == VERSION_INFO for o in operands) else None
    elif isinstance(parent, ast.Assign):
        result = all(_is_upper_target(t) for t in parent.targets) or in_config_class_body(
            index, parent
        )
    elif isinstance(parent, ast.AnnAssign):
        result = (
            child is parent.annotation
            or _is_upper_target(parent.target)
            or in_config_class_body(index, parent)
        )
    elif isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
        result = child is parent.returns
    elif isinstance(parent, ast.stmt):
        result = False
    return result


def _exempt(index: ModuleIndex, node: ast.AST, value: complex) -> bool:
    """Walk up from a literal to its statement, looking for a context that names it."""
    child = node
    index_chain = True  # only tuples/unary ops between the literal and a subscript so far
    for parent in index.ancestors(node):
        if isinstance(parent, ast.Subscript) and child is parent.slice:
            if index_chain and isinstance(value, int):
                return True
            if dotted(parent.value) in LITERAL_TYPES:
                return True
        decided = _exempt_at(index, parent, child)
        if decided is not None:
            return decided
        if not isinstance(parent, ast.Tuple | ast.UnaryOp):
            index_chain = False
        child = parent
    return False


def check_magic_numbers(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW106: one finding per line holding an unnamed numeric literal."""
    if index.is_test_file:
        return
    per_line: dict[int, tuple[int, str]] = {}
    extra: dict[int, int] = {}
    for node in index.nodes(ast.Constant):
        value = _numeric_value(node)
        if value is None:
            continue
        literal: ast.AST = node
        parent = index.parent(node)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub | ast.UAdd):
            value = -value if isinstance(parent.op, ast.USub) else value
            literal = parent
        if value in ALLOWED_VALUES or _exempt(index, literal, value):
            continue
        line = node.lineno
        column = getattr(literal, "col_offset", 0) + 1
        text = ast.unparse(literal)
        if line in per_line:
            extra[line] = extra.get(line, 0) + 1
            if column < per_line[line][0]:
                per_line[line] = (column, text)
        else:
            per_line[line] = (column, text)
    for line, (column, text) in sorted(per_line.items()):
        more = extra.get(line, 0)
        suffix = f" (and {more} more on this line)" if more else ""
        yield RawFinding("TW106", line, column, f"magic number {text}{suffix}")
