"""Reports as text, JSON or SARIF 2.1.0, and ``--explain`` pages (shared by lint and audit)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, Literal

from trainwell import __version__
from trainwell.lint.findings import Finding, Rule

OutputFormat = Literal["text", "json", "sarif"]
FORMATS: tuple[OutputFormat, ...] = ("text", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/trainwell/trainwell"
SRCROOT = "%SRCROOT%"
JSON_INDENT = 2


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def render_text(findings: Sequence[Finding], noun: str = "file", checked: int = 0) -> str:
    """``path:line:col: CODE message`` plus an indented hint line per finding, and a summary.

    ``noun`` is what ``checked`` counts: files for the linter, checks for the audit.
    """
    lines: list[str] = []
    for item in findings:
        lines.append(f"{item.location}: {item.code} {item.message}")
        if item.hint:
            lines.append(f"    hint: {item.hint}")
    count = len(findings)
    if count:
        places = len({item.path for item in findings})
        lines.append(
            f"Found {_plural(count, 'finding')} in {_plural(places, 'path')} "
            f"({_plural(checked, noun)} checked)."
        )
    else:
        lines.append(f"All clear: no findings ({_plural(checked, noun)} checked).")
    return "\n".join(lines)


def render_json(findings: Iterable[Finding]) -> str:
    """``{"findings": [{"path", "line", "column", "code", "message", "hint"}]}``."""
    return json.dumps({"findings": [item.as_json() for item in findings]}, indent=JSON_INDENT)


def _sarif_uri(path: str) -> dict[str, str]:
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": path, "uriBaseId": SRCROOT}


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    markdown = (
        f"**{rule.name}** ({rule.code}): {rule.summary}.\n\n"
        f"Playbook: {rule.playbook}\n\nFix: {rule.hint}\n\n"
        f"Bad:\n```python\n{rule.bad}\n```\n\nGood:\n```python\n{rule.good}\n```"
    )
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": f"{rule.summary}. Playbook: {rule.playbook}"},
        "help": {"text": f"{rule.hint}. Playbook: {rule.playbook}", "markdown": markdown},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"source": rule.source, "tags": ["trainwell", rule.name]},
    }


def render_sarif(findings: Sequence[Finding], rules: Mapping[str, Rule], tool: str) -> str:
    """A SARIF 2.1.0 log with one run: every rule of the catalog, one result per finding."""
    catalog = list(rules.values())
    positions = {rule.code: i for i, rule in enumerate(catalog)}
    results: list[dict[str, Any]] = []
    for item in findings:
        result: dict[str, Any] = {
            "ruleId": item.code,
            "ruleIndex": positions.get(item.code, -1),
            "level": "warning",
            "message": {
                "text": f"{item.message} (hint: {item.hint})" if item.hint else item.message
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _sarif_uri(item.path),
                        "region": {
                            "startLine": max(item.line, 1),
                            "startColumn": max(item.column, 1),
                        },
                    }
                }
            ],
        }
        if item.cell is not None:
            result["properties"] = {"cell": item.cell}
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_sarif_rule(rule) for rule in catalog],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": "./"}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=JSON_INDENT)


def render(
    findings: Sequence[Finding],
    output_format: OutputFormat,
    rules: Mapping[str, Rule],
    tool: str,
    noun: str = "file",
    checked: int = 0,
) -> str:
    """The report in one of the three formats."""
    if output_format == "json":
        return render_json(findings)
    if output_format == "sarif":
        return render_sarif(findings, rules, tool)
    return render_text(findings, noun=noun, checked=checked)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def explain(rule: Rule) -> str:
    """The ``--explain`` page of one rule."""
    return "\n".join(
        [
            f"{rule.code} {rule.name}",
            "",
            f"What: {rule.summary}.",
            f"Playbook: {rule.playbook}",
            f"Found by: {rule.source}"
            + (f" (noqa aliases: {', '.join(rule.aliases)})" if rule.aliases else ""),
            f"Fix: {rule.hint}",
            "",
            "Bad:",
            _indent(rule.bad),
            "",
            "Good:",
            _indent(rule.good),
        ]
    )


def list_rules(rules: Mapping[str, Rule], prefix: str = "") -> str:
    """One line per rule whose code starts with ``prefix``."""
    return "\n".join(
        f"{rule.code}  {rule.name:<30} {rule.summary}"
        for rule in rules.values()
        if rule.code.startswith(prefix)
    )
