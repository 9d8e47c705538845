"""The playbook's general anti-patterns that trainwell checks itself: TW104, TW105 (container
mutation; ruff PLW0603 covers ``global``), TW107, TW108, TW109, TW111, and trainwell's part of
TW308 (``.values`` on pandas objects ruff PD011 misses; where PD011 is wrong, on tensors)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainwell.lint.astutil import (
    FUNCTION_TYPES,
    FunctionNode,
    ModuleIndex,
    RawFinding,
    ScopeNode,
    finding,
    has_star_kwargs,
    is_constant,
    keyword,
    last_name,
    position,
    statements_in_order,
)

# --- TW104 nested-try ------------------------------------------------------------------------

TRY_TYPES = (ast.Try, ast.TryStar)


def check_nested_try(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW104: a try lexically inside another try of the same function."""
    for kind in TRY_TYPES:
        for node in index.nodes(kind):
            scope = index.scope(node)
            for ancestor in index.ancestors(node):
                if ancestor is scope:
                    break
                if isinstance(ancestor, TRY_TYPES):
                    yield finding(
                        "TW104",
                        node,
                        f"try/except nested inside the try on line {ancestor.lineno}",
                    )
                    break


# --- TW105 global-mutable-state (container mutation) ---------------------------------------

MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "popitem",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "appendleft",
        "extendleft",
        "sort",
        "reverse",
    }
)
CONTAINER_FACTORIES = frozenset(
    {
        "list",
        "dict",
        "set",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
        "collections.deque",
        "defaultdict",
        "OrderedDict",
        "Counter",
        "deque",
    }
)
_CONTAINER_LITERALS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
REGISTRY_MARKER = "register"


def _is_container(index: ModuleIndex, value: ast.AST | None) -> bool:
    if isinstance(value, _CONTAINER_LITERALS):
        return True
    return isinstance(value, ast.Call) and index.call_name(value) in CONTAINER_FACTORIES


def module_containers(index: ModuleIndex) -> set[str]:
    """Names bound at module level to a mutable container (list, dict, set, deque...)."""
    names: set[str] = set()
    for stmt in statements_in_order(index.tree.body):
        if isinstance(stmt, ast.Assign) and _is_container(index, stmt.value):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and _is_container(index, stmt.value)
        ):
            names.add(stmt.target.id)
    names.discard("__all__")
    return names


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef, index: ModuleIndex) -> set[str]:
    args = func.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        params.append(args.vararg)
    if args.kwarg:
        params.append(args.kwarg)
    local = {a.arg for a in params}
    declared_global: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Store)
            and index.scope(node) is func
        ):
            local.add(node.id)
    return local - declared_global


def _mutated_name(node: ast.AST) -> tuple[str, ast.AST] | None:
    """``X[k] = v``, ``X[k] += v``, ``del X[k]``, ``X.append(v)`` -> (``X``, node)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        while isinstance(receiver, ast.Subscript):
            receiver = receiver.value
        if node.func.attr in MUTATING_METHODS and isinstance(receiver, ast.Name):
            return receiver.id, node
    for target in targets:
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            return target.value.id, node
    return None


def check_global_mutation(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW105 (b): a function mutates a module-level container (one finding per function)."""
    containers = module_containers(index)
    if not containers:
        return
    candidates: dict[FunctionNode, list[tuple[str, ast.AST]]] = {}
    for kind in (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.Call):
        for node in index.nodes(kind):
            hit = _mutated_name(node)
            if hit is None or hit[0] not in containers:
                continue
            func = index.enclosing_function(node)
            if func is None:
                continue
            candidates.setdefault(func, []).append(hit)
    for func, hits in candidates.items():
        if any(REGISTRY_MARKER in f.name.lower() for f in (func, *index.enclosing_functions(func))):
            continue
        local = _local_names(func, index)
        real = [(name, node) for name, node in hits if name not in local]
        if not real:
            continue
        name, node = min(real, key=lambda hit: (getattr(hit[1], "lineno", 0), hit[0]))
        yield finding(
            "TW105",
            node,
            f"`{func.name}` mutates the module-level container `{name}`",
        )


