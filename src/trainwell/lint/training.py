"""The training loop: TW206 zero-grad-missing, TW207 zero-grad-not-set-to-none,
TW208 checkpoint-without-optimizer, TW212 loss-accumulated-as-tensor."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import cast

from trainwell.lint.astutil import (
    LOOP_TYPES,
    FunctionNode,
    LoopNode,
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
from trainwell.lint.modes import is_model_name
from trainwell.lint.reproducibility import OPTIMIZERS

BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
ZERO_GRAD = "zero_grad"
STEP = "step"
OPTIMIZER_WORDS = ("optim", "opt")
NOT_OPTIMIZER_WORDS = ("sched", "scheduler", "lr", "warmup", "scaler")
GRAD_ATTRIBUTE = "grad"
MAX_DEPTH = 3


def _words(name: str) -> list[str]:
    return [w for w in name.rsplit(".", 1)[-1].lower().split("_") if w]


def is_optimizer_name(name: str) -> bool:
    """``optimizer``, ``self.opt``, ``optD``, ``opt_g``... (not ``scheduler``)."""
    words = _words(name)
    if any(w.startswith(NOT_OPTIMIZER_WORDS) for w in words):
        return False
    return any(w.startswith(OPTIMIZER_WORDS) for w in words)


def _in_range(node: ast.AST, outer: ast.AST) -> bool:
    start = position(outer)
    end = (getattr(outer, "end_lineno", 0) or 0, getattr(outer, "end_col_offset", 0) or 0)
    return start <= position(node) <= end


class LoopFacts:
    """Optimizers, their models, steps and zero_grad calls in one module."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.optimizer_models: dict[str, str] = {}
        self.optimizers: set[str] = set()
        for assign in index.nodes(ast.Assign):
            value = assign.value
            if not isinstance(value, ast.Call):
                continue
            name = index.call_name(value) or ""
            if last_name(value.func) not in OPTIMIZERS and not name.startswith("torch.optim."):
                continue
            for target in assign.targets:
                key = dotted(target)
                if key is None:
                    continue
                self.optimizers.add(key)
                model = self._parameters_owner(value)
                if model is not None:
                    self.optimizer_models[key] = model

    def _parameters_owner(self, call: ast.Call) -> str | None:
        first = call.args[0] if call.args else None
        kw = keyword(call, "params")
        if kw is not None:
            first = kw.value
        if (
            isinstance(first, ast.Call)
            and isinstance(first.func, ast.Attribute)
            and first.func.attr == "parameters"
        ):
            return dotted(first.func.value)
        return None

    def is_optimizer(self, key: str) -> bool:
        """Whether ``key`` names an optimizer."""
        return key in self.optimizers or is_optimizer_name(key)

    def stepped_optimizer(self, call: ast.Call) -> str | None:
        """``opt.step()`` -> ``opt``; ``scaler.step(opt)`` -> ``opt``; else None."""
        if not isinstance(call.func, ast.Attribute) or call.func.attr != STEP:
            return None
        if call.args:
            key = dotted(call.args[0])
            if key is not None and self.is_optimizer(key):
                return key
        receiver = dotted(call.func.value)
        if receiver is not None and self.is_optimizer(receiver):
            return receiver
        return None

    def zeroes(self, node: ast.AST, optimizer: str, depth: int = 0) -> bool:
        """Whether ``node`` clears the gradients that ``optimizer`` steps with."""
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == ZERO_GRAD:
                receiver = dotted(node.func.value) or ""
                if receiver == optimizer:
                    return True
                if self.is_optimizer(receiver):
                    return False
                owner = self.optimizer_models.get(optimizer)
                return owner is None or owner == receiver
            helper = self.index.resolve_local_function(node)
            if helper is not None and depth < MAX_DEPTH:
                return any(
                    self.zeroes(inner, optimizer, depth + 1)
                    for inner in self.index.calls_in_scope(helper)
                )
        if isinstance(node, ast.Assign):
            return any(
                isinstance(t, ast.Attribute) and t.attr == GRAD_ATTRIBUTE for t in node.targets
            ) and is_constant(node.value, None)
        return False


def _zeroing_in(facts: LoopFacts, region: ast.AST, optimizer: str) -> bool:
    for node in ast.walk(region):
        if isinstance(node, ast.Call | ast.Assign) and facts.zeroes(node, optimizer):
            return True
    return False


