"""The TorchFix pass-through (TW9xx): the code table, parsing its output, running it, opt-in
selection, and `trainwell lint --select TW9` end to end."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trainwell.errors import TrainwellError
from trainwell.lint.cli import lint_command
from trainwell.lint.engine import Linter
from trainwell.lint.noqa import parse_noqa_comment
from trainwell.lint.rules import RULES
from trainwell.lint.settings import LintSettings, load_settings
from trainwell.lint.torchfix import (
    TORCHFIX_CODES,
    TORCHFIX_ENV,
    TORCHFIX_RULE_CODES,
    TorchFixDiagnostic,
    TorchFixRun,
    find_torchfix,
    parse_torchfix_output,
    partition,
    start_torchfix,
    torchfix_findings,
)

app = typer.Typer()
app.command("lint")(lint_command)
app.command("other")(lambda: None)  # a second command, so "lint" is a subcommand as in trainwell
runner = CliRunner()

needs_torchfix = pytest.mark.skipif(
    find_torchfix() is None, reason="torchfix is not installed (trainwell's torchfix extra)"
)

SMELLY = """\
import torch
import torchvision

x = torch.ones(3)
y = torch.log(1 + x)
model = torchvision.models.resnet18(pretrained=True)
"""


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["lint", *args])
    return result.exit_code, result.output


def fake_torchfix(folder: Path, body: str) -> Path:
    script = folder / "torchfix"
    script.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return script


# --- the code table and the rules --------------------------------------------------------------


def test_the_table_is_tor_abc_to_tw9ac_and_each_code_is_a_rule() -> None:
    for tor, tw in TORCHFIX_CODES.items():
        assert tw == f"TW9{tor[3]}{tor[5]}"
        rule = RULES[tw]
        assert rule.aliases == (tor,)
        assert rule.source.startswith(f"TorchFix {tor}")
        assert not rule.default_enabled and not rule.notebooks
    assert len(TORCHFIX_RULE_CODES) == len(TORCHFIX_CODES)
    # TW108 does torch.load itself; the others are not in the catalog
    for tor in ("TOR102", "TOR002", "TOR401", "TOR901"):
        assert tor not in TORCHFIX_CODES


def test_noqa_accepts_the_torchfix_code() -> None:
    assert parse_noqa_comment("# noqa: TOR201") == {"TOR201", "TW921"}


# --- parsing ---------------------------------------------------------------------------------


def test_parse_reads_findings_and_skips_diffs_colours_and_unknown_codes(tmp_path: Path) -> None:
    a, b = tmp_path / "pkg" / "a.py", tmp_path / "b.py"
    raw = (
        "pkg/a.py:5:5: TOR106 Use `torch.log1p(x)` instead of `torch.log(1 + x)`.\n"
        f"{b}:6:9: TOR201 [*] Parameter `pretrained` is deprecated.\r\n"
        "pkg/a.py\x1b[96m:\x1b[0m7\x1b[96m:\x1b[0m1\x1b[96m:\x1b[0m "
        "\x1b[31m\x1b[1mTOR203\x1b[0m [\x1b[96m*\x1b[0m] Consider `from torchvision import x`.\n"
        "pkg/a.py:8:1: TOR102 [*] `torch.load` without `weights_only`\n"
        "other.py:1:1: TOR106 a file torchfix was not given\n"
        f"--- {a}\n+++ {a}\n@@ -1,3 +1,3 @@\n-import torchvision.models as models\n"
        "+pkg/a.py:9:1: TOR106 inside a diff\n"
        "Finished checking 2 files.\n"
    ).encode()
    found = parse_torchfix_output(raw, tmp_path, [a, b])
    assert found == [
        TorchFixDiagnostic(
            a, "TOR106", 5, 5, "Use `torch.log1p(x)` instead of `torch.log(1 + x)`."
        ),
        TorchFixDiagnostic(b, "TOR201", 6, 9, "Parameter `pretrained` is deprecated."),
        TorchFixDiagnostic(a, "TOR203", 7, 1, "Consider `from torchvision import x`."),
    ]
    assert parse_torchfix_output(b"", tmp_path, [a]) == []
    assert parse_torchfix_output(b"\xff\xfe garbage\npkg/a.py:x:1: TOR106 m\n", tmp_path, [a]) == []


def test_findings_get_trainwell_codes_and_keep_the_torchfix_code() -> None:
    diag = TorchFixDiagnostic(Path("/a.py"), "TOR201", 6, 9, "Parameter `pretrained`.")
    (raw,) = torchfix_findings([diag])
    assert (raw.code, raw.line, raw.column) == ("TW921", 6, 9)
    assert raw.message == "Parameter `pretrained`. (TOR201)"


def test_partition_balances_by_size_and_keeps_every_file(tmp_path: Path) -> None:
    files = []
    for i, size in enumerate([900, 100, 100, 100, 500, 400, 10]):
        path = tmp_path / f"f{i}.py"
        path.write_text("x" * size)
        files.append(path)
    groups = partition(files, 3)
    assert sorted(p for g in groups for p in g) == sorted(files)
    loads = sorted(sum(p.stat().st_size for p in g) for g in groups)
    assert loads == [600, 610, 900]
    assert all(g == sorted(g) for g in groups)
    assert partition(files[:2], 8) == [[files[0]], [files[1]]]
    assert partition(files, 0) == [sorted(files)]


# --- finding and running torchfix ------------------------------------------------------------


def test_find_torchfix_prefers_the_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TORCHFIX_ENV, "/opt/custom/torchfix")
    assert find_torchfix() == Path("/opt/custom/torchfix")


def test_exit_1_after_finishing_means_unparsed_files_not_failure(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("import torch\n")
    fake = fake_torchfix(
        tmp_path,
        """\
        echo "a.py:2:5: TOR106 [*] Use log1p."
        echo "Finished checking 2 files." >&2
        exit 1
        """,
    )
    run = TorchFixRun(fake, [source], ["TOR106"], jobs=2, cwd=tmp_path)
    assert run.results() == [TorchFixDiagnostic(source, "TOR106", 2, 5, "Use log1p.")]


def test_a_broken_torchfix_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    fake = fake_torchfix(
        tmp_path,
        'echo "Traceback (most recent call last):" >&2\necho "ValueError: boom" >&2\nexit 1\n',
    )
    with pytest.raises(TrainwellError, match=r"torchfix failed \(exit 1\): ValueError: boom"):
        TorchFixRun(fake, [source], ["TOR106"]).results()
    with pytest.raises(TrainwellError, match="cannot run torchfix"):
        TorchFixRun(tmp_path / "missing", [source], ["TOR106"])


def test_start_only_for_enabled_codes_and_py_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TORCHFIX_ENV, str(tmp_path / "nonexistent"))
    py, notebook = tmp_path / "a.py", tmp_path / "b.ipynb"
    assert start_torchfix([py], {"TW108", "TW101"}) is None
    assert start_torchfix([notebook], {"TW921"}) is None
    with pytest.raises(TrainwellError, match=r"torchfix not found at \$TRAINWELL_TORCHFIX"):
        start_torchfix([py, notebook], {"TW921"})


# --- selection: opt-in -----------------------------------------------------------------------


def test_tw9_is_off_by_default_and_for_tw_or_all() -> None:
    for select in (("TW",), ("ALL",), ("TW", "ALL")):
        enabled = LintSettings(select=select).enabled_codes()
        assert not enabled & TORCHFIX_RULE_CODES, select
        assert "TW108" in enabled
    assert not LintSettings().enabled_codes() & TORCHFIX_RULE_CODES


def test_tw9_is_on_when_named_or_its_group_is() -> None:
    assert LintSettings(select=("TW9",)).enabled_codes() == TORCHFIX_RULE_CODES
    assert LintSettings(select=("TW92",)).enabled_codes() == {"TW921", "TW922", "TW923"}
    assert LintSettings(select=("TW921",)).enabled_codes() == {"TW921"}
    both = LintSettings(select=("TW", "TW9"), ignore=("TW92",)).enabled_codes()
    assert "TW108" in both and "TW901" in both and "TW921" not in both
    extended = LintSettings().with_cli(None, None, ["TW91"]).enabled_codes()
    assert "TW108" in extended and "TW916" in extended and "TW901" not in extended
    assert "TW921" not in LintSettings(select=("TW9",)).enabled_codes(["TW921"])


def test_extend_select_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.trainwell.lint]\nextend-select = ["tw9"]\n')
    settings = load_settings(None, tmp_path)
    assert settings.extend_select == ("TW9",)
    assert settings.enabled_codes() >= TORCHFIX_RULE_CODES


# --- end to end ------------------------------------------------------------------------------


def test_default_selection_does_not_run_torchfix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a torchfix that cannot start: a run that needed it would stop with exit 2
    monkeypatch.setenv(TORCHFIX_ENV, str(tmp_path / "nonexistent"))
    source = tmp_path / "smelly.py"
    source.write_text(SMELLY)
    for args in ((), ("--select", "TW"), ("--select", "ALL")):
        code, out = invoke(str(source), "--format", "json", *args)
        assert code in (0, 1), out
        assert not any(f["code"].startswith("TW9") for f in json.loads(out)["findings"])


def test_missing_torchfix_is_exit_2_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TORCHFIX_ENV, str(tmp_path / "nonexistent"))
    source = tmp_path / "smelly.py"
    source.write_text(SMELLY)
    code, out = invoke(str(source), "--select", "TW9")
    assert code == 2
    assert "torchfix not found" in out and "TRAINWELL_TORCHFIX" in out
    assert "torchfix==0.7.0" in out


@needs_torchfix
def test_select_tw9_reports_torchfix_findings(tmp_path: Path) -> None:
    source = tmp_path / "smelly.py"
    source.write_text(SMELLY)
    code, out = invoke(str(source), "--select", "TW9", "--format", "json")
    assert code == 1, out
    found = [(Path(f["path"]).name, f["line"], f["code"]) for f in json.loads(out)["findings"]]
    assert found == [("smelly.py", 5, "TW916"), ("smelly.py", 6, "TW921")]
    code, out = invoke(str(source), "--select", "TW921")
    assert code == 1
    assert "smelly.py:6:9: TW921 Parameter `pretrained` is deprecated" in out
    assert "(TOR201)" in out and "hint: pass weights=" in out and "TW916" not in out


@needs_torchfix
def test_noqa_and_per_file_ignores_silence_tw9(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.trainwell.lint]\nselect = ["TW9"]\nper-file-ignores = { "tests/**" = ["TW92"] }\n'
    )
    (root / "a.py").write_text(
        SMELLY.replace("log(1 + x)", "log(1 + x)  # noqa: TOR106")
        + "z = torch.log(x + 1)  # noqa: TW916\nw = torch.exp(x) - 1  # noqa: TW921\n"
    )
    (root / "tests" / "test_a.py").write_text(SMELLY)
    # torchfix exits 1 when a file does not parse; that is TW001's business, not an error
    (root / "broken.py").write_text("import torch\ndef f(:\n")
    settings = load_settings(None, root)
    report = Linter(settings, jobs=2).lint([root], base=root)
    found = sorted((f.path, f.line, f.code) for f in report.findings)
    assert found == [
        ("a.py", 6, "TW921"),
        ("a.py", 8, "TW917"),
        ("tests/test_a.py", 5, "TW916"),
    ]


@needs_torchfix
@pytest.mark.parametrize("kind", ["bad", "good"])
def test_tw9_examples_are_what_the_rule_says(tmp_path: Path, kind: str) -> None:
    for code in TORCHFIX_RULE_CODES:
        (tmp_path / f"{code.lower()}_{kind}.py").write_text(getattr(RULES[code], kind) + "\n")
    report = Linter(LintSettings(select=("TW9",), root=tmp_path), jobs=2).lint(
        [tmp_path], base=tmp_path
    )
    found = {(Path(f.path).stem.split("_")[0].upper(), f.code) for f in report.findings}
    for code in TORCHFIX_RULE_CODES:
        if kind == "bad":
            assert (code, code) in found, f"the bad example of {code} is not reported"
        else:
            assert not any(c == code for _, c in found), f"the good example of {code} is reported"
