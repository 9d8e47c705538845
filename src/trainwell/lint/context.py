"""Facts about a module that several rules share: config classes, CLI command functions,
user-facing output functions. Each is computed once per module and memoised on the index."""

from __future__ import annotations

import ast
from typing import cast

from trainwell.lint.astutil import FUNCTION_TYPES, FunctionNode, ModuleIndex, dotted, last_name

CONFIG_BASE_SUFFIXES = (
    "BaseModel",
    "BaseSettings",
    "Enum",
    "IntEnum",
    "StrEnum",
    "Flag",
    "IntFlag",
    "NamedTuple",
    "TypedDict",
)
CONFIG_DECORATORS = frozenset({"dataclass", "define", "frozen", "s", "attrs", "mutable"})
CLI_DECORATOR_NAMES = frozenset({"command", "callback", "group", "option", "argument"})
CLI_RUNNERS = frozenset({"typer.run", "fire.Fire"})
ARGPARSE_REGISTER = "set_defaults"
OUTPUT_PREFIXES = ("print_", "show_", "render_", "report_", "echo_", "display_")
OUTPUT_NAMES = frozenset({"print", "show", "render", "report", "echo", "display"})


def config_classes(index: ModuleIndex) -> set[ast.ClassDef]:
    """Classes whose body declares fields (Pydantic, dataclasses, enums, NamedTuple, TypedDict),
    including same-file subclasses of those."""
    cached = index.memo.get("config_classes")
    if cached is not None:
        return cast("set[ast.ClassDef]", cached)
    found: set[ast.ClassDef] = set()
    names: set[str] = set()
    for cls in sorted(index.nodes(ast.ClassDef), key=lambda c: c.lineno):
        bases = [index.qualname(base) or "" for base in cls.bases]
        decorated = any(
            last_name(d.func if isinstance(d, ast.Call) else d) in CONFIG_DECORATORS
            for d in cls.decorator_list
        )
        if (
            decorated
            or any(base.endswith(CONFIG_BASE_SUFFIXES) for base in bases)
            or any(base in names for base in bases)
        ):
            found.add(cls)
            names.add(cls.name)
    index.memo["config_classes"] = found
    return found


def in_config_class_body(index: ModuleIndex, stmt: ast.AST) -> bool:
    """Whether a statement sits directly in the body of a config class."""
    parent = index.parent(stmt)
    return isinstance(parent, ast.ClassDef) and parent in config_classes(index)


def _is_cli_decorator(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = last_name(target)
    text = dotted(target) or ""
    return name in CLI_DECORATOR_NAMES and "." in text


def cli_functions(index: ModuleIndex) -> set[FunctionNode]:
    """Functions that are CLI commands: decorated with ``@app.command()``/``@click.command()``
    (or a group/callback/option), or registered as ``app.command(...)(f)``, ``typer.run(f)``,
    ``fire.Fire(f)``, or an argparse sub-command's ``set_defaults(func=f)``."""
    cached = index.memo.get("cli_functions")
    if cached is not None:
        return cast("set[FunctionNode]", cached)
    found: set[FunctionNode] = {
        func for func in index.functions if any(_is_cli_decorator(d) for d in func.decorator_list)
    }
    registered: set[str] = set()
    for call in index.calls:
        inner = call.func
        if isinstance(inner, ast.Call) and last_name(inner.func) in CLI_DECORATOR_NAMES:
            registered.update(a.id for a in call.args if isinstance(a, ast.Name))
        elif index.call_name(call) in CLI_RUNNERS and call.args:
            first = call.args[0]
            if isinstance(first, ast.Name):
                registered.add(first.id)
        elif last_name(call.func) == ARGPARSE_REGISTER:
            # argparse sub-commands: ``sub.set_defaults(func=train)`` / ``handler=train``
            registered.update(kw.value.id for kw in call.keywords if isinstance(kw.value, ast.Name))
    for name in registered:
        found.update(f for f in index.functions_named(name) if isinstance(f, FUNCTION_TYPES))
    index.memo["cli_functions"] = found
    return found


def is_output_function(func: FunctionNode) -> bool:
    """User-facing output helpers: ``print_*``, ``show_*``, ``render_*``, ``report_*``..."""
    name = func.name.lstrip("_")
    return name.startswith(OUTPUT_PREFIXES) or name in OUTPUT_NAMES


def in_cli_output(index: ModuleIndex, node: ast.AST) -> bool:
    """Whether ``node`` is inside a CLI command or an output function (at any depth)."""
    commands = cli_functions(index)
    return any(
        func in commands or is_output_function(func) for func in index.enclosing_functions(node)
    )
