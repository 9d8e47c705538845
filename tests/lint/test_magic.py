"""TW106 magic-number: what counts and what is exempt."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., set[tuple[int, str]]]

EXEMPT = """
import sys
from pydantic import BaseModel, Field
import typer

MAX_EPOCHS = 100
_BETAS = (0.9, 0.999)
TILE: int = 512

class Cfg(BaseModel):
    lr: float = Field(3e-4, ge=1e-6)
    batch_size: int = 64

def train(epochs: int = 10, lr: float = 0.01) -> None:
    x = y[:, :3] + y[5] + y[0, 7]
    z = x.permute(0, 2, 3, 1).mean(dim=(2, 3)).softmax(-1)
    w = torch.cat([a, b], 1).unfold(3, TILE, TILE)
    r = round(acc, 4) + np.round(acc, decimals=3)
    line = "-" * 80
    ok = sys.version_info >= (3, 11)
    n = 0 + 1 - 1 + 2 + 0.0 + 1.0 + 2.0

def cli(n: int = typer.Option(16, help="n")) -> None:
    parser.add_argument("--k", type=int, default=5)
"""

FLAGGED = """
def train(model):
    opt = AdamW(model.parameters(), lr=3e-4, weight_decay=0.05)
    for epoch in range(1, 11):
        if loss < 0.035:
            break
    set_seed(42)
    x = y / 255.0
    threshold = 0.5
    s = -3
"""


def test_exempt_contexts(hits: Run) -> None:
    assert hits(EXEMPT, codes={"TW106"}) == set()


def test_hyperparameters_thresholds_bounds_seeds(hits: Run) -> None:
    assert hits(FLAGGED, codes={"TW106"}) == {
        (3, "TW106"), (4, "TW106"), (5, "TW106"), (7, "TW106"), (8, "TW106"), (9, "TW106"),
        (10, "TW106"),
    }  # fmt: skip


def test_one_finding_per_line_at_the_first_literal() -> None:
    from pathlib import Path

    from trainwell.lint.analyzer import analyze_source

    result = analyze_source("x = f(7, 8, 9)\n", Path("m.py"), frozenset({"TW106"}))
    assert len(result.findings) == 1
    assert result.findings[0].column == len("x = f(") + 1
    assert "7" in result.findings[0].message and "2 more" in result.findings[0].message


def test_test_files_are_exempt(hits: Run) -> None:
    assert hits("assert f(3) == 42\n", name="test_model.py", codes={"TW106"}) == set()
