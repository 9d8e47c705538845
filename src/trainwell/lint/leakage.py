"""TW210 data-leakage and TW211 refit-at-inference.

TW210 follows names through assignments within one function (or the module body). A
preprocessing step (scaler, imputer, encoder, vectorizer, selector, PCA...) leaks when it is
fitted (a) on data that is later split or cross-validated, (b) on a concatenation of train and
test, or (c) on a test/validation-named frame; so does a ``fillna``/standardisation statistic
computed over a frame that is split afterwards. A split is ``train_test_split``, CV, a fold
object's ``split``, or a same-file helper that splits its parameter (it passes it to one of
those, or returns two or more row selections of it: ``df[df.date < t], df[df.date >= t]``).
The fit may sit in a same-file helper: one that returns the fitted data to a caller that splits
it, or one that fits on its parameter when the caller splits the argument afterwards. Fitting
inside a Pipeline that CV refits, and fitting with no split at all (clustering), are fine;
label encoders are not preprocessing here.

TW211: ``fit``/``fit_transform`` of a preprocessing object (also one read from a container
under a preprocessor key, ``bundle["imputer"]``) inside inference code (functions named
``predict*``/``score*``/``infer*``/``serve*``/``forecast*``, methods of
``*Predictor``/``*Service`` classes, HTTP route handlers). A function whose name has a training
word, or that fits an estimator or loops over a CV split (``oof_predictions``), is training.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from trainwell.lint.astutil import (
    FunctionNode,
    ModuleIndex,
    RawFinding,
    ScopeNode,
    dotted,
    finding,
    last_name,
    names_in,
    position,
    root_name,
)

PREPROCESSORS = frozenset(
    {
        "StandardScaler",
        "MinMaxScaler",
        "RobustScaler",
        "MaxAbsScaler",
        "Normalizer",
        "QuantileTransformer",
        "PowerTransformer",
        "SimpleImputer",
        "KNNImputer",
        "IterativeImputer",
        "OneHotEncoder",
        "OrdinalEncoder",
        "TargetEncoder",
        "TfidfVectorizer",
        "CountVectorizer",
        "TfidfTransformer",
        "DictVectorizer",
        "SelectKBest",
        "SelectPercentile",
        "SelectFromModel",
        "RFE",
        "RFECV",
        "VarianceThreshold",
        "PCA",
        "TruncatedSVD",
        "KernelPCA",
        "FastICA",
        "NMF",
        "KBinsDiscretizer",
        "ColumnTransformer",
        "make_column_transformer",
        "SplineTransformer",
        "GenericUnivariateSelect",
        "SequentialFeatureSelector",
        "WOEEncoder",
        "CatBoostEncoder",
        "BinaryEncoder",
        "HashingEncoder",
        "LeaveOneOutEncoder",
        "CountEncoder",
    }
)
PREPROCESSOR_WORDS = (
    "scaler",
    "encoder",
    "imputer",
    "vectorizer",
    "vectoriser",
    "normalizer",
    "selector",
    "pca",
    "preprocessor",
    "preprocessing",
    "tfidf",
    "svd",
    "ohe",
    "discretizer",
)
LABEL_WORDS = frozenset({"label", "labels"})
TARGET_WORDS = frozenset({"y", "target", "targets", "label", "labels"})
ENCODER_WORDS = ("encoder", "ohe", "binarizer")
FIT_METHODS = frozenset({"fit", "fit_transform"})
SPLITTERS = frozenset({"train_test_split"})
CV_FUNCTIONS = frozenset(
    {
        "cross_val_score",
        "cross_validate",
        "cross_val_predict",
        "learning_curve",
        "validation_curve",
        "permutation_test_score",
    }
)
SEARCHES = ("SearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV")
CONCATENATORS = frozenset({"concat", "concatenate", "vstack", "r_", "row_stack", "append"})
STATISTICS = frozenset({"mean", "median", "mode", "std", "var", "min", "max", "quantile"})
TRAIN_WORDS = ("train", "trn", "fit")
HELDOUT_WORDS = ("test", "val", "valid", "validation", "holdout", "dev", "tst")
INFERENCE_WORDS = ("predict", "score", "infer", "inference", "serve", "serving", "forecast")
TRAINING_FUNCTION_WORDS = frozenset({"train", "training", "fit", "fitting", "retrain"})
ESTIMATOR_FIT_METHODS = frozenset({"fit", "partial_fit"})
INFERENCE_CLASS_SUFFIXES = ("Predictor", "Service", "Server", "Inference", "Handler", "Endpoint")
ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"}
)


def _words(name: str) -> list[str]:
    return [w for w in name.rsplit(".", 1)[-1].lower().split("_") if w]


def _has_word(name: str, words: tuple[str, ...]) -> bool:
    return any(w in words for w in _words(name))


def preprocessor_keys(index: ModuleIndex) -> set[str]:
    """Names (``scaler``, ``self.encoder``) bound to a preprocessing object in this module."""
    keys: set[str] = set()
    for assign in index.nodes(ast.Assign):
        value = assign.value
        if isinstance(value, ast.Call) and last_name(value.func) in PREPROCESSORS:
            keys.update(d for t in assign.targets if (d := dotted(t)) is not None)
    return keys


def is_preprocessor(receiver: ast.AST, keys: set[str]) -> bool:
    """Whether the receiver of ``.fit`` is a preprocessing object (also one read from a
    container under a preprocessor-like key: ``bundle["imputer"]``, ``artifacts["scaler"]``)."""
    if isinstance(receiver, ast.Call):
        return last_name(receiver.func) in PREPROCESSORS
    if isinstance(receiver, ast.Subscript):
        item = receiver.slice
        return (
            isinstance(item, ast.Constant)
            and isinstance(item.value, str)
            and any(word in item.value.lower() for word in PREPROCESSOR_WORDS)
        )
    key = dotted(receiver)
    if key is None:
        return False
    if key in keys:
        return True
    last = key.rsplit(".", 1)[-1].lower()
    if LABEL_WORDS & set(_words(last)):
        return False  # label_encoder, label_binarizer: fitted on the label vocabulary
    return any(word in last for word in PREPROCESSOR_WORDS)


def _fit_calls(index: ModuleIndex, keys: set[str]) -> list[ast.Call]:
    return [
        call
        for call in index.calls
        if isinstance(call.func, ast.Attribute)
        and call.func.attr in FIT_METHODS
        and is_preprocessor(call.func.value, keys)
    ]


@dataclass
class Flow:
    """Name lineage and split events of one scope."""

    ancestors: dict[str, set[str]] = field(default_factory=dict)
    concatenated: set[str] = field(default_factory=set)
    splits: list[tuple[tuple[int, int], set[str]]] = field(default_factory=list)

    def lineage(self, name: str) -> set[str]:
        """``name`` and every name it was computed from."""
        return {name} | self.ancestors.get(name, set())

    def split_later(self, names: set[str], after: tuple[int, int]) -> bool:
        """Whether data derived from ``names`` is split or cross-validated after ``after``."""
        for at, used in self.splits:
            if at <= after:
                continue
            for name in used:
                if self.lineage(name) & names:
                    return True
        return False


def _is_concat(index: ModuleIndex, value: ast.AST) -> bool:
    if not isinstance(value, ast.Call | ast.Subscript):
        return False
    func = value.func if isinstance(value, ast.Call) else value.value
    if last_name(func) not in CONCATENATORS:
        return False
    names = names_in(value)
    if isinstance(func, ast.Attribute):
        receiver = root_name(func.value)
        if receiver and receiver not in index.aliases:
            names.add(receiver)
    return any(_has_word(n, TRAIN_WORDS) for n in names) and any(
        _has_word(n, HELDOUT_WORDS) for n in names
    )


def _split_names(index: ModuleIndex, call: ast.Call, searches: set[str]) -> set[str] | None:
    name = last_name(call.func) or ""
    helper = index.resolve_local_function(call)
    if helper is not None:
        params = split_helper_params(index, helper)
        if params is None:
            return None
        bound = bound_arguments(index, helper, call)
        used = [bound[p] for p in params if p in bound]
        return set().union(*(names_in(a) for a in used)) if used else set()
    if name in SPLITTERS:
        return set().union(*(names_in(a) for a in call.args)) if call.args else set()
    if name in CV_FUNCTIONS:
        return set().union(*(names_in(a) for a in call.args[1:])) if len(call.args) > 1 else set()
    if isinstance(call.func, ast.Attribute):
        receiver = call.func.value
        key = dotted(receiver) or ""
        is_search = key in searches or (
            isinstance(receiver, ast.Call) and (last_name(receiver.func) or "").endswith(SEARCHES)
        )
        if call.func.attr == "fit" and is_search:
            return set().union(*(names_in(a) for a in call.args)) if call.args else set()
        if call.func.attr == "split" and (
            "fold" in key.lower()
            or "cv" in key.lower().split("_")
            or (isinstance(receiver, ast.Call) and "Fold" in (last_name(receiver.func) or ""))
        ):
            return set().union(*(names_in(a) for a in call.args)) if call.args else set()
    return None


def build_flow(index: ModuleIndex, scope: ScopeNode) -> Flow:
    """Lineage of the names assigned in a scope, and where data is split."""
    flow = Flow()
    searches = {
        d
        for a in index.nodes(ast.Assign)
        if isinstance(a.value, ast.Call) and (last_name(a.value.func) or "").endswith(SEARCHES)
        for t in a.targets
        if (d := dotted(t)) is not None
    }
    candidates: list[ast.Assign | ast.AnnAssign | ast.AugAssign] = [
        *index.nodes(ast.Assign),
        *index.nodes(ast.AnnAssign),
        *index.nodes(ast.AugAssign),
    ]
    statements = sorted(
        (node for node in candidates if index.scope(node) is scope),
        key=position,
    )
    for stmt in statements:
        if stmt.value is None:
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        sources = names_in(stmt.value)
        origin: set[str] = set()
        for source in sources:
            origin |= flow.lineage(source)
        concat = _is_concat(index, stmt.value) or bool(sources & flow.concatenated)
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    previous = flow.ancestors.get(node.id, set())
                    keep = (
                        previous
                        if isinstance(stmt, ast.AugAssign)
                        or not isinstance(target, ast.Name | ast.Tuple | ast.List)
                        else set()
                    )
                    flow.ancestors[node.id] = (keep | origin) - {node.id}
                    if concat:
                        flow.concatenated.add(node.id)
    for call in index.calls_in_scope(scope):
        used = _split_names(index, call, searches)
        if used is not None:
            flow.splits.append((position(call), used))
    return flow


def _input_names(call: ast.Call) -> set[str]:
    if call.args:
        return names_in(call.args[0])
    for kw in call.keywords:
        if kw.arg in {"X", "raw_documents", "x"}:
            return names_in(kw.value)
    return set()


def check_leakage(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW210: preprocessing fitted on data that includes held-out rows."""
    if not index.imports_any("sklearn", "pandas", "category_encoders", "numpy"):
        return
    if not index.mentions("fit", "fillna", "mean(", "std("):
        return
    keys = preprocessor_keys(index)
    flows: dict[ScopeNode, Flow] = {}
    reported: set[int] = set()
    for call in _fit_calls(index, keys):
        scope = index.scope(call)
        if scope not in flows:
            flows[scope] = build_flow(index, scope)
        flow = flows[scope]
        inputs = _input_names(call)
        lineage: set[str] = set()
        for name in inputs:
            lineage |= flow.lineage(name)
        if _encodes_labels(call, inputs):
            continue
        reason = ""
        if (call.args and _is_concat(index, call.args[0])) or inputs & flow.concatenated:
            reason = "on train and test together"
        elif any(_has_word(n, HELDOUT_WORDS) for n in inputs) and not _in_pytest_test(index, call):
            reason = "on held-out data"
        elif inputs and flow.split_later(inputs, position(call)):
            reason = "before the data is split"
        elif inputs and (
            _split_by_callers(index, flows, call, inputs | _assigned_names(index, call))
            or _caller_splits_argument(index, flows, call, lineage)
        ):
            reason = "before the caller splits the data"
        if reason and id(call) not in reported:
            reported.add(id(call))
            yield finding("TW210", call, f"`{call.func.attr}` {reason}")  # type: ignore[attr-defined]
    yield from _statistics_before_split(index, flows)


