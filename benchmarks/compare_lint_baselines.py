"""trainwell lint vs. what existing tools give, on the same labelled corpora, in one run.

For each corpus (tests/lint/holdout, tests/lint/corpus) this scores three linters against the
``# expect: TWxxx`` labels, matching (file, line, code) exactly as
benchmarks/measure_lint_quality.py does:

- **trainwell**: ``trainwell lint`` with every default rule (trainwell.lint.quality).
- **ruff+TorchFix+bandit**: the best an existing-tools user gets. Each tool runs with the rules
  that LINT_RULES.md (§1 "existing rule", §2, §3) names for a trainwell rule, and its codes are
  renamed to TW codes (``RUFF_CODES``, ``TORCHFIX_CODES``, ``BANDIT_CODES``), unfiltered.
  ANN* findings become one TW110 at the enclosing ``def`` line. Rules with no existing
  equivalent (TW104, TW107, TW111, TW2xx except TW207) are all misses: that is the point of
  the comparison.
- **regex**: a naive line-regex linter (``REGEXES``), the other row of the lint issue.

Findings are de-duplicated per (file, line, code). A tool that is not installed is reported as
absent and contributes no findings. The overall row is micro-averaged over every finding.

Run: .venv/bin/python benchmarks/compare_lint_baselines.py [--corpus PATH ...] [--details]
(bandit is in the ``bench`` extra; ruff in ``dev``; TorchFix in ``torchfix``.)
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO

from trainwell.lint.findings import Finding
from trainwell.lint.quality import RuleScore, evaluate_corpus, materialise, score

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (ROOT / "tests" / "lint" / "holdout", ROOT / "tests" / "lint" / "corpus")
ANN_CODES = ("ANN001", "ANN002", "ANN003", "ANN201", "ANN202", "ANN204", "ANN205", "ANN206")

# existing tool code -> trainwell code (LINT_RULES.md §1 "existing rule", §2, §3)
RUFF_CODES: dict[str, str] = {
    "F403": "TW101",
    "S108": "TW102",
    "T201": "TW103",
    "T203": "TW103",
    "PLW0603": "TW105",
    "PLR2004": "TW106",
    "BLE001": "TW109",
    "E722": "TW109",
    "S110": "TW109",
    "S112": "TW109",
    **dict.fromkeys(ANN_CODES, "TW110"),
    "PLW0177": "TW302",
    "PD002": "TW307",
    "PD011": "TW308",
}
# TOR402 (zero_grad(set_to_none=False)) is named in LINT_RULES.md but TorchFix 0.7.0 has no
# such rule; it is mapped in case a later TorchFix has it (run with --select ALL)
TORCHFIX_CODES: dict[str, str] = {"TOR102": "TW108", "TOR402": "TW207"}
BANDIT_CODES: dict[str, str] = {"B614": "TW108"}

# The naive regex linter: one pattern per rule, matched per line (the label comment removed).
REGEXES: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "TW101": r"import \*",
        "TW102": r"[\"'](?:[~.]?/|\w+/)[^\"'\s]*[\"']|\.(?:csv|parquet|pt|pth|ckpt|pkl|onnx)[\"']",
        "TW103": r"\bprint\(",
        "TW105": r"^\s*global\s",
        "TW106": r"(?<![\w.])(?:\d{2,}|\d*\.\d+)(?![\w.])",
        "TW107": r"IPython|get_ipython\(|papermill",
        "TW108": r"torch\.load\((?!.*weights_only\s*=\s*True)",
        "TW109": r"^\s*except\s*(?::|\(?\s*(?:Base)?Exception\b)",
        "TW110": r"^\s*(?:async\s+)?def\s.*\)\s*:",
        "TW202": r"\b(?:train_test_split|RandomForest\w*|KMeans|KFold)\((?!.*random_state)",
        "TW203": r"benchmark\s*=\s*True",
        "TW207": r"zero_grad\((?:set_to_none\s*=\s*)?False",
        "TW302": r"[=!]=\s*(?:np\.nan|float\([\"']nan)",
        "TW307": r"inplace\s*=\s*True",
        "TW308": r"\.values\b",
    }.items()
}
# TW201 by regex: a __main__ guard in a file where no seeding call appears
MAIN_GUARD = re.compile(r"^if __name__ == [\"']__main__[\"']")
SEEDING = re.compile(r"manual_seed|random\.seed|seed_everything|set_seed")
LABEL_COMMENT = re.compile(r"#\s*expect:.*$")

TORCHFIX_LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):\d+: (?P<code>TOR\d{3})\b")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TORCHFIX_FINISHED = b"Finished checking"


@dataclass
class Tool:
    """An external linter: its executable (None: not installed) and version."""

    name: str
    path: Path | None
    version: str

    @property
    def present(self) -> bool:
        """Whether the tool can run."""
        return self.path is not None


def find_tool(name: str, package: str) -> Tool:
    """The executable next to this Python or on PATH, and the installed package's version."""
    sibling = Path(sys.executable).parent / name
    found = sibling if sibling.is_file() else shutil.which(name)
    try:
        installed = version(package)
    except PackageNotFoundError:
        installed = "not installed"
    if found is None:
        return Tool(name, None, "absent")
    return Tool(name, Path(found), installed)


