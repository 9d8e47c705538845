"""Validation and inference hygiene: TW204 eval-mode-missing, TW205 no-grad-missing.

A *validation scope* is a function named for evaluation (``evaluate``, ``validate``, ``test``,
``predict``, ``infer``, ``score`` as a word of its name), a ``with torch.no_grad()`` /
``inference_mode()`` block, or a loop over a ``val``/``test`` loader. In such a scope each model
forward call (``model(x)``, ``self.net(x)``, ``model.forward(x)``) needs:

- eval mode: the latest mode switch before the call, on the path through loops, is ``.eval()``
  (or ``.train(False)``), made in the same function, in a same-file helper the model is passed
  to, by the same-file callers of the function, at load time (a constructor or loader that
  calls ``.eval()``, ``from_pretrained``), or once for the object (``self.model.eval()`` in
  ``__init__`` with no ``.train()`` anywhere in the class);
- no-grad: a ``no_grad``/``inference_mode``/``set_grad_enabled(False)`` block or decorator
  around it, or every same-file caller of its function calling it under one.

Lightning modules, pytest tests and scopes that call ``backward()`` are not validation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

from trainwell.lint.astutil import (
    FUNCTION_TYPES,
    LOOP_TYPES,
    WITH_TYPES,
    FunctionNode,
    ModuleIndex,
    RawFinding,
    ScopeNode,
    dotted,
    finding,
    is_constant,
    keyword,
    last_name,
    position,
)

Mode = Literal["eval", "train"]
VALIDATION_WORDS = ("eval", "valid", "test", "predict", "infer", "score")
LOADER_WORDS = ("val", "valid", "validation", "test", "eval", "holdout", "dev")
MODEL_WORDS = frozenset(
    {
        "model",
        "net",
        "network",
        "encoder",
        "decoder",
        "teacher",
        "student",
        "classifier",
        "backbone",
        "generator",
        "discriminator",
        "critic",
        "actor",
        "policy",
        "module",
        "detector",
        "segmenter",
        "autoencoder",
        "regressor",
        "ema",
        "tower",
    }
)
MODEL_SUFFIXES = ("model", "net", "former", "coder")
NOT_MODEL_WORDS = frozenset(
    {
        "name",
        "names",
        "path",
        "dir",
        "cfg",
        "config",
        "id",
        "type",
        "kwargs",
        "args",
        "file",
        "class",
        "cls",
        "factory",
        "builder",
        "fn",
        "params",
        "parameters",
        "state",
        "dict",
        "output",
        "outputs",
        "registry",
        "card",
        "version",
        "info",
        "uri",
        "url",
        "size",
    }
)
LIGHTNING_HOOKS = frozenset(
    {
        "validation_step",
        "test_step",
        "predict_step",
        "on_validation_epoch_end",
        "on_test_epoch_end",
        "validation_epoch_end",
        "test_epoch_end",
        "on_validation_start",
        "on_test_start",
        "on_predict_start",
    }
)
NO_GRAD_CONTEXTS = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.inference_mode",
    }
)
SET_GRAD = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled"})
DEVICE_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16"})
EVAL_LOADERS = frozenset({"from_pretrained"})
NOT_TORCH_MODELS = (
    "sklearn.",
    "xgboost.",
    "lightgbm.",
    "catboost.",
    "joblib.",
    "skops.",
    "pickle.",
    "mlflow.",
    "onnxruntime.",
)
PIPELINE_FACTORIES = frozenset({"transformers.pipeline", "pipeline"})
EVAL_HELPER_WORDS = ("eval_mode", "set_eval", "to_eval", "evaluation_mode", "inference_mode")
MAX_DEPTH = 3
NAME_CACHE_SIZE = 8192
LOSS_WORDS = ("loss", "criterion", "metric")
TORCH_MODULE_TYPES = ("nn.Module", "torch.nn.Module", "LightningModule", "PreTrainedModel")
MODEL_FACTORIES = ("torchvision.models.", "timm.create_model", "torch.nn.Sequential")
FROZEN_MODEL_WORDS = frozenset({"teacher", "target", "frozen", "reference", "ref", "ema"})
BACKWARD = "backward"
SHORT_NET_NAME = len("netG")
EVAL_LOADER_FUNCTIONS = frozenset({"torch.jit.load", "torch.export.load"})
PROPERTY_DECORATORS = frozenset({"property", "cached_property"})


def _words(name: str) -> list[str]:
    return [w for w in name.lower().split("_") if w]


@lru_cache(maxsize=NAME_CACHE_SIZE)
def is_validation_name(name: str) -> bool:
    """``evaluate``, ``run_validation``, ``predict_batch``... (whole words, not ``latest``)."""
    words = _words(name)
    if "train" in words or "training" in words:
        return False
    return any(w.startswith(VALIDATION_WORDS) for w in words)


@lru_cache(maxsize=NAME_CACHE_SIZE)
def is_model_name(name: str) -> bool:
    """``model``, ``self.net``, ``teacher_model``, ``resnet``... but not ``model_path``."""
    words = _words(name.rsplit(".", 1)[-1])
    if not words or words[-1] in NOT_MODEL_WORDS:
        return False
    return any(
        w in MODEL_WORDS
        or w.endswith(MODEL_SUFFIXES)
        or (w.startswith("net") and len(w) <= SHORT_NET_NAME)
        for w in words
    )


@dataclass(frozen=True)
class Event:
    """A mode switch of one model at one place."""

    line: int
    column: int
    mode: Mode


def _strip_device(expr: ast.AST) -> ast.AST:
    """``model.to(device)`` -> ``model``."""
    while (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr in DEVICE_METHODS
    ):
        expr = expr.func.value
    return expr


def _switch_mode(call: ast.Call) -> Mode | None:
    """``x.eval()`` -> eval; ``x.train()`` -> train; ``x.train(False)`` -> eval."""
    if not isinstance(call.func, ast.Attribute):
        return None
    if call.func.attr == "eval" and not call.args:
        return "eval"
    if call.func.attr != "train":
        return None
    flag = call.args[0] if call.args else None
    mode_kw = keyword(call, "mode")
    if mode_kw is not None:
        flag = mode_kw.value
    if flag is None or is_constant(flag, True):
        return "train"
    if is_constant(flag, False):
        return "eval"
    return None


class ModeAnalysis:
    """Mode and grad facts for one module."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.module_classes = {c.name: c for c in index.nodes(ast.ClassDef)}
        self.torch_module_classes = self._torch_module_classes()
        self.lightning_classes = {
            c
            for c in index.nodes(ast.ClassDef)
            if any("Lightning" in (index.qualname(b) or "") for b in c.bases)
        }
        self._call_sites: dict[FunctionNode, list[ast.Call]] | None = None
        self._events: dict[tuple[ScopeNode, str, int], list[Event]] = {}
        self.known_models = self._known_models()

    # --- facts ---------------------------------------------------------------------------------

    def _torch_module_classes(self) -> set[str]:
        names: set[str] = set()
        for cls in sorted(self.index.nodes(ast.ClassDef), key=lambda c: c.lineno):
            for base in cls.bases:
                qual = self.index.qualname(base) or ""
                if qual.endswith(("nn.Module", "LightningModule", "PreTrainedModel")) or (
                    qual in names
                ):
                    names.add(cls.name)
        return names

    def _is_module_annotation(self, annotation: ast.AST | None) -> bool:
        if annotation is None:
            return False
        text = self.index.qualname(annotation) or ""
        return text.endswith(TORCH_MODULE_TYPES) or text in self.torch_module_classes

    def _known_models(self) -> set[str]:
        """Names typed or built as torch modules: ``model: nn.Module``, ``net = MyNet()``."""
        names: set[str] = set()
        for func in self.index.functions:
            args = func.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if self._is_module_annotation(arg.annotation):
                    names.add(arg.arg)
        for assign in self.index.nodes(ast.Assign):
            value = _strip_device(assign.value)
            if isinstance(value, ast.Call):
                name = self.index.call_name(value) or ""
                if name in self.torch_module_classes or name.startswith(MODEL_FACTORIES):
                    names.update(d for t in assign.targets if (d := dotted(t)) is not None)
        return names

    def call_sites(self, func: FunctionNode) -> list[ast.Call]:
        """Same-file calls of a function."""
        if self._call_sites is None:
            table: dict[FunctionNode, list[ast.Call]] = {}
            for call in self.index.calls:
                target = self.index.resolve_local_function(call)
                if target is not None:
                    table.setdefault(target, []).append(call)
            self._call_sites = table
        return self._call_sites.get(func, [])

    def is_constructed_model(self, value: ast.AST) -> Mode | None:
        """The mode of a freshly assigned model: ``Net()`` -> train, ``x.eval()`` -> eval,
        ``AutoModel.from_pretrained(...)`` -> eval, a same-file loader -> its last switch."""
        value = _strip_device(value) if not _is_eval_chain(value) else value
        if not isinstance(value, ast.Call):
            return None
        mode = _switch_mode(value)
        if mode is not None:
            return mode
        if isinstance(value.func, ast.Attribute) and value.func.attr in EVAL_LOADERS:
            return "eval"
        name = self.index.call_name(value) or ""
        if name in EVAL_LOADER_FUNCTIONS:
            return "eval"
        if name in self.torch_module_classes or name.startswith(("torchvision.models.", "timm.")):
            return "train"
        local = self.index.resolve_local_function(value)
        if local is not None:
            return self._returned_mode(local)
        return None

    def _returned_mode(self, func: FunctionNode) -> Mode | None:
        returned = [
            r.value
            for r in ast.walk(func)
            if isinstance(r, ast.Return) and r.value is not None and self.index.scope(r) is func
        ]
        for value in returned:
            key = dotted(_strip_device(value))
            if key is None:
                mode = self.is_constructed_model(value)
                if mode is not None:
                    return mode
                continue
            events = self.events(func, key, depth=MAX_DEPTH)
            if events:
                return events[-1].mode
        return None

    # --- events --------------------------------------------------------------------------------

    def events(self, scope: ScopeNode, key: str, depth: int = 0) -> list[Event]:
        """Mode switches of ``key`` in a scope, in source order (memoised: the same scope and
        key are asked about once per forward call otherwise)."""
        memo_key = (scope, key, depth)
        cached = self._events.get(memo_key)
        if cached is None:
            cached = self._events[memo_key] = self._find_events(scope, key, depth)
        return cached

    def _find_events(self, scope: ScopeNode, key: str, depth: int) -> list[Event]:
        index = self.index
        out: list[Event] = []
        for call in index.calls_in_scope(scope):
            mode = self._call_event(call, key, depth)
            if mode is not None:
                out.append(Event(call.lineno, call.col_offset, mode))
        for assign in index.in_scope(ast.Assign, scope):
            if any(dotted(t) == key for t in assign.targets):
                mode = self.is_constructed_model(assign.value)
                if mode is not None:
                    out.append(Event(assign.lineno, assign.col_offset, mode))
        withs: list[ast.With | ast.AsyncWith] = [
            *index.in_scope(ast.With, scope),
            *index.in_scope(ast.AsyncWith, scope),
        ]
        for with_node in withs:
            for item in with_node.items:
                expr = item.context_expr
                if (
                    isinstance(expr, ast.Call)
                    and _is_eval_helper(last_name(expr.func) or "")
                    and any(dotted(a) == key for a in expr.args)
                ):
                    out.append(Event(with_node.lineno, with_node.col_offset, "eval"))
        out.sort(key=lambda e: (e.line, e.column))
        return out

    def _call_event(self, call: ast.Call, key: str, depth: int) -> Mode | None:
        mode = _switch_mode(call)
        if mode is not None:
            receiver = (
                dotted(_strip_device(call.func.value))
                if isinstance(call.func, ast.Attribute)
                else None
            )
            return mode if receiver == key else None
        args_match = [i for i, a in enumerate(call.args) if dotted(_strip_device(a)) == key]
        kw_match = [kw.arg for kw in call.keywords if kw.arg and dotted(kw.value) == key]
        helper = self.index.resolve_local_function(call)
        if helper is not None and depth < MAX_DEPTH:
            is_method_call = isinstance(call.func, ast.Attribute)
            params = [a.arg for a in [*helper.args.posonlyargs, *helper.args.args]]
            if is_method_call and params and params[0] in {"self", "cls"}:
                params = params[1:]
            targets = [params[i] for i in args_match if i < len(params)] + [
                k for k in kw_match if k is not None
            ]
            if is_method_call and key.startswith("self."):
                targets.append(key)
            for target in targets:
                events = self.events(helper, target, depth + 1)
                if events:
                    return events[-1].mode
            return None
        if (args_match or kw_match) and _is_eval_helper(last_name(call.func) or ""):
            return "eval"
        return None

    # --- decisions -----------------------------------------------------------------------------

    def latest_mode(self, scope: ScopeNode, key: str, call: ast.Call) -> tuple[bool, Mode | None]:
        """(whether any switch exists in the scope, the mode in force at ``call``)."""
        events = self.events(scope, key)
        if not events:
            return False, None
        here = position(call)
        before = [e for e in events if (e.line, e.column) < here]
        latest: Mode | None = before[-1].mode if before else None
        for loop in self.index.loops_between(call, scope):
            start = position(loop)
            end = (loop.end_lineno or loop.lineno, loop.end_col_offset or 0)
            inside = [e for e in events if start <= (e.line, e.column) <= end]
            if any((e.line, e.column) < here for e in inside):
                break
            if inside:
                if inside[-1].mode == "train":
                    latest = "train"
                break
        return True, latest

    def eval_ok(self, call: ast.Call, key: str, depth: int = 0) -> bool:
        """Whether the model is in eval mode at this forward call."""
        index = self.index
        scope = index.scope(call)
        found, mode = self.latest_mode(scope, key, call)
        if found and mode is not None:
            return mode == "eval"
        func = index.enclosing_function(call)
        root = key.split(".", maxsplit=1)[0]
        if root in {"self", "cls"}:
            return self._object_mode_ok(call, key)
        if func is None:
            return False
        params = [a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]]
        if root in params:
            return self._callers_ok(func, params, root, key, depth)
        module_events = self.events(index.tree, key)
        if module_events and not isinstance(scope, ast.Module):
            return all(e.mode == "eval" for e in module_events)
        return False

    def _object_mode_ok(self, call: ast.Call, key: str) -> bool:
        cls = self.index.enclosing_class(call)
        if cls is None:
            return False
        final_modes: set[Mode] = set()
        for method in cls.body:
            if isinstance(method, FUNCTION_TYPES):
                events = self.events(method, key)
                if events:
                    final_modes.add(events[-1].mode)
        return final_modes == {"eval"}

    def _callers_ok(
        self, func: FunctionNode, params: list[str], root: str, key: str, depth: int
    ) -> bool:
        sites = self.call_sites(func)
        if not sites or depth >= MAX_DEPTH:
            return False
        position_of = params.index(root)
        offset = 1 if params and params[0] in {"self", "cls"} else 0
        for site in sites:
            arg: ast.AST | None = None
            kw = keyword(site, root)
            if kw is not None:
                arg = kw.value
            elif position_of - offset < len(site.args) and position_of - offset >= 0:
                arg = site.args[position_of - offset]
            caller_key = dotted(_strip_device(arg)) if arg is not None else None
            if caller_key is None:
                return False
            suffix = key[len(root) :]
            if not self.eval_ok(site, caller_key + suffix, depth + 1):
                return False
        return True

    def in_no_grad(self, node: ast.AST) -> bool:
        """Lexically under a no-grad block, decorator, or after set_grad_enabled(False)."""
        index = self.index
        for ancestor in index.ancestors(node):
            if isinstance(ancestor, WITH_TYPES) and any(
                self._is_no_grad(item.context_expr) for item in ancestor.items
            ):
                return True
            if isinstance(ancestor, FUNCTION_TYPES) and any(
                self._is_no_grad(d) for d in ancestor.decorator_list
            ):
                return True
        scope = index.scope(node)
        here = position(node)
        for call in [*index.calls_in_scope(scope), *index.calls_in_scope(index.tree)]:
            if (
                index.call_name(call) in SET_GRAD
                and call.args
                and is_constant(call.args[0], False)
                and (position(call) < here or index.scope(call) is not scope)
                and not isinstance(index.parent(call), ast.withitem)
            ):
                return True
        return False

    def _is_no_grad(self, expr: ast.AST) -> bool:
        target = expr.func if isinstance(expr, ast.Call) else expr
        name = self.index.qualname(target) or ""
        if name in NO_GRAD_CONTEXTS:
            return True
        return (
            isinstance(expr, ast.Call)
            and name in SET_GRAD
            and bool(expr.args)
            and is_constant(expr.args[0], False)
        )

    def no_grad_ok(self, call: ast.Call, depth: int = 0) -> bool:
        """Whether a forward call runs without building a graph."""
        if self.in_no_grad(call):
            return True
        func = self.index.enclosing_function(call)
        if func is None or depth >= MAX_DEPTH:
            return False
        sites = self.call_sites(func)
        return bool(sites) and all(self.no_grad_ok(site, depth + 1) for site in sites)


