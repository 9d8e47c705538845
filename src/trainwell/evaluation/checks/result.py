"""Check results and the report that gathers them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["pass", "warn", "fail", "skip"]
STATUS_ORDER: dict[str, int] = {"pass": 0, "skip": 0, "warn": 1, "fail": 2}


class CheckResult(BaseModel):
    """One check's outcome."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    status: Status
    message: str
    hint: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    downgraded_from: Status | None = None


def passed(check_id: str, message: str, **details: Any) -> CheckResult:
    """A passing result."""
    return CheckResult(id=check_id, status="pass", message=message, details=details)


def skipped(check_id: str, message: str) -> CheckResult:
    """A check that does not apply here (e.g. no group column, not a torch model)."""
    return CheckResult(id=check_id, status="skip", message=message)


def fired(check_id: str, status: Status, message: str, hint: str, **details: Any) -> CheckResult:
    """A check that found something (``status`` warn or fail)."""
    return CheckResult(id=check_id, status=status, message=message, hint=hint, details=details)


class CheckReport(BaseModel):
    """All results of one checklist run, in the order they ran."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checks: tuple[CheckResult, ...]

    @property
    def failed(self) -> list[CheckResult]:
        """Results with status fail."""
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[CheckResult]:
        """Results with status warn."""
        return [c for c in self.checks if c.status == "warn"]

    def by_id(self, check_id: str) -> CheckResult:
        """The result of one check (KeyError when it did not run)."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    def apply_downgrades(self, downgrade: dict[str, Status]) -> CheckReport:
        """Lower the status of the named checks (fail -> warn/skip), recording the original."""
        out = []
        for check in self.checks:
            level = downgrade.get(check.id)
            if level is not None and STATUS_ORDER[level] < STATUS_ORDER[check.status]:
                out.append(
                    check.model_copy(update={"status": level, "downgraded_from": check.status})
                )
            else:
                out.append(check)
        return CheckReport(checks=tuple(out))

    def merged(self, other: CheckReport) -> CheckReport:
        """This report followed by ``other``'s results."""
        return CheckReport(checks=self.checks + other.checks)