def finding(path: Path | str, line: int, code: str) -> Finding:
    """A finding scored by (file name, line, code) only."""
    return Finding(path=Path(path).name, line=line, column=1, code=code, message="")


def def_spans(source: str) -> list[tuple[int, int]]:
    """``(def line, last signature line)`` for every function in a module."""
    spans: list[tuple[int, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            parts: list[ast.AST] = [*ast.walk(node.args)]
            if node.returns is not None:
                parts.append(node.returns)
            ends = [getattr(p, "end_lineno", None) or node.lineno for p in parts]
            spans.append((node.lineno, max([node.lineno, *ends])))
    return spans


def def_line(spans: Sequence[tuple[int, int]], row: int) -> int:
    """The ``def`` line of the innermost function whose signature holds ``row``."""
    holding = [start for start, end in spans if start <= row <= end]
    return max(holding) if holding else row


def run_ruff(tool: Tool, files: Sequence[Path]) -> list[Finding]:
    """ruff with the mapped codes, renamed; ANN* moved to the enclosing def line."""
    if tool.path is None:
        return []
    command = [
        str(tool.path),
        *("check", "--isolated", "--no-cache", "--exit-zero", "--output-format", "json"),
        *("--select", ",".join(sorted(RUFF_CODES)), "--"),
        *map(str, files),
    ]
    done = subprocess.run(command, capture_output=True, check=True)
    spans: dict[str, list[tuple[int, int]]] = {}
    out: list[Finding] = []
    for item in json.loads(done.stdout or b"[]"):
        code = item.get("code")
        if code not in RUFF_CODES:
            continue
        row = int(item["location"]["row"])
        if code in ANN_CODES:
            name = item["filename"]
            if name not in spans:
                spans[name] = def_spans(Path(name).read_text(encoding="utf-8"))
            row = def_line(spans[name], row)
        out.append(finding(item["filename"], row, RUFF_CODES[code]))
    return out


def run_torchfix(tool: Tool, files: Sequence[Path], jobs: int) -> list[Finding]:
    """TorchFix with every rule (TOR4xx are off by default), in ``jobs`` one-worker processes
    (its own worker pool shares one stdout, where lines can tear)."""
    if tool.path is None:
        return []
    groups = [list(files[i::jobs]) for i in range(jobs) if files[i::jobs]]
    out: list[Finding] = []
    with ExitStack() as stack:
        runs: list[tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]] = []
        for group in groups:
            out_file: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())
            err_file: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())
            command = [str(tool.path), "--jobs", "1", "--select", "ALL", "--", *map(str, group)]
            process = subprocess.Popen(command, stdout=out_file, stderr=err_file)
            runs.append((process, out_file, err_file))
        for process, stdout, stderr in runs:
            process.wait()
            stderr.seek(0)
            errors = stderr.read()
            # exit 1 with its summary line only means that some files could not be parsed
            if process.returncode and TORCHFIX_FINISHED not in errors:
                last = errors.decode("utf-8", errors="replace").strip().splitlines()[-1:]
                print(f"warning: torchfix failed (exit {process.returncode}): {''.join(last)}")
            stdout.seek(0)
            text = ANSI.sub("", stdout.read().decode("utf-8", errors="replace"))
            for line in text.splitlines():
                match = TORCHFIX_LINE.match(line)
                if match and match["code"] in TORCHFIX_CODES:
                    code = TORCHFIX_CODES[match["code"]]
                    out.append(finding(match["path"], int(match["row"]), code))
    return out


def run_bandit(tool: Tool, files: Sequence[Path]) -> list[Finding]:
    """bandit with the mapped tests only."""
    if tool.path is None:
        return []
    command = [
        str(tool.path),
        *("-q", "--exit-zero", "-f", "json", "-t", ",".join(sorted(BANDIT_CODES))),
        *map(str, files),
    ]
    report = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    return [
        finding(item["filename"], int(item["line_number"]), BANDIT_CODES[item["test_id"]])
        for item in report["results"]
        if item["test_id"] in BANDIT_CODES
    ]


