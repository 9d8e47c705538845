"""`trainwell audit`: a project against the playbook's mandatory layout and habits.

Example::

    from pathlib import Path
    from trainwell.audit import audit_project

    report = audit_project(Path("."))

The checks are :data:`trainwell.audit.checks.AUDIT_RULES`. Names are imported lazily, so
``trainwell.audit.cli`` stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainwell.audit.checks import AUDIT_RULES as AUDIT_RULES
    from trainwell.audit.engine import AuditReport as AuditReport
    from trainwell.audit.engine import audit_project as audit_project
    from trainwell.audit.settings import AuditSettings as AuditSettings

_EXPORTS = {
    "AUDIT_RULES": "trainwell.audit.checks",
    "AuditReport": "trainwell.audit.engine",
    "audit_project": "trainwell.audit.engine",
    "AuditSettings": "trainwell.audit.settings",
}
__all__ = ["AUDIT_RULES", "AuditReport", "AuditSettings", "audit_project"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trainwell.audit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