def _is_eval_chain(value: ast.AST) -> bool:
    return isinstance(value, ast.Call) and _switch_mode(value) is not None


def _is_eval_helper(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in EVAL_HELPER_WORDS) or lowered == "eval"


@dataclass
class _Forward:
    call: ast.Call
    key: str
    scope_id: int


def _not_torch_vars(index: ModuleIndex) -> set[str]:
    cached = index.memo.get("not_torch_vars")
    if cached is not None:
        return cast("set[str]", cached)
    out: set[str] = set()
    for assign in index.nodes(ast.Assign):
        if isinstance(assign.value, ast.Call):
            name = index.call_name(assign.value) or ""
            if name.startswith(NOT_TORCH_MODELS) or name in PIPELINE_FACTORIES:
                out.update(d for t in assign.targets if (d := dotted(t)) is not None)
    index.memo["not_torch_vars"] = out
    return out


def forward_key(analysis: ModeAnalysis, call: ast.Call) -> str | None:
    """The model a call runs forward (``model(x)`` -> ``model``), None if not a forward."""
    index = analysis.index
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "forward":
        key = dotted(func.value)
        if key == "super" or isinstance(func.value, ast.Call):
            return None
    else:
        key = dotted(func)
        if key == "self":
            cls = index.enclosing_class(call)
            return key if cls is not None and cls.name in analysis.torch_module_classes else None
        if key is None or key in index.aliases or _is_loss_name(key):
            return None
        if not is_model_name(key) and key not in analysis.known_models:
            return None
        if key not in analysis.known_models and _is_plain_call(analysis, call, key):
            return None
    if key is None or key in _not_torch_vars(index):
        return None
    return key