def run_regex(files: Iterable[Path]) -> list[Finding]:
    """The naive regex linter."""
    out: list[Finding] = []
    for path in files:
        lines = [LABEL_COMMENT.sub("", line) for line in path.read_text("utf-8").splitlines()]
        seeded = any(SEEDING.search(line) for line in lines)
        for number, line in enumerate(lines, start=1):
            out.extend(
                finding(path, number, code) for code, rx in REGEXES.items() if rx.search(line)
            )
            if not seeded and MAIN_GUARD.match(line):
                out.append(finding(path, number, "TW201"))
    return out


def micro(scores: Mapping[str, RuleScore]) -> RuleScore:
    """All rules' counts pooled."""
    total = RuleScore()
    for item in scores.values():
        total.tp += item.tp
        total.fp += item.fp
        total.fn += item.fn
    return total


def cell(item: RuleScore | None) -> str:
    """``P / R`` of one linter on one rule (``-`` for a rule that never fired)."""
    if item is None:
        return f"{'':>11}"
    precision = f"{item.precision:.2f}" if item.tp + item.fp else "   -"
    return f"{precision:>4} / {item.recall:.2f}"


def report(
    corpus: Path,
    results: Mapping[str, Mapping[str, RuleScore]],
    alone: Mapping[str, Mapping[str, RuleScore]],
    details: bool,
) -> None:
    """The per-rule table and the micro-averaged rows of one corpus (each tool alone too)."""
    names = list(results)
    first = results[names[0]]
    labelled = sum(item.support for item in first.values())
    files = len(list(corpus.glob("*.py.txt")))
    shown = corpus.relative_to(ROOT) if corpus.is_relative_to(ROOT) else corpus
    print(f"\n## {shown}: {files} files, {labelled} labelled findings")
    print("per rule, precision / recall ('-': never fired)")
    print(f"{'rule':<7} {'n':>4}  " + "  ".join(f"{name:>20}" for name in names))
    codes = sorted({code for scores in results.values() for code in scores})
    for code in codes:
        support = max((s[code].support for s in results.values() if code in s), default=0)
        row = "  ".join(f"{cell(scores.get(code)):>20}" for scores in results.values())
        print(f"{code:<7} {support:>4}  {row}")
    print(f"\n{'overall (micro)':<22} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    for name, scores in {**results, **alone}.items():
        total = micro(scores)
        precision = f"{total.precision:.3f}" if total.tp + total.fp else "-"
        print(
            f"{name:<22} {total.tp:>4} {total.fp:>4} {total.fn:>4} "
            f"{precision:>9} {total.recall:>7.3f}"
        )
    if details:
        for name, scores in results.items():
            for code, item in scores.items():
                for file, line, _ in item.false_positives:
                    print(f"{name} FP {code} {file}:{line}")


def evaluate(
    corpus: Path, tools: Mapping[str, Tool], jobs: int
) -> tuple[dict[str, dict[str, RuleScore]], dict[str, dict[str, RuleScore]]]:
    """Scores of trainwell, the existing tools together and the regex linter on one corpus,
    and of each existing tool alone."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / corpus.name
        labels = materialise(corpus, workdir)
        files = sorted(workdir.glob("*.py"))
        by_tool = {
            "ruff": run_ruff(tools["ruff"], files),
            "TorchFix": run_torchfix(tools["torchfix"], files, jobs),
            "bandit": run_bandit(tools["bandit"], files),
        }
        regex_found = run_regex(files)
        trainwell = evaluate_corpus(corpus, Path(tmp) / "trainwell")
    together = [item for found in by_tool.values() for item in found]
    main_rows = {
        "trainwell": trainwell,
        "ruff+TorchFix+bandit": score(together, labels),
        "regex": score(regex_found, labels),
    }
    alone = {f"  {name} alone": score(found, labels) for name, found in by_tool.items()}
    return main_rows, alone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="folder of labelled *.py.txt files (repeatable; default: holdout and corpus)",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="torchfix processes (default: CPUs)"
    )
    parser.add_argument("--details", action="store_true", help="list every false positive")
    args = parser.parse_args()
    corpora = [c.resolve() for c in (args.corpus or CORPORA)]
    for corpus in corpora:
        if not corpus.is_dir():
            parser.error(f"corpus folder not found: {corpus}")
    tools = {
        "ruff": find_tool("ruff", "ruff"),
        "torchfix": find_tool("torchfix", "torchfix"),
        "bandit": find_tool("bandit", "bandit"),
    }
    print(f"python {platform.python_version()}, trainwell {version('trainwell')}")
    for tool in tools.values():
        note = "" if tool.present else " (not found: scored as absent, no findings)"
        print(f"{tool.name} {tool.version}{note}")
    for corpus in corpora:
        results, alone = evaluate(corpus, tools, max(1, args.jobs))
        report(corpus, results, alone, args.details)


if __name__ == "__main__":
    main()
