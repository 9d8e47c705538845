"""The playbook's "Critical Checklist Before Training" as executable checks.

Each check has an id, a severity when it fires, a one-line finding and a hint. `train` runs them
before fitting; `trainwell check` runs them alone. See docs/checks.md.
"""

from trainwell.evaluation.checks.result import CheckReport, CheckResult, Status

__all__ = ["CheckReport", "CheckResult", "Status"]