def _is_property(func: FunctionNode) -> bool:
    return any(last_name(d) in PROPERTY_DECORATORS for d in func.decorator_list)


def _is_plain_call(analysis: ModeAnalysis, call: ast.Call, key: str) -> bool:
    """A call whose name merely contains a model word but that is no forward: a same-file
    function or method (``get_model(...)``, ``self._flatten_classifier_output(...)``), a
    same-file class being constructed (``Net(...)``), or a function of an imported module
    (``call._call_lightning_module_hook(...)``)."""
    index = analysis.index
    if "." not in key and key in analysis.module_classes:
        return True
    if key.split(".", 1)[0] in index.aliases:
        return True
    local = index.resolve_local_function(call)
    return local is not None and not _is_property(local)


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _is_loss_name(key: str) -> bool:
    return any(w.startswith(LOSS_WORDS) for w in _words(key.rsplit(".", 1)[-1]))


def _loop_is_validation(loop: ast.AST) -> bool:
    if not isinstance(loop, ast.For | ast.AsyncFor):
        return False
    for node in ast.walk(loop.iter):
        text: str | None = None
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        if text and any(w.startswith(LOADER_WORDS) for w in _words(text)):
            return True
    return False


def _calls_backward(node: ast.AST) -> bool:
    return any(
        isinstance(inner, ast.Call) and last_name(inner.func) == BACKWARD
        for inner in ast.walk(node)
    )


