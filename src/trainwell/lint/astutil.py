"""One walk over a module's AST, shared by every custom rule.

:class:`ModuleIndex` records each node's parent and enclosing function, groups nodes by type,
and resolves imported names (``np.random.seed`` -> ``numpy.random.seed``, ``from torch import load
as tl`` -> ``torch.load``), so each rule asks questions instead of walking the tree again.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TypeVar

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
ScopeNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.Module
LOOP_TYPES = (ast.For, ast.AsyncFor, ast.While)
LoopNode = ast.For | ast.AsyncFor | ast.While
WITH_TYPES = (ast.With, ast.AsyncWith)
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_NEW_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_OUTER_FIELDS = frozenset({"decorator_list", "args", "returns", "type_params"})
# fields that never hold child nodes the rules look at (names, operators, contexts, flags)
_SCALAR_FIELDS = frozenset(
    {
        "ctx", "op", "ops", "id", "attr", "name", "arg", "n", "s", "kind", "type_comment",
        "module", "level", "asname", "conversion", "is_async", "simple", "tag", "names",
    }
)  # fmt: skip


def _child_fields(kind: type) -> tuple[tuple[str, bool], ...]:
    """The fields of a node type that may hold child nodes, in reverse order (for a stack)."""
    names = [f for f in getattr(kind, "_fields", ()) if f not in _SCALAR_FIELDS]
    if kind is ast.Constant or kind is ast.MatchSingleton:
        names = []
    return tuple((name, name in _OUTER_FIELDS) for name in reversed(names))


def _node_types(root: type = ast.AST) -> list[type]:
    out: list[type] = []
    subclasses: list[type] = root.__subclasses__()
    for sub in subclasses:
        out.append(sub)
        out.extend(_node_types(sub))
    return out


# node type -> its child fields, computed once at import
_CHILD_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {
    kind: _child_fields(kind) for kind in _node_types()
}


MAIN_NAME = "__main__"

N = TypeVar("N", bound=ast.AST)


@dataclass(frozen=True)
class RawFinding:
    """A finding before it has a path and a hint: code, 1-based line and column, message."""

    code: str
    line: int
    column: int
    message: str


def finding(code: str, node: ast.AST, message: str) -> RawFinding:
    """A finding at ``node``'s start (1-based column)."""
    return RawFinding(code, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, message)