def _encodes_labels(call: ast.Call, inputs: set[str]) -> bool:
    """An encoder fitted on the target alone (``OneHotEncoder().fit_transform(y)``): it learns
    the label vocabulary, as a label encoder does."""
    if not inputs or not all(TARGET_WORDS & set(_words(n)) for n in inputs):
        return False
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if isinstance(receiver, ast.Call):
        name = (last_name(receiver.func) or "").lower()
    else:
        name = (dotted(receiver) or "").rsplit(".", 1)[-1].lower() if receiver else ""
    return any(word in name for word in ENCODER_WORDS)


def _in_pytest_test(index: ModuleIndex, call: ast.Call) -> bool:
    """Inside a pytest test function, where ``test_data`` names the test's input, not a
    held-out split."""
    func = index.enclosing_function(call)
    return index.is_test_file and func is not None and func.name.startswith("test")


def _statistics_before_split(
    index: ModuleIndex, flows: dict[ScopeNode, Flow]
) -> Iterator[RawFinding]:
    """``df.fillna(df.mean())`` or ``(x - x.mean()) / x.std()`` on data split afterwards."""
    for call in index.calls:
        if last_name(call.func) not in STATISTICS or not isinstance(call.func, ast.Attribute):
            continue
        base = root_name(call.func.value)
        if base is None or base in index.aliases:
            continue
        statement = next((a for a in index.ancestors(call) if isinstance(a, ast.stmt)), None)
        if statement is None:
            continue
        uses_fillna = any(
            isinstance(n, ast.Call) and last_name(n.func) == "fillna" for n in ast.walk(statement)
        )
        normalises = isinstance(statement, ast.Assign) and any(
            isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub | ast.Div)
            for n in ast.walk(statement.value)
        )
        if not (uses_fillna or normalises):
            continue
        scope = index.scope(call)
        if scope not in flows:
            flows[scope] = build_flow(index, scope)
        if (
            flows[scope].split_later({base}, position(statement))
            or _split_by_callers(index, flows, call, {base})
            or _caller_splits_argument(index, flows, call, flows[scope].lineage(base))
        ):
            yield finding(
                "TW210", statement, f"statistic of `{base}` computed before the data is split"
            )