def validation_scope(analysis: ModeAnalysis, call: ast.Call) -> ast.AST | None:
    """The outermost validation scope around a call inside its function (None: not one)."""
    index = analysis.index
    func = index.enclosing_function(call)
    if func is not None:
        cls = index.enclosing_class(func)
        if func.name in LIGHTNING_HOOKS or (cls is not None and cls in analysis.lightning_classes):
            return None
        if index.is_test_file and func.name.startswith("test"):
            return None
    scope = index.scope(call)
    outermost: ast.AST | None = None
    for ancestor in index.ancestors(call):
        if ancestor is scope:
            break
        if (
            isinstance(ancestor, WITH_TYPES)
            and any(analysis._is_no_grad(item.context_expr) for item in ancestor.items)
        ) or (isinstance(ancestor, LOOP_TYPES) and _loop_is_validation(ancestor)):
            outermost = ancestor
    if (
        func is not None
        and scope is func
        and (
            is_validation_name(func.name)
            or any(analysis._is_no_grad(d) for d in func.decorator_list)
        )
        and not _calls_backward(func)
    ):
        return func
    if outermost is not None and _calls_backward(outermost):
        return None
    return outermost


def _frozen_model_in_training(index: ModuleIndex, call: ast.Call, key: str) -> ast.AST | None:
    """The training function around a forward call of a frozen model (teacher, target...)."""
    if not any(w in FROZEN_MODEL_WORDS for w in _words(key.rsplit(".", 1)[-1])):
        return None
    func = index.enclosing_function(call)
    region: ast.AST = func if func is not None else index.tree
    return region if _calls_backward(region) else None