def position(node: ast.AST) -> tuple[int, int]:
    """``(line, column)`` of a node, for ordering."""
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def dotted(expr: ast.AST) -> str | None:
    """``self.model.eval`` -> ``"self.model.eval"``; None for anything but names/attributes."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def last_name(expr: ast.AST) -> str | None:
    """The last identifier of a name or attribute chain (``a.b.fit`` -> ``fit``)."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return None


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    """The keyword argument ``name=`` of a call, if given."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def has_star_kwargs(call: ast.Call) -> bool:
    """Whether the call passes ``**kwargs`` (anything could be in there)."""
    return any(kw.arg is None for kw in call.keywords)


def is_constant(expr: ast.AST | None, value: object) -> bool:
    """Whether ``expr`` is the literal ``value`` (``True``/``False``/``None`` compared by
    identity)."""
    return isinstance(expr, ast.Constant) and expr.value is value


def names_in(expr: ast.AST) -> set[str]:
    """Every plain name read in an expression."""
    return {node.id for node in ast.walk(expr) if isinstance(node, ast.Name)}


def root_name(expr: ast.AST) -> str | None:
    """The base name of ``a.b[0].c`` (``a``)."""
    while isinstance(expr, ast.Attribute | ast.Subscript | ast.Call | ast.Starred):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def is_test_path(path: PurePath) -> bool:
    """pytest files: ``test_*.py``, ``*_test.py``, ``conftest.py``."""
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


class ModuleIndex:
    """Everything the rules need to know about one parsed module.

    Attributes:
        tree: the module.
        path: the file (used for path-scoped rules such as test files).
        parents: node -> parent node.
        scopes: node -> the innermost function (or lambda, or the module) that contains it.
        aliases: local name -> imported qualified name.
    """

    def __init__(self, tree: ast.Module, path: PurePath, text: str = "") -> None:
        self.tree = tree
        self.path = path
        self.text = text
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, ScopeNode] = {}
        self._by_type: dict[type[ast.AST], list[ast.AST]] = {}
        self._walk()
        self.aliases: dict[str, str] = self._collect_aliases()
        self.imported_roots: frozenset[str] = frozenset(
            name.split(".")[0] for name in self.aliases.values()
        )
        self._calls_by_scope: dict[ScopeNode, list[ast.Call]] | None = None
        self._by_scope: dict[type[ast.AST], dict[ScopeNode, list[ast.AST]]] = {}
        self._functions_by_name: dict[str, list[FunctionNode]] | None = None
        self.memo: dict[str, object] = {}
        self._call_names: dict[int, str | None] = {}

    # --- the walk ------------------------------------------------------------------------------

    def _walk(self) -> None:
        parents = self.parents
        scopes = self.scopes
        by_type = self._by_type
        fields_of = _CHILD_FIELDS
        stack: list[tuple[ast.AST, ScopeNode]] = [(self.tree, self.tree)]
        pop, push = stack.pop, stack.append
        while stack:
            node, scope = pop()
            kind = node.__class__
            bucket = by_type.get(kind)
            if bucket is None:
                by_type[kind] = [node]
            else:
                bucket.append(node)
            fields = fields_of.get(kind)
            if fields is None:
                fields = _child_fields(kind)  # a node type created after import
            if not fields:
                continue
            inner: ScopeNode = node if kind in _NEW_SCOPE else scope  # type: ignore[assignment]
            for name, outer in fields:
                value = getattr(node, name, None)
                child_scope = scope if outer else inner
                if value.__class__ is list:
                    for item in reversed(value):
                        if isinstance(item, ast.AST):
                            parents[item] = node
                            scopes[item] = child_scope
                            push((item, child_scope))
                elif value is not None and isinstance(value, ast.AST):
                    parents[value] = node
                    scopes[value] = child_scope
                    push((value, child_scope))

    def nodes(self, kind: type[N]) -> list[N]:
        """Every node of exactly this type, in (roughly) source order."""
        return self._by_type.get(kind, [])  # type: ignore[return-value]

    def nodes_of(self, *kinds: type[ast.AST]) -> list[ast.AST]:
        """Every node of these types, in source order."""
        out: list[ast.AST] = []
        for kind in kinds:
            out.extend(self._by_type.get(kind, []))
        out.sort(key=position)
        return out

    @property
    def calls(self) -> list[ast.Call]:
        """Every call in the module."""
        return self.nodes(ast.Call)

    @property
    def withs(self) -> list[ast.With | ast.AsyncWith]:
        """Every with and async with statement."""
        return [*self.nodes(ast.With), *self.nodes(ast.AsyncWith)]

    @property
    def functions(self) -> list[FunctionNode]:
        """Every def and async def, methods and nested functions included."""
        out: list[FunctionNode] = [*self.nodes(ast.FunctionDef), *self.nodes(ast.AsyncFunctionDef)]
        out.sort(key=position)
        return out

    # --- names ---------------------------------------------------------------------------------

    def _collect_aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for imp in self.nodes(ast.Import):
            for alias in imp.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        for imp_from in self.nodes(ast.ImportFrom):
            module = "." * imp_from.level + (imp_from.module or "")
            for alias in imp_from.names:
                if alias.name == "*":
                    continue
                separator = "" if not module or module.endswith(".") else "."
                aliases[alias.asname or alias.name] = f"{module}{separator}{alias.name}"
        return aliases

    def qualname(self, expr: ast.AST) -> str | None:
        """The imported name an expression refers to (``np.random.seed`` ->
        ``numpy.random.seed``); unimported names come back as written."""
        text = dotted(expr)
        if text is None:
            return None
        head, dot, rest = text.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return text
        return f"{target}{dot}{rest}"

    def call_name(self, call: ast.Call) -> str | None:
        """The qualified name of what a call calls (cached per call)."""
        key = id(call)
        if key in self._call_names:
            return self._call_names[key]
        name = self.qualname(call.func)
        self._call_names[key] = name
        return name

    def mentions(self, *words: str) -> bool:
        """Whether the source text contains one of these words (a cheap pre-filter; True when
        the index was built without its text)."""
        return not self.text or any(word in self.text for word in words)

    def imports_any(self, *roots: str) -> bool:
        """Whether the module imports one of these top-level packages."""
        return any(root in self.imported_roots for root in roots)

    # --- structure -----------------------------------------------------------------------------

    def parent(self, node: ast.AST) -> ast.AST | None:
        """The node's parent (None for the module)."""
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """Parent, grandparent, ... up to the module."""
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def scope(self, node: ast.AST) -> ScopeNode:
        """The innermost function, lambda or module that contains ``node``."""
        return self.scopes.get(node, self.tree)

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        """The innermost def around ``node`` (lambdas skipped), None at module level."""
        scope = self.scope(node)
        while isinstance(scope, ast.Lambda):
            scope = self.scope(scope)
        return scope if isinstance(scope, FUNCTION_TYPES) else None

    def enclosing_functions(self, node: ast.AST) -> Iterator[FunctionNode]:
        """Every def around ``node``, innermost first."""
        scope: ast.AST = node
        while True:
            outer = self.scope(scope)
            if outer is self.tree or outer is scope:
                return
            if isinstance(outer, FUNCTION_TYPES):
                yield outer
            scope = outer

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The class a function (or any node) is defined in, directly or through methods."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, ast.ClassDef):
                return ancestor
        return None

    def loops_between(self, node: ast.AST, scope: ast.AST | None = None) -> list[LoopNode]:
        """Loops around ``node`` inside its scope, innermost first (comprehensions excluded)."""
        stop = self.scope(node) if scope is None else scope
        out: list[LoopNode] = []
        for ancestor in self.ancestors(node):
            if ancestor is stop:
                break
            if isinstance(ancestor, LOOP_TYPES):
                out.append(ancestor)
        return out

    def calls_in_scope(self, scope: ScopeNode) -> list[ast.Call]:
        """Calls directly inside a function (not in nested defs), in source order."""
        if self._calls_by_scope is None:
            grouped: dict[ScopeNode, list[ast.Call]] = {}
            for call in self.calls:
                grouped.setdefault(self.scope(call), []).append(call)
            for calls in grouped.values():
                calls.sort(key=position)
            self._calls_by_scope = grouped
        return self._calls_by_scope.get(scope, [])

    def in_scope(self, kind: type[N], scope: ScopeNode) -> list[N]:
        """Nodes of exactly this type directly inside a scope (not in nested defs)."""
        grouped = self._by_scope.get(kind)
        if grouped is None:
            grouped = {}
            for node in self._by_type.get(kind, []):
                grouped.setdefault(self.scope(node), []).append(node)
            self._by_scope[kind] = grouped
        return grouped.get(scope, [])  # type: ignore[return-value]

    def functions_named(self, name: str) -> list[FunctionNode]:
        """Module-level functions and methods called ``name`` in this file."""
        if self._functions_by_name is None:
            table: dict[str, list[FunctionNode]] = {}
            for func in self.functions:
                table.setdefault(func.name, []).append(func)
            self._functions_by_name = table
        return self._functions_by_name.get(name, [])

    def resolve_local_function(self, call: ast.Call) -> FunctionNode | None:
        """The same-file function a call calls: ``helper(...)`` or ``self.helper(...)``."""
        func = call.func
        if isinstance(func, ast.Name):
            if func.id in self.aliases:
                return None
            candidates = [
                f for f in self.functions_named(func.id) if self.enclosing_class(f) is None
            ]
            return candidates[0] if candidates else None
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in {"self", "cls"}
        ):
            owner = self.enclosing_class(call)
            for method in self.functions_named(func.attr):
                if owner is None or self.enclosing_class(method) is owner:
                    return method
        return None

    def main_guards(self) -> list[ast.If]:
        """Module-level ``if __name__ == "__main__":`` statements."""
        return [stmt for stmt in self.tree.body if isinstance(stmt, ast.If) and is_main_guard(stmt)]

    @property
    def is_test_file(self) -> bool:
        """Whether this is a pytest file."""
        return is_test_path(self.path)

    def segment_lines(self, node: ast.AST) -> range:
        """The 1-based lines a node spans."""
        start = getattr(node, "lineno", 1)
        end = getattr(node, "end_lineno", start) or start
        return range(start, end + 1)


def is_main_guard(stmt: ast.If) -> bool:
    """``if __name__ == "__main__":`` (either operand order)."""
    test = stmt.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    operands = [test.left, test.comparators[0]]
    has_name = any(isinstance(o, ast.Name) and o.id == "__name__" for o in operands)
    has_main = any(isinstance(o, ast.Constant) and o.value == MAIN_NAME for o in operands)
    return has_name and has_main


def statements_in_order(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement in a block and its nested blocks, in source order (defs not entered)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef)):
            continue
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(stmt, field_name, None)
            if isinstance(block, list):
                for item in block:
                    if isinstance(item, ast.ExceptHandler):
                        yield from statements_in_order(item.body)
                    elif isinstance(item, ast.stmt):
                        yield from statements_in_order([item])
        if isinstance(stmt, ast.Match):
            for case in stmt.cases:
                yield from statements_in_order(case.body)