def _backward_calls(index: ModuleIndex) -> list[ast.Call]:
    return [
        c
        for c in index.calls
        if isinstance(c.func, ast.Attribute) and c.func.attr in BACKWARD_METHODS
    ]


def check_zero_grad(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW206: each backward() in a loop needs a zero_grad of the optimizer stepped after it."""
    if not index.imports_any("torch", "lightning", "pytorch_lightning", "accelerate"):
        return
    if not index.mentions("backward"):
        return
    facts = LoopFacts(index)
    reported: set[tuple[int, str]] = set()
    for backward in sorted(_backward_calls(index), key=position):
        scope = index.scope(backward)
        steps = [
            (call, opt)
            for call in index.calls_in_scope(scope)
            if (opt := facts.stepped_optimizer(call)) is not None
        ]
        if not steps:
            continue
        loops = index.loops_between(backward, scope)
        region: ast.AST | None = None
        chosen: list[tuple[ast.Call, str]] = []
        for loop in loops:
            chosen = [(c, o) for c, o in steps if _in_range(c, loop)]
            if chosen:
                region = loop
                break
        if region is None:
            yield from _check_straight_line(index, facts, backward, scope, steps, reported)
            continue
        after = [(c, o) for c, o in chosen if position(c) > position(backward)]
        optimizer = (after or chosen)[0][1]
        if (id(region), optimizer) in reported:
            continue
        if not _zeroing_in(facts, region, optimizer):
            reported.add((id(region), optimizer))
            yield finding("TW206", backward, f"no `zero_grad` for `{optimizer}` inside this loop")


def _check_straight_line(
    index: ModuleIndex,
    facts: LoopFacts,
    backward: ast.Call,
    scope: ScopeNode,
    steps: list[tuple[ast.Call, str]],
    reported: set[tuple[int, str]],
) -> Iterator[RawFinding]:
    """A step function (backward + step, no loop): its callers' loops must zero the grads."""
    if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        return
    after = [(c, o) for c, o in steps if position(c) > position(backward)]
    optimizer = (after or steps)[0][1]
    if (id(scope), optimizer) in reported or _zeroing_in(facts, scope, optimizer):
        return
    sites = [c for c in index.calls if index.resolve_local_function(c) is scope]
    for site in sites:
        loops: list[LoopNode] = index.loops_between(site)
        if loops and _zeroing_in(facts, loops[0], optimizer):
            return
    reported.add((id(scope), optimizer))
    yield finding("TW206", backward, f"`{optimizer}` steps but its gradients are never cleared")


def check_set_to_none(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW207: ``zero_grad(set_to_none=False)`` / ``zero_grad(False)``."""
    for call in index.calls:
        if last_name(call.func) != ZERO_GRAD or not isinstance(call.func, ast.Attribute):
            continue
        flag = call.args[0] if call.args else None
        kw = keyword(call, "set_to_none")
        if kw is not None:
            flag = kw.value
        if flag is not None and is_constant(flag, False):
            yield finding("TW207", call, "`zero_grad(set_to_none=False)`")


# --- TW208 ---------------------------------------------------------------------------------------

CHECKPOINT_WORDS = ("checkpoint", "ckpt", "resume", "last", "latest", "epoch", "step", "iter")
CHECKPOINT_FUNCTION_WORDS = ("checkpoint", "ckpt", "resume", "snapshot")
EXPORT_PREFIX = "export"
SAVE_FUNCTIONS = frozenset({"torch.save"})
SAVE_METHODS = frozenset({"save"})
OPTIMIZER_KEYS = ("optim", "opt")


def _text_words(expr: ast.AST) -> list[str]:
    words: list[str] = []
    for node in ast.walk(expr):
        text = ""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        for sep in "/\\.-{}":
            text = text.replace(sep, "_")
        words.extend(w for w in text.lower().split("_") if w)
    return words


class CheckpointCheck:
    """Resolves what a save call saves."""

    def __init__(self, index: ModuleIndex, facts: LoopFacts) -> None:
        self.index = index
        self.facts = facts

    def optimizer_in_scope(self, scope: ScopeNode) -> bool:
        """Whether the saving function (or its class) can see an optimizer."""
        index = self.index
        region: ast.AST = scope
        if not isinstance(scope, ast.Module):
            cls = index.enclosing_class(scope)
            region = cls if cls is not None else scope
        for node in ast.walk(region):
            if isinstance(node, ast.arg):
                key: str | None = node.arg
            elif isinstance(node, ast.Name | ast.Attribute):
                key = dotted(node)
            else:
                continue
            if key is not None and self.facts.is_optimizer(key):
                return True
        return False

    def has_optimizer(self, expr: ast.AST | None, scope: ScopeNode, depth: int = 0) -> bool:
        """Whether a saved object carries optimizer state (True when it cannot be told)."""
        if expr is None or depth > MAX_DEPTH:
            return True
        if isinstance(expr, ast.Dict):
            return self._dict_has_optimizer(expr, scope, depth)
        if isinstance(expr, ast.Name):
            return self._name_has_optimizer(expr.id, expr, scope, depth)
        if isinstance(expr, ast.Call):
            return self._call_has_optimizer(expr, depth)
        return not is_model_name(dotted(expr) or "")

    def _dict_has_optimizer(self, expr: ast.Dict, scope: ScopeNode, depth: int) -> bool:
        for key, value in zip(expr.keys, expr.values, strict=True):
            if key is None:
                if self.has_optimizer(value, scope, depth + 1):
                    return True
                continue
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and any(w.startswith(OPTIMIZER_KEYS) for w in _words(key.value))
            ):
                return True
            if self._mentions_optimizer(value):
                return True
        return False

    def _mentions_optimizer(self, value: ast.AST) -> bool:
        for node in ast.walk(value):
            if isinstance(node, ast.Name | ast.Attribute):
                key = dotted(node)
                if key is not None and self.facts.is_optimizer(key):
                    return True
        return False

    def _call_has_optimizer(self, expr: ast.Call, depth: int) -> bool:
        index = self.index
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "state_dict":
            return self._mentions_optimizer(expr.func.value)
        if index.call_name(expr) == "dict":
            return any(
                (kw.arg or "").lower().startswith(OPTIMIZER_KEYS)
                or self._mentions_optimizer(kw.value)
                for kw in expr.keywords
            )
        helper = index.resolve_local_function(expr)
        if helper is not None:
            returns = [
                r.value
                for r in ast.walk(helper)
                if isinstance(r, ast.Return) and r.value is not None and index.scope(r) is helper
            ]
            return any(self.has_optimizer(r, helper, depth + 1) for r in returns) or not returns
        return True

    def _name_has_optimizer(self, name: str, use: ast.AST, scope: ScopeNode, depth: int) -> bool:
        index = self.index
        if is_model_name(name):
            return False
        assigned = [
            a
            for a in index.nodes(ast.Assign)
            if index.scope(a) is scope
            and any(isinstance(t, ast.Name) and t.id == name for t in a.targets)
            and position(a) < position(use)
        ]
        if not assigned:
            return True
        if self.has_optimizer(assigned[-1].value, scope, depth + 1):
            return True
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == name
                    and self._subscript_mentions(t)
                    for t in node.targets
                )
            ) or (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == name
                    for t in node.targets
                )
                and self._mentions_optimizer(node.value)
            ):
                return True
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "update"
                and dotted(node.func.value) == name
                and any(self._mentions_optimizer(a) for a in [*node.args, *node.keywords])
            ):
                return True
        return False

    def _subscript_mentions(self, target: ast.Subscript) -> bool:
        key = target.slice
        return (
            isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and any(w.startswith(OPTIMIZER_KEYS) for w in _words(key.value))
        )


def _saved_and_path(index: ModuleIndex, call: ast.Call) -> tuple[ast.AST | None, ast.AST | None]:
    name = index.call_name(call) or ""
    obj_kw, path_kw = keyword(call, "obj"), keyword(call, "f")
    if name in SAVE_FUNCTIONS or (
        isinstance(call.func, ast.Attribute)
        and call.func.attr in SAVE_METHODS
        and not name.startswith(("numpy.", "np."))
    ):
        saved = call.args[0] if call.args else (obj_kw.value if obj_kw else None)
        path = call.args[1] if len(call.args) > 1 else (path_kw.value if path_kw else None)
        return saved, path
    return None, None


def check_checkpoint(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW208: a training checkpoint without optimizer state."""
    if not index.imports_any("torch", "lightning", "pytorch_lightning", "accelerate"):
        return
    if not index.mentions("save"):
        return
    facts = LoopFacts(index)
    check = CheckpointCheck(index, facts)
    for call in index.calls:
        name = index.call_name(call) or ""
        func = index.enclosing_function(call)
        if func is not None and func.name.lower().startswith(EXPORT_PREFIX):
            continue
        scope = index.scope(call)
        lightning = isinstance(call.func, ast.Attribute) and call.func.attr == "save_checkpoint"
        if lightning:
            weights_only = keyword(call, "weights_only")
            if weights_only is None or not is_constant(weights_only.value, True):
                continue
            path: ast.AST | None = call.args[0] if call.args else None
            saved: ast.AST | None = None
        elif name in SAVE_FUNCTIONS or name.endswith((".accelerator.save", "accelerator.save")):
            saved, path = _saved_and_path(index, call)
        else:
            continue
        if not _is_training_save(index, call, func, path):
            continue
        if not lightning and not check.optimizer_in_scope(scope):
            continue
        if lightning or not check.has_optimizer(saved, scope):
            yield finding("TW208", call, "checkpoint saved without the optimizer state")


def _is_training_save(
    index: ModuleIndex, call: ast.Call, func: FunctionNode | None, path: ast.AST | None
) -> bool:
    if any(isinstance(a, LOOP_TYPES) for a in index.loops_between(call)):
        return True
    if func is not None and any(w.startswith(CHECKPOINT_FUNCTION_WORDS) for w in _words(func.name)):
        return True
    return path is not None and any(w.startswith(CHECKPOINT_WORDS) for w in _text_words(path))


# --- TW212 ---------------------------------------------------------------------------------------

LOSS_WORDS = ("loss", "criterion")
TORCH_LOSS_FUNCTIONS = frozenset(
    {
        "cross_entropy",
        "mse_loss",
        "nll_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "l1_loss",
        "smooth_l1_loss",
        "kl_div",
        "huber_loss",
        "cosine_embedding_loss",
        "margin_ranking_loss",
        "triplet_margin_loss",
        "ctc_loss",
    }
)
DETACHING = frozenset({"item", "detach", "data", "tolist", "numpy"})
CONVERTERS = frozenset({"float", "int"})
# cross-process collectives: their result is a metrics tensor gathered from every rank (HF
# Accelerate's evaluation idiom), meant to stay a tensor; ``.item()`` before them is no fix
COLLECTIVES = frozenset(
    {
        "gather",
        "gather_for_metrics",
        "all_gather",
        "all_gather_into_tensor",
        "all_reduce",
        "pad_across_processes",
    }
)
APPENDERS = frozenset({"append", "extend"})


def _is_loss_call(value: ast.AST) -> bool:
    if isinstance(value, ast.Call):
        name = (last_name(value.func) or "").lower()
        return any(w in name for w in LOSS_WORDS) or name in TORCH_LOSS_FUNCTIONS
    if isinstance(value, ast.Attribute):
        return value.attr == "loss"
    if isinstance(value, ast.Subscript):
        key = value.slice
        return isinstance(key, ast.Constant) and key.value == "loss"
    return False


def _tensor_losses(index: ModuleIndex, scope: ScopeNode) -> set[str]:
    names: set[str] = set()
    for call in index.calls_in_scope(scope):
        if isinstance(call.func, ast.Attribute) and call.func.attr in BACKWARD_METHODS:
            key = dotted(call.func.value)
            if key:
                names.add(key)
            names.update(d for a in call.args if (d := dotted(a)) is not None)
    assigns = sorted((a for a in index.nodes(ast.Assign) if index.scope(a) is scope), key=position)
    for assign in assigns:
        value = assign.value
        targets = {d for t in assign.targets if (d := dotted(t)) is not None}
        operands = (
            {dotted(value.left), dotted(value.right)} if isinstance(value, ast.BinOp) else set()
        )
        if (
            _is_loss_call(value)
            or (operands & names and not operands & targets)
            or (isinstance(value, ast.Call) and _returns_live_loss(index, value))
        ):
            names.update(targets)
    return names


def _returns_live_loss(index: ModuleIndex, call: ast.Call) -> bool:
    """Whether a same-file function called here returns its loss tensor undetached
    (``loss = td_update(...)`` where ``td_update`` ends with ``loss.backward(); return loss``)."""
    func = index.resolve_local_function(call)
    if func is None:
        return False
    memo = cast("dict[FunctionNode, bool]", index.memo.setdefault("live_loss_returns", {}))
    if func in memo:
        return memo[func]
    memo[func] = False  # a recursive helper does not count while it is being decided
    losses = _tensor_losses(index, func)
    memo[func] = any(
        ret.value is not None
        and not isinstance(ret.value, ast.Tuple | ast.List | ast.Dict | ast.Set)
        and _live_tensor(index, ret.value, losses) is not None
        for ret in index.in_scope(ast.Return, func)
    )
    return memo[func]


def _detached_by_chain(index: ModuleIndex, node: ast.AST) -> bool:
    """``loss.item()``, ``loss.detach()``, and the same after other tensor methods
    (``loss.cpu().numpy()``, ``loss.mean().item()``): the method chain on ``node`` detaches."""
    current = node
    while isinstance(parent := index.parent(current), ast.Attribute):
        if parent.attr in DETACHING:
            return True
        call = index.parent(parent)
        if not isinstance(call, ast.Call) or call.func is not parent:
            return False
        current = call
    return False


def _only_tested(index: ModuleIndex, node: ast.AST, expr: ast.AST) -> bool:
    """``loss`` only decides a conditional (``loss.item() if loss is not None else 0.0``):
    its value is not what the expression yields."""
    if node is expr:
        return False
    child = node
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, ast.IfExp) and ancestor.test is child:
            return True
        if ancestor is expr:
            return False
        child = ancestor
    return False


def _live_tensor(index: ModuleIndex, expr: ast.AST, losses: set[str]) -> ast.AST | None:
    """A loss name used in ``expr`` without ``.item()``/``.detach()``/``float()``."""
    for node in ast.walk(expr):
        named = isinstance(node, ast.Name | ast.Attribute) and dotted(node) in losses
        if not named and not _is_loss_call(node):
            continue
        if _detached_by_chain(index, node) or _only_tested(index, node, expr):
            continue
        converted = False
        for ancestor in index.ancestors(node) if node is not expr else ():
            if isinstance(ancestor, ast.Call) and (
                last_name(ancestor.func) in CONVERTERS or last_name(ancestor.func) in COLLECTIVES
            ):
                converted = True
                break
            if ancestor is expr:
                break
        if not converted:
            return node
    return None


def check_loss_accumulation(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW212: a loss tensor added to a running total (or appended to a list) in a loop."""
    if not index.imports_any("torch", "lightning", "pytorch_lightning", "transformers"):
        return
    if not index.mentions("loss", "criterion"):
        return
    scopes: dict[ScopeNode, set[str]] = {}
    candidates: list[tuple[ast.AST, ast.AST, str | None]] = []
    for aug in index.nodes(ast.AugAssign):
        if isinstance(aug.op, ast.Add):
            candidates.append((aug, aug.value, dotted(aug.target)))
    for assign in index.nodes(ast.Assign):
        if (
            len(assign.targets) == 1
            and isinstance(assign.value, ast.BinOp)
            and isinstance(assign.value.op, ast.Add)
        ):
            target = dotted(assign.targets[0])
            operands = [dotted(assign.value.left), dotted(assign.value.right)]
            if target is not None and target in operands:
                candidates.append((assign, assign.value, target))
    for call in index.calls:
        if isinstance(call.func, ast.Attribute) and call.func.attr in APPENDERS and call.args:
            candidates.append((call, call.args[0], dotted(call.func.value)))
    for statement, value, accumulator in sorted(candidates, key=lambda c: position(c[0])):
        scope = index.scope(statement)
        if not index.loops_between(statement, scope):
            continue
        if scope not in scopes:
            scopes[scope] = _tensor_losses(index, scope)
        losses = scopes[scope]
        if accumulator is not None and accumulator in losses:
            continue
        live = _live_tensor(index, value, losses)
        if live is not None:
            yield finding(
                "TW212",
                statement,
                f"`{dotted(live)}` accumulated as a tensor; use `{dotted(live)}.item()`",
            )
