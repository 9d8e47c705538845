"""Shared facts: CLI commands, output functions, config classes."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from trainwell.lint.astutil import ModuleIndex
from trainwell.lint.context import cli_functions, config_classes, in_cli_output


def build(source: str) -> ModuleIndex:
    return ModuleIndex(ast.parse(textwrap.dedent(source)), Path("cli.py"))


def test_cli_functions_by_decorator_and_registration() -> None:
    idx = build(
        """
        import typer, click, fire
        app = typer.Typer()

        @app.command()
        def a(): print("x")

        @click.command()
        @click.option("--n")
        def b(n): print(n)

        def c(): print("c")
        app.command("c")(c)

        def d(): print("d")
        fire.Fire(d)

        def helper(): print("h")

        @property
        def prop(self): return 1
        """
    )
    assert {f.name for f in cli_functions(idx)} == {"a", "b", "c", "d"}
    prints = {c.lineno: in_cli_output(idx, c) for c in idx.calls if ast.unparse(c.func) == "print"}
    assert sorted(line for line, cli in prints.items() if not cli) == [18]


def test_argparse_sub_commands_registered_with_set_defaults() -> None:
    idx = build(
        """
        import argparse

        def train(args): print("training", args.epochs)
        def evaluate(args): print("score")
        def debug_helper(x): print(x)

        def main():
            parser = argparse.ArgumentParser()
            sub = parser.add_subparsers()
            sub.add_parser("train").set_defaults(func=train)
            sub.add_parser("eval").set_defaults(handler=evaluate, verbose=False)
        """
    )
    assert {f.name for f in cli_functions(idx)} == {"train", "evaluate"}


def test_output_functions_count_as_cli_output() -> None:
    idx = build("def show_table(rows):\n    def row(r):\n        print(r)\n    print(rows)\n")
    assert all(in_cli_output(idx, c) for c in idx.calls if ast.unparse(c.func) == "print")


def test_config_classes_include_subclasses_and_dataclasses() -> None:
    idx = build(
        """
        from dataclasses import dataclass
        from enum import Enum
        from pydantic import BaseModel

        class Base(BaseModel): pass
        class Child(Base): pass
        class Color(Enum): RED = 1

        @dataclass(frozen=True)
        class Params: lr: float = 0.1

        class Plain: pass
        """
    )
    assert {c.name for c in config_classes(idx)} == {"Base", "Child", "Color", "Params"}
