"""TW209 hparams-not-logged: each experiment-tracker run must log its hyperparameters.

A run is ``with mlflow.start_run(...)`` (its body, minus nested runs), a bare
``mlflow.start_run()`` (the statements after it until ``end_run``), or ``wandb.init(...)``
(fine with ``config=``; otherwise the statements after it must update ``config``).
``mlflow.autolog()`` (any flavour) anywhere in the module covers every MLflow run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainwell.lint.astutil import (
    ModuleIndex,
    RawFinding,
    ScopeNode,
    dotted,
    finding,
    has_star_kwargs,
    is_constant,
    keyword,
    last_name,
    position,
)

START_RUN = "mlflow.start_run"
END_RUN = "mlflow.end_run"
WANDB_INIT = "wandb.init"
PARAM_LOGGING_WORDS = ("log_param", "log_hparam", "log_hyperparam", "log_config")
CONFIG_UPDATES = frozenset({"update", "setdefaults", "setdefault"})
MAX_DEPTH = 3

Span = tuple[tuple[int, int], tuple[int, int]]


def _span(first: ast.AST, last: ast.AST) -> Span:
    return position(first), (
        getattr(last, "end_lineno", 0) or 0,
        getattr(last, "end_col_offset", 0) or 0,
    )


def _inside(node: ast.AST, span: Span) -> bool:
    return span[0] <= position(node) <= span[1]


class RunCheck:
    """Decides whether the calls in a region log parameters."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index

    def logs_params(self, call: ast.Call, depth: int = 0) -> bool:
        """Whether one call logs parameters (directly or through a same-file helper)."""
        name = (last_name(call.func) or "").lower()
        if any(word in name for word in PARAM_LOGGING_WORDS):
            return True
        if name in CONFIG_UPDATES and isinstance(call.func, ast.Attribute):
            receiver = dotted(call.func.value) or ""
            if receiver.endswith("config"):
                return True
        helper = self.index.resolve_local_function(call)
        if helper is not None and depth < MAX_DEPTH:
            return any(self.logs_params(c, depth + 1) for c in self.index.calls_in_scope(helper))
        return False

    def region_logs(self, scope: ScopeNode, span: Span, holes: list[Span]) -> bool:
        """Whether a region of a scope logs parameters (or assigns to ``*.config``)."""
        for call in self.index.calls_in_scope(scope):
            inside = _inside(call, span) and not any(_inside(call, h) for h in holes)
            if inside and self.logs_params(call):
                return True
        assigns: list[ast.Assign | ast.AugAssign] = [
            *self.index.nodes(ast.Assign),
            *self.index.nodes(ast.AugAssign),
        ]
        for assign in assigns:
            if self.index.scope(assign) is not scope or not _inside(assign, span):
                continue
            targets = assign.targets if isinstance(assign, ast.Assign) else [assign.target]
            for target in targets:
                base = target.value if isinstance(target, ast.Subscript | ast.Attribute) else None
                if base is not None and (dotted(base) or "").endswith("config"):
                    return True
        return False


def _autologged(index: ModuleIndex) -> bool:
    return any(
        (index.call_name(call) or "").startswith("mlflow.") and last_name(call.func) == "autolog"
        for call in index.calls
    )


def _scope_end(scope: ScopeNode) -> ast.AST:
    body = scope.body
    return body[-1] if isinstance(body, list) and body else scope


def check_hparams(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW209: a tracker run that logs no hyperparameters."""
    if not index.imports_any("mlflow", "wandb"):
        return
    check = RunCheck(index)
    autolog = _autologged(index)
    with_runs: list[tuple[ast.With | ast.AsyncWith, ast.Call]] = []
    for with_node in index.withs:
        for item in with_node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Call) and index.call_name(expr) == START_RUN:
                with_runs.append((with_node, expr))
    with_calls = {id(call) for _, call in with_runs}
    run_spans = [_span(w.body[0], w.body[-1]) for w, _ in with_runs]
    for (with_node, call), span in zip(with_runs, run_spans, strict=True):
        if autolog:
            continue
        holes = [other for other in run_spans if other != span and _inside_span(other, span)]
        if not check.region_logs(index.scope(with_node), span, holes):
            yield finding("TW209", call, "this MLflow run logs no hyperparameters")
    for call in index.calls:
        name = index.call_name(call)
        if name == START_RUN and id(call) not in with_calls and not autolog:
            scope = index.scope(call)
            end = next(
                (
                    c
                    for c in index.calls_in_scope(scope)
                    if index.call_name(c) == END_RUN and position(c) > position(call)
                ),
                _scope_end(scope),
            )
            span = _span(call, end)
            holes = [s for s in run_spans if _inside_span(s, span)]
            if not check.region_logs(scope, span, holes):
                yield finding("TW209", call, "this MLflow run logs no hyperparameters")
        elif name == WANDB_INIT:
            config = keyword(call, "config")
            if has_star_kwargs(call) or (
                config is not None and not is_constant(config.value, None)
            ):
                continue
            scope = index.scope(call)
            span = _span(call, _scope_end(scope))
            if not check.region_logs(scope, span, []):
                yield finding("TW209", call, "`wandb.init` without `config=` and no config update")


def _inside_span(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] and inner != outer
