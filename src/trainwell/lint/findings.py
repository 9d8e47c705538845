"""What the linter and the audit report: rules and findings.

Both `trainwell lint` and `trainwell audit` describe their checks with :class:`Rule` and report
:class:`Finding` objects, so one set of renderers (text, JSON, SARIF) serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """One documented check.

    Attributes:
        code: the stable code (``TW108``, ``TWA201``).
        name: the canonical kebab-case name (``unsafe-torch-load``).
        summary: one line: what is wrong.
        playbook: the playbook item the rule enforces, quoted.
        hint: how to fix a finding.
        bad: a short example that is reported.
        good: the fixed version of ``bad``.
        source: ``custom`` (trainwell's own analysis) or the delegated tool and its codes.
        aliases: codes of other tools (ruff, pylint) whose ``# noqa`` also silences this rule.
        notebooks: whether the rule also runs on code cells of ``.ipynb`` files.
        default_enabled: False for an opt-in rule: it runs only when a ``select`` entry names
            it or its group (``TW9``, ``TW921``), never through ``TW`` or ``ALL`` alone.
    """

    code: str
    name: str
    summary: str
    playbook: str
    hint: str
    bad: str
    good: str
    source: str = "custom"
    aliases: tuple[str, ...] = field(default_factory=tuple)
    notebooks: bool = False
    default_enabled: bool = True


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place.

    ``line`` and ``column`` are 1-based. For a notebook, ``path`` names the notebook and ``cell``
    the 1-based code cell; ``line`` is then the line inside that cell.
    """

    path: str
    line: int
    column: int
    code: str
    message: str
    hint: str = ""
    cell: int | None = None

    def as_json(self) -> dict[str, str | int]:
        """The finding as the JSON object of ``--format json``."""
        out: dict[str, str | int] = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }
        if self.cell is not None:
            out["cell"] = self.cell
        return out

    @property
    def location(self) -> str:
        """``path:line:column`` (``path:cell N:line:column`` for a notebook)."""
        if self.cell is not None:
            return f"{self.path}:cell {self.cell}:{self.line}:{self.column}"
        return f"{self.path}:{self.line}:{self.column}"
