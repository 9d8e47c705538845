"""`trainwell audit`: run the checks on a project folder and collect findings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainwell.audit.checks import AUDIT_RULES, CHECKS
from trainwell.audit.project import open_project
from trainwell.audit.settings import AuditSettings
from trainwell.lint.engine import absolute, display_path
from trainwell.lint.findings import Finding
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class AuditReport:
    """The findings of one audit and how many checks ran."""

    findings: tuple[Finding, ...]
    checks: int


def audit_project(
    root: Path, settings: AuditSettings | None = None, base: Path | None = None
) -> AuditReport:
    """Audit the project in ``root``; paths in findings are relative to ``base`` (the cwd).

    Raises:
        TrainwellError: the folder does not exist.
        ConfigError: its pyproject.toml is not valid TOML.
    """
    settings = settings or AuditSettings()
    project = open_project(root)
    base_dir = absolute(base or Path.cwd())
    enabled = settings.enabled(AUDIT_RULES)
    findings: list[Finding] = []
    ran = 0
    for codes, check in CHECKS:
        wanted = codes & enabled
        if not wanted:
            continue
        ran += len(wanted)
        for hit in check(project, settings):
            if hit.code not in wanted:
                continue
            rule = AUDIT_RULES[hit.code]
            shown = display_path(project.root / hit.path, base_dir)
            if hit.path.endswith("/"):
                shown += "/"
            findings.append(Finding(shown, hit.line, 1, hit.code, hit.message, rule.hint))
    findings.sort(key=lambda f: (f.code, f.path, f.line))
    logger.debug("audit_done", root=str(project.root), findings=len(findings))
    return AuditReport(findings=tuple(findings), checks=ran)