def check_modes(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW204 and TW205 (see the module docstring)."""
    if not index.imports_any("torch", "lightning", "pytorch_lightning", "transformers"):
        return
    analysis = ModeAnalysis(index)
    reported: set[tuple[int, str, str]] = set()
    for call in sorted(index.calls, key=position):
        if not isinstance(call.func, ast.Name | ast.Attribute):
            continue
        key = forward_key(analysis, call)
        if key is None:
            continue
        scope = validation_scope(analysis, call)
        if scope is None:
            frozen = _frozen_model_in_training(index, call, key)
            frozen_key = (id(frozen), key, "TW205")
            if frozen is not None and frozen_key not in reported and not analysis.no_grad_ok(call):
                reported.add(frozen_key)
                yield finding(
                    "TW205", call, f"frozen `{key}` runs outside torch.no_grad() in training"
                )
            continue
        eval_key = (id(scope), key, "TW204")
        if eval_key not in reported and not analysis.eval_ok(call, key):
            reported.add(eval_key)
            yield finding("TW204", call, f"`{key}` may still be in training mode here")
        grad_key = (id(scope), key, "TW205")
        if grad_key not in reported and not analysis.no_grad_ok(call):
            reported.add(grad_key)
            yield finding("TW205", call, f"`{key}` runs outside torch.no_grad()/inference_mode()")