def _assigned_names(index: ModuleIndex, node: ast.AST) -> set[str]:
    """Names assigned by the statement that contains ``node``."""
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, ast.Assign):
            return {n.id for t in ancestor.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if isinstance(ancestor, ast.stmt):
            return set()
    return set()


def _split_by_callers(
    index: ModuleIndex, flows: dict[ScopeNode, Flow], node: ast.AST, tainted: set[str]
) -> bool:
    """Whether the function around ``node`` returns data derived from ``tainted`` to a
    same-file caller that splits it afterwards."""
    func = index.enclosing_function(node)
    if func is None:
        return False
    if func not in flows:
        flows[func] = build_flow(index, func)
    flow = flows[func]
    returned: set[str] = set()
    for ret in ast.walk(func):
        if isinstance(ret, ast.Return) and ret.value is not None and index.scope(ret) is func:
            for name in names_in(ret.value):
                returned |= flow.lineage(name)
            if any(n is node for n in ast.walk(ret.value)):
                returned |= tainted
    if not returned & tainted:
        return False
    for site in index.calls:
        if index.resolve_local_function(site) is not func:
            continue
        scope = index.scope(site)
        if scope not in flows:
            flows[scope] = build_flow(index, scope)
        if flows[scope].split_later({func.name}, position(site)):
            return True
    return False


# --- same-file split helpers -------------------------------------------------------------------

ROW_SELECTORS = frozenset({"iloc", "loc"})
ROW_METHODS = frozenset({"query", "isin", "between", "notna", "isna", "notnull", "isnull"})
PASS_THROUGH_METHODS = frozenset({"copy", "reset_index", "sort_index", "dropna", "astype"})


def parameter_names(func: FunctionNode) -> list[str]:
    """A def's parameters in binding order (``self``/``cls`` included)."""
    args = func.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def bound_arguments(index: ModuleIndex, func: FunctionNode, call: ast.Call) -> dict[str, ast.expr]:
    """Which argument expression of a same-file call binds which parameter of ``func``."""
    args = func.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    if index.enclosing_class(func) is not None and isinstance(call.func, ast.Attribute):
        positional = positional[1:]  # self.helper(...) binds self implicitly
    out: dict[str, ast.expr] = {}
    for name, value in zip(positional, call.args, strict=False):
        if not isinstance(value, ast.Starred):
            out[name] = value
    for kw in call.keywords:
        if kw.arg is not None:
            out[kw.arg] = kw.value
    return out


def _is_mask(expr: ast.AST, masks: set[str]) -> bool:
    """A boolean row mask (``df["date"] < cutoff``, ``~m``, ``a & b``, ``s.isin(v)``) or a
    positional slice (``[:n]``)."""
    if isinstance(expr, ast.Compare | ast.BoolOp | ast.Slice):
        return True
    if isinstance(expr, ast.UnaryOp):
        return isinstance(expr.op, ast.Invert | ast.Not)
    if isinstance(expr, ast.BinOp):
        return isinstance(expr.op, ast.BitAnd | ast.BitOr | ast.BitXor)
    if isinstance(expr, ast.Call):
        return last_name(expr.func) in ROW_METHODS
    return isinstance(expr, ast.Name) and expr.id in masks


def _row_subset_of(expr: ast.AST, masks: set[str]) -> ast.AST | None:
    """The frame ``expr`` selects rows of (``df[mask]``, ``df.iloc[:n]``, ``df.loc[idx]``,
    ``df.query(...)``), looking through ``.copy()``/``.reset_index()``; None if not a row
    selection."""
    while (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr in PASS_THROUGH_METHODS
    ):
        expr = expr.func.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        return expr.func.value if expr.func.attr == "query" else None
    if not isinstance(expr, ast.Subscript):
        return None
    base = expr.value
    if isinstance(base, ast.Attribute) and base.attr in ROW_SELECTORS:
        key = expr.slice
        rows = key.elts[0] if isinstance(key, ast.Tuple) and key.elts else key
        full = isinstance(rows, ast.Slice) and rows.lower is None and rows.upper is None
        return None if full else base.value
    return base if _is_mask(expr.slice, masks) else None


def split_helper_params(index: ModuleIndex, func: FunctionNode) -> list[str] | None:
    """The parameters a same-file function splits into row subsets, None if it does not split.

    A function splits a parameter when it passes it (or data derived from it) to a recognised
    splitter or cross-validation, or when it returns two or more row selections of it
    (``return df[df.date < cutoff], df[df.date >= cutoff]``, ``df.iloc[:n], df.iloc[n:]``).
    """
    memo = cast("dict[FunctionNode, list[str] | None]", index.memo.setdefault("split_helpers", {}))
    if func in memo:
        return memo[func]
    memo[func] = None  # a recursive helper is not a split while it is being decided
    params = [p for p in parameter_names(func) if p not in {"self", "cls"}]
    flow = build_flow(index, func)
    derived = {p: {p} for p in params}
    for name in flow.ancestors:
        for p in set(params) & flow.lineage(name):
            derived[p].add(name)
    split: list[str] = []
    for p in params:
        if any(used & derived[p] for _, used in flow.splits):
            split.append(p)
    masks = {
        t.id
        for a in index.in_scope(ast.Assign, func)
        if _is_mask(a.value, set())
        for t in a.targets
        if isinstance(t, ast.Name)
    }
    subsets: dict[str, ast.AST] = {}
    for assign in index.in_scope(ast.Assign, func):
        base = _row_subset_of(assign.value, masks)
        if base is not None:
            subsets.update((t.id, base) for t in assign.targets if isinstance(t, ast.Name))
    for ret in index.in_scope(ast.Return, func):
        if not isinstance(ret.value, ast.Tuple) or len(ret.value.elts) < len("ab"):
            continue
        bases: list[ast.AST] = []
        for element in ret.value.elts:
            base = (
                subsets.get(element.id)
                if isinstance(element, ast.Name)
                else _row_subset_of(element, masks)
            )
            if base is not None:
                bases.append(base)
        if len(bases) < len("ab"):
            continue
        for p in params:
            if p not in split and all(
                (root := root_name(b)) is not None and root in derived[p] for b in bases
            ):
                split.append(p)
    memo[func] = split or None
    return memo[func]


def _caller_splits_argument(
    index: ModuleIndex, flows: dict[ScopeNode, Flow], node: ast.AST, lineage: set[str]
) -> bool:
    """Whether ``node`` fits on a parameter of its function whose argument the same-file
    caller splits after the call (``scaler = fit_scaler(df)`` then ``split(df)``)."""
    func = index.enclosing_function(node)
    if func is None:
        return False
    params = set(parameter_names(func)) & lineage
    if not params:
        return False
    for site in index.calls:
        if index.resolve_local_function(site) is not func:
            continue
        bound = bound_arguments(index, func, site)
        names = set().union(*(names_in(bound[p]) for p in params if p in bound))
        if not names:
            continue
        scope = index.scope(site)
        if scope not in flows:
            flows[scope] = build_flow(index, scope)
        if flows[scope].split_later(names, position(site)):
            return True
    return False


def _is_training_function(index: ModuleIndex, func: FunctionNode, keys: set[str]) -> bool:
    """Training code, even when its name mentions predictions (``oof_predictions``): a name
    with a training word, or a body that fits an estimator or loops over a CV split."""
    if TRAINING_FUNCTION_WORDS & set(_words(func.name)):
        return True
    for call in index.calls_in_scope(func):
        if _split_names(index, call, set()) is not None:
            return True
        func_expr = call.func
        if (
            isinstance(func_expr, ast.Attribute)
            and func_expr.attr in ESTIMATOR_FIT_METHODS
            and not is_preprocessor(func_expr.value, keys)
        ):
            return True
    return False


def _is_inference_function(index: ModuleIndex, call: ast.Call, keys: set[str]) -> bool:
    for func in index.enclosing_functions(call):
        name = func.name.lower()
        if any(w.startswith(INFERENCE_WORDS) for w in _words(name)) or "incoming" in name:
            return not _is_training_function(index, func, keys)
        if name == "transform_for_inference":
            return True
        for decorator in func.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if last_name(target) in ROUTE_DECORATORS and isinstance(target, ast.Attribute):
                return True
        cls = index.enclosing_class(func)
        if cls is not None and cls.name.endswith(INFERENCE_CLASS_SUFFIXES):
            return True
    return False


def check_refit(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW211: preprocessing re-fitted inside inference code."""
    if not index.mentions("fit"):
        return
    keys = preprocessor_keys(index)
    for call in _fit_calls(index, keys):
        func = index.enclosing_function(call)
        if index.is_test_file and func is not None and func.name.startswith("test"):
            continue
        if _is_inference_function(index, call, keys):
            method = call.func.attr  # type: ignore[attr-defined]
            yield finding("TW211", call, f"`{method}` at inference re-learns the preprocessing")
