"""Generate docs/configuration.md from the Pydantic config models (the source of truth).

    .venv/bin/python scripts/gen_config_docs.py            # rewrite the file
    .venv/bin/python scripts/gen_config_docs.py --check    # exit 1 when it is out of date

tests/config/test_docs.py runs the check, so the reference never drifts from the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import BaseModel

from trainwell.config.schema import ExperimentConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
HEADER = """# Configuration reference

Generated from `src/trainwell/config/schema.py` by `scripts/gen_config_docs.py`; do not edit by
hand. Every key can be set in the experiment YAML, on the command line as `section.key=value`
(parsed as YAML), or in the environment as `TRAINWELL_SECTION__KEY=value`. Precedence: defaults <
YAML < environment < command line. Unknown keys and out-of-range values are errors that name the
file, the field and what is allowed.
"""


def _default(field_default: object) -> str:
    if isinstance(field_default, BaseModel):
        return "(section)"
    text = repr(field_default)
    return "null" if text == "None" else text.replace("PosixPath", "Path")


def render() -> str:
    """The whole document."""
    lines = [HEADER]
    for name, field in ExperimentConfig.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            lines.append(f"\n## `{name}`\n")
            doc = (annotation.__doc__ or "").strip().splitlines()
            if doc:
                lines.append(doc[0] + "\n")
            lines.append("| key | type | default | description |")
            lines.append("|---|---|---|---|")
            for key, sub in annotation.model_fields.items():
                default = "{}" if sub.default_factory is not None else _default(sub.default)
                kind = str(sub.annotation).replace("typing.", "").replace("|", "\\|")
                kind = kind.replace("<class '", "").replace("'>", "")
                description = (sub.description or "").replace("|", "\\|")
                lines.append(f"| `{name}.{key}` | {kind} | `{default}` | {description} |")
        else:
            lines.append(f"\n## `{name}`\n\n{field.description or ''} Default `{field.default}`.")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Write or check the document."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{DOC} is out of date: run scripts/gen_config_docs.py\n")
            sys.exit(1)
        return
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
