"""The shared AST index: names, scopes, structure."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from trainwell.lint.astutil import ModuleIndex, dotted, is_test_path, root_name, statements_in_order

SOURCE = textwrap.dedent(
    """
    import numpy as np
    import torch.nn as nn
    from torch import load as tl
    from . import sibling

    def outer(model):
        def inner():
            return np.random.rand()
        for x in range(3):
            while True:
                tl(x)
        return lambda y: y

    class Trainer:
        def fit(self):
            self.step()

        def step(self):
            pass

    if __name__ == "__main__":
        outer(None)
    """
)


def index() -> ModuleIndex:
    return ModuleIndex(ast.parse(SOURCE), Path("train.py"))


def call(idx: ModuleIndex, text: str) -> ast.Call:
    return next(c for c in idx.calls if ast.unparse(c.func) == text)


def test_qualname_follows_imports() -> None:
    idx = index()
    assert idx.qualname(call(idx, "np.random.rand").func) == "numpy.random.rand"
    assert idx.call_name(call(idx, "tl")) == "torch.load"
    assert idx.aliases["nn"] == "torch.nn"
    assert idx.aliases["sibling"] == ".sibling"
    assert idx.imports_any("torch") and not idx.imports_any("sklearn")


def test_scopes_loops_and_functions() -> None:
    idx = index()
    rand = call(idx, "np.random.rand")
    load = call(idx, "tl")
    assert idx.enclosing_function(rand).name == "inner"  # type: ignore[union-attr]
    assert [f.name for f in idx.enclosing_functions(rand)] == ["inner", "outer"]
    assert [type(loop).__name__ for loop in idx.loops_between(load)] == ["While", "For"]
    in_outer = idx.calls_in_scope(idx.functions_named("outer")[0])
    assert [ast.unparse(c.func) for c in in_outer] == ["range", "tl"]


def test_local_function_resolution() -> None:
    idx = index()
    step_call = call(idx, "self.step")
    assert idx.resolve_local_function(step_call) is idx.functions_named("step")[0]
    assert idx.resolve_local_function(call(idx, "outer")) is idx.functions_named("outer")[0]
    assert idx.resolve_local_function(call(idx, "tl")) is None


def test_main_guard_and_test_paths() -> None:
    idx = index()
    assert len(idx.main_guards()) == 1
    assert is_test_path(Path("tests/test_x.py")) and is_test_path(Path("x_test.py"))
    assert not is_test_path(Path("testing.py"))


def test_small_helpers() -> None:
    expr = ast.parse("a.b[0].c(1).d", mode="eval").body
    assert root_name(expr) == "a"
    assert dotted(ast.parse("self.model.eval", mode="eval").body) == "self.model.eval"
    assert dotted(ast.parse("f().x", mode="eval").body) is None
    body = ast.parse(
        "if a:\n    b = 1\nelse:\n    c = 2\ntry:\n    d = 3\nexcept E:\n    e = 4\n"
    ).body
    kinds = [type(s).__name__ for s in statements_in_order(body)]
    assert kinds == ["If", "Assign", "Assign", "Try", "Assign", "Assign"]