# --- TW107 notebook-in-production ------------------------------------------------------------

NOTEBOOK_MODULES = frozenset({"IPython", "import_ipynb", "nbimporter", "ipynb"})
NON_PRODUCTION_DIRS = frozenset({"notebooks", "docs"})


IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


def _is_optional_import(index: ModuleIndex, imp: ast.stmt) -> bool:
    """An import in the body of a ``try`` that handles ``ImportError``: an optional
    integration (rich display when running in Jupyter), not notebook code in production."""
    child: ast.AST = imp
    for ancestor in index.ancestors(imp):
        if isinstance(ancestor, ast.Try) and child in ancestor.body:
            return any(
                handler.type is not None
                and any(
                    last_name(kind) in IMPORT_ERRORS
                    for kind in (
                        handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                    )
                )
                for handler in ancestor.handlers
            )
        if isinstance(ancestor, (*FUNCTION_TYPES, ast.ClassDef)):
            return False
        child = ancestor
    return False


def check_notebook_code(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW107: IPython imports, ``get_ipython()``, papermill, notebook importers, exec of cells."""
    if NON_PRODUCTION_DIRS.intersection(index.path.parts[:-1]) or index.is_test_file:
        return
    if not index.mentions(*NOTEBOOK_MODULES, "get_ipython", "papermill", "nbformat"):
        return
    imports: list[tuple[ast.Import | ast.ImportFrom, str]] = [
        (imp, f"`import {alias.name}` in production code")
        for imp in index.nodes(ast.Import)
        for alias in imp.names
        if alias.name.split(".")[0] in NOTEBOOK_MODULES
    ]
    imports += [
        (imp_from, f"import from `{imp_from.module}` in production code")
        for imp_from in index.nodes(ast.ImportFrom)
        if imp_from.level == 0 and (imp_from.module or "").split(".")[0] in NOTEBOOK_MODULES
    ]
    optional = [_is_optional_import(index, imp) for imp, _ in imports]
    for (imp, message), guarded in zip(imports, optional, strict=True):
        if not guarded:
            yield finding("TW107", imp, message)
    if imports and all(optional):
        return  # an optional Jupyter integration: its get_ipython() calls are guarded too
    exec_scopes = {
        index.scope(c) for c in index.calls if isinstance(c.func, ast.Name) and c.func.id == "exec"
    }
    for call in index.calls:
        name = index.call_name(call)
        if name is not None and (name == "get_ipython" or name.endswith(".get_ipython")):
            yield finding("TW107", call, "`get_ipython()` left over from a notebook export")
        elif (
            name is not None and name.startswith("papermill.") and name.endswith("execute_notebook")
        ):
            yield finding("TW107", call, "a notebook executed as part of production code")
        elif name in {"nbformat.read", "nbformat.reads"} and index.scope(call) in exec_scopes:
            yield finding("TW107", call, "notebook cells read and executed as code")


# --- TW108 unsafe-torch-load -------------------------------------------------------------------

TORCH_LOADS = frozenset({"torch.load", "torch.serialization.load"})


def check_torch_load(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW108: ``torch.load`` (any alias) without ``weights_only=True``."""
    if not index.imports_any("torch"):
        return
    for call in index.calls:
        if index.call_name(call) not in TORCH_LOADS:
            continue
        kw = keyword(call, "weights_only")
        if kw is None:
            if not has_star_kwargs(call):
                yield finding("TW108", call, "`torch.load` without `weights_only=True`")
        elif is_constant(kw.value, False):
            yield finding("TW108", call, "`torch.load(..., weights_only=False)` unpickles code")


# --- TW109 broad-except --------------------------------------------------------------------------

BROAD_EXCEPTIONS = frozenset(
    {"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"}
)
SUPPRESS = frozenset({"contextlib.suppress", "suppress"})


def _is_broad(index: ModuleIndex, expr: ast.expr | None) -> bool:
    if expr is None:
        return True
    if isinstance(expr, ast.Tuple):
        return any(_is_broad(index, element) for element in expr.elts)
    return index.qualname(expr) in BROAD_EXCEPTIONS


def _reraises(handler: ast.ExceptHandler) -> bool:
    """Whether the handler re-raises: bare ``raise``, ``raise e`` or ``raise X(...) from e``."""
    stack: list[ast.AST] = list(handler.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCTION_TYPES, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Raise):
            if node.exc is None:
                return True
            if handler.name and isinstance(node.exc, ast.Name) and node.exc.id == handler.name:
                return True
            if node.cause is not None and not is_constant(node.cause, None):
                return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def check_broad_except(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW109: ``except Exception``/``BaseException``/bare ``except`` that does not re-raise, and
    ``contextlib.suppress(Exception)``."""
    for handler in index.nodes(ast.ExceptHandler):
        if _is_broad(index, handler.type) and not _reraises(handler):
            what = "bare `except:`" if handler.type is None else "`except Exception`"
            yield finding("TW109", handler, f"{what} swallows every error")
    for with_node in index.withs:
        for item in with_node.items:
            expr = item.context_expr
            if (
                isinstance(expr, ast.Call)
                and index.call_name(expr) in SUPPRESS
                and any(_is_broad(index, arg) for arg in expr.args)
            ):
                yield finding("TW109", with_node, "`suppress(Exception)` swallows every error")


# --- TW111 config-not-frozen ------------------------------------------------------------------

PYDANTIC_ROOTS = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.v1.BaseModel",
        "pydantic.BaseSettings",
        "pydantic_settings.BaseSettings",
        "pydantic.v1.BaseSettings",
    }
)
CONFIG_SUFFIXES = ("Config", "Settings", "Params")
CONFIG_DICTS = frozenset(
    {"pydantic.ConfigDict", "pydantic_settings.SettingsConfigDict", "ConfigDict", "dict"}
)


def _frozen_value(index: ModuleIndex, value: ast.AST | None) -> bool | None:
    """``ConfigDict(frozen=X)`` / ``{"frozen": X}`` -> X (None when not set)."""
    if isinstance(value, ast.Call) and (
        index.call_name(value) in CONFIG_DICTS
        or (index.call_name(value) or "").endswith("ConfigDict")
    ):
        kw = keyword(value, "frozen")
        if kw is not None and isinstance(kw.value, ast.Constant):
            return bool(kw.value.value)
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "frozen":
                return bool(item.value) if isinstance(item, ast.Constant) else None
    return None


def _own_frozen(index: ModuleIndex, cls: ast.ClassDef) -> bool | None:
    for kw in cls.keywords:
        if kw.arg == "frozen" and isinstance(kw.value, ast.Constant):
            return bool(kw.value.value)
    for stmt in cls.body:
        target: ast.AST | None = None
        value: ast.AST | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        if isinstance(target, ast.Name) and target.id == "model_config":
            return _frozen_value(index, value)
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            for inner in stmt.body:
                if (
                    isinstance(inner, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "frozen" for t in inner.targets)
                    and isinstance(inner.value, ast.Constant)
                ):
                    return bool(inner.value.value)
    return None


def check_config_frozen(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW111: a Pydantic ``*Config``/``*Settings``/``*Params`` class that is not frozen."""
    if not index.imports_any("pydantic", "pydantic_settings"):
        return
    pydantic_classes: dict[str, bool] = {}  # name -> frozen
    for cls in sorted(index.nodes(ast.ClassDef), key=lambda c: c.lineno):
        base_names = [index.qualname(base) for base in cls.bases]
        local_bases = [name for name in base_names if name in pydantic_classes]
        if not local_bases and not any(name in PYDANTIC_ROOTS for name in base_names):
            continue
        own = _own_frozen(index, cls)
        frozen = own if own is not None else any(pydantic_classes[n] for n in local_bases)
        pydantic_classes[cls.name] = frozen
        if not frozen and cls.name.endswith(CONFIG_SUFFIXES):
            yield finding("TW111", cls, f"Pydantic config `{cls.name}` is not frozen")


# --- TW308 pandas-values (complements ruff PD011) ---------------------------------------------

PANDAS_FRAME_FACTORIES = ("pandas.read_", "pandas.DataFrame", "pandas.concat", "pandas.merge")
PANDAS_TYPES = frozenset({"pandas.DataFrame", "pandas.Series"})
PANDAS_TYPE_NAMES = ("DataFrame", "Series")
# pandas methods that return a DataFrame or Series when called on one
FRAME_METHODS = frozenset(
    {
        "abs", "copy", "merge", "join", "sort_values", "sort_index", "drop", "dropna", "fillna",
        "astype", "reset_index", "set_index", "assign", "query", "rename", "head", "tail",
        "sample", "clip", "round", "diff", "shift", "pct_change", "cumsum", "cumprod", "rank",
        "where", "mask", "replace", "select_dtypes", "filter", "pivot_table", "melt", "explode",
        "to_frame", "unstack", "stack", "drop_duplicates", "interpolate", "ffill", "bfill",
        "reindex", "add_prefix", "add_suffix", "isna", "notna", "map",
    }
)  # fmt: skip
FRAME_ACCESSORS = frozenset({"loc", "iloc", "T"})
# calls whose result is a torch object, never pandas (``x.topk(k).values``); not numpy, whose
# ufuncs return a Series for a Series (``np.log1p(s).values`` is pandas)
TENSOR_ROOTS = ("torch.",)
TENSOR_ONLY_METHODS = frozenset({"topk", "kthvalue", "aminmax"})
DIM_METHODS = frozenset({"max", "min", "sort", "mode", "median", "cummax", "cummin", "unique"})


def _column_key(expr: ast.AST) -> bool:
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str)
    if isinstance(expr, ast.List):
        return bool(expr.elts) and all(_column_key(e) for e in expr.elts)
    return False


def _end(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0


class _ValueKinds:
    """What a name holds at a point of use: the latest assignment to it in the same scope
    that ends before the use (branches are not told apart), else an annotated parameter."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.module_frames: set[str] = set()
        self.assigned: dict[ScopeNode, dict[str, list[ast.Assign | ast.AnnAssign]]] = {}
        assigns: list[ast.Assign | ast.AnnAssign] = [
            *index.nodes(ast.Assign),
            *index.nodes(ast.AnnAssign),
        ]
        for assign in assigns:
            targets = assign.targets if isinstance(assign, ast.Assign) else [assign.target]
            by_name = self.assigned.setdefault(index.scope(assign), {})
            for target in targets:
                if isinstance(target, ast.Name):
                    by_name.setdefault(target.id, []).append(assign)
            value = assign.value
            if isinstance(value, ast.Call) and (index.call_name(value) or "").startswith(
                PANDAS_FRAME_FACTORIES
            ):
                self.module_frames.update(t.id for t in targets if isinstance(t, ast.Name))

    def latest(self, name: ast.Name) -> tuple[ast.AST | None, ast.AST | None]:
        """``(value, annotation)`` that ``name`` last got before its use (a parameter has
        only an annotation)."""
        scope = self.index.scope(name)
        here = position(name)
        best: ast.Assign | ast.AnnAssign | None = None
        for assign in self.assigned.get(scope, {}).get(name.id, []):
            if _end(assign) <= here and (best is None or position(assign) > position(best)):
                best = assign
        if isinstance(best, ast.Assign):
            return best.value, None
        if isinstance(best, ast.AnnAssign):
            return best.value, best.annotation
        if isinstance(scope, FUNCTION_TYPES):
            args = scope.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg == name.id:
                    return None, arg.annotation
        return None, None

    def is_pandas_annotation(self, annotation: ast.AST) -> bool:
        for node in ast.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(t in node.value for t in PANDAS_TYPE_NAMES):
                    return True
            elif (
                isinstance(node, ast.Name | ast.Attribute)
                and self.index.qualname(node) in PANDAS_TYPES
            ):
                return True
        return False

    def is_frame(self, expr: ast.AST) -> bool:
        """Whether an expression provably holds a pandas DataFrame or Series."""
        if isinstance(expr, ast.Name):
            if expr.id in self.module_frames:
                return True
            value, annotation = self.latest(expr)
            if annotation is not None and self.is_pandas_annotation(annotation):
                return True
            return value is not None and self.is_frame(value)
        if isinstance(expr, ast.Subscript):
            return self.is_frame(expr.value)
        if isinstance(expr, ast.Attribute):
            return expr.attr in FRAME_ACCESSORS and self.is_frame(expr.value)
        if isinstance(expr, ast.Call):
            if (self.index.call_name(expr) or "").startswith(PANDAS_FRAME_FACTORIES):
                return True
            func = expr.func
            return (
                isinstance(func, ast.Attribute)
                and func.attr in FRAME_METHODS
                and self.is_frame(func.value)
            )
        if isinstance(expr, ast.BinOp):
            return self.is_frame(expr.left) or self.is_frame(expr.right)
        if isinstance(expr, ast.UnaryOp):
            return self.is_frame(expr.operand)
        if isinstance(expr, ast.Compare):
            return self.is_frame(expr.left)
        return False

    def is_not_pandas(self, expr: ast.AST) -> bool:
        """Whether an expression provably holds no pandas object: a torch result
        (``torch.max(x, 1)``, ``x.topk(k)``, ``x.max(dim=1)``) or a dict."""
        if isinstance(expr, ast.Name):
            value, _ = self.latest(expr)
            return value is not None and self.is_not_pandas(value)
        if isinstance(expr, ast.Dict | ast.DictComp):
            return True
        if not isinstance(expr, ast.Call):
            return False
        name = self.index.call_name(expr) or ""
        if name.startswith(TENSOR_ROOTS) or name == "dict":
            return True
        method = last_name(expr.func) if isinstance(expr.func, ast.Attribute) else None
        return method in TENSOR_ONLY_METHODS or (
            method in DIM_METHODS and keyword(expr, "dim") is not None
        )


def _values_attributes(index: ModuleIndex) -> Iterator[ast.Attribute]:
    for attr in index.nodes(ast.Attribute):
        if attr.attr != "values" or not isinstance(attr.ctx, ast.Load):
            continue
        parent = index.parent(attr)
        if isinstance(parent, ast.Call) and parent.func is attr:
            continue
        yield attr


def check_pandas_values(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW308: ``.values`` on a column selection (``df["a"].values``) or on an expression that
    holds a pandas object: a frame read with pandas or a parameter annotated ``pd.DataFrame``,
    any selection from one (``frame[TARGET]``), and pandas methods or arithmetic on those.
    ruff PD011 finds most; it skips ``.values`` passed straight into a call."""
    if not index.imports_any("pandas"):
        return
    kinds = _ValueKinds(index)
    for attr in _values_attributes(index):
        base = attr.value
        is_column = isinstance(base, ast.Subscript) and _column_key(base.slice)
        if is_column or kinds.is_frame(base):
            yield finding("TW308", attr, "use `.to_numpy()` instead of `.values`")


def non_pandas_values(index: ModuleIndex) -> set[tuple[int, int]]:
    """Where ``.values`` is read from something provably not pandas (``top.values`` after
    ``top = x.topk(k)``), as ``(line, column)`` in ruff's terms (1-based, in characters), so
    ruff PD011's findings there can be dropped."""
    if not index.imports_any("pandas") or ".values" not in index.text:
        return set()
    kinds = _ValueKinds(index)
    lines = index.text.splitlines()
    out: set[tuple[int, int]] = set()
    for attr in _values_attributes(index):
        if kinds.is_not_pandas(attr.value) and not kinds.is_frame(attr.value):
            line = lines[attr.lineno - 1] if attr.lineno <= len(lines) else ""
            prefix = line.encode("utf-8")[: attr.col_offset]
            out.add((attr.lineno, len(prefix.decode("utf-8", errors="replace")) + 1))
    return out
