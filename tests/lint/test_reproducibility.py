"""TW201 unseeded-randomness, TW202 random-state-missing, TW203 nondeterministic-ops."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Run = Callable[..., set[tuple[int, str]]]

TRAINING = """
import random
import numpy as np
import torch
{helpers}

def main():
    {seed}
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    random.shuffle(items)
    noise = np.random.normal(size=3)

if __name__ == "__main__":
    main()
"""


@pytest.mark.parametrize(
    ("helpers", "seed", "reported"),
    [
        ("", "pass", True),
        ("", "seed_everything(7)", False),
        ("from lightning import seed_everything", "seed_everything(7)", False),
        ("", "torch.manual_seed(7); np.random.seed(7)", True),
        ("", "torch.manual_seed(7); np.random.seed(7); random.seed(7)", False),
        (
            "def fix(s):\n    random.seed(s)\n    np.random.seed(s)\n    torch.manual_seed(s)",
            "fix(7)",
            False,
        ),
        (
            "def fix(s):\n    np.random.seed(s)\n    torch.manual_seed(s)",
            "fix(7)",
            True,
        ),
        (
            "def set_seed(s):\n    random.seed(s)\n    np.random.seed(s)\n    torch.manual_seed(s)",
            "pass",
            True,
        ),
        ("", "torch.Generator().manual_seed(7)", True),
    ],
)
def test_entry_points_must_seed_what_they_use(
    hits: Run, helpers: str, seed: str, reported: bool
) -> None:
    found = hits(TRAINING.format(helpers=helpers, seed=seed), codes={"TW201"})
    assert bool(found) is reported
    if reported:
        assert {code for _, code in found} == {"TW201"}


def test_library_modules_and_local_generators_are_not_judged(hits: Run) -> None:
    library = "import numpy as np\ndef sample():\n    return np.random.rand()\n"
    assert hits(library, codes={"TW201"}) == set()
    local = (
        "import numpy as np\ndef main(seed):\n    rng = np.random.default_rng(seed)\n"
        "    return rng.normal()\nif __name__ == '__main__':\n    main(1)\n"
    )
    assert hits(local, codes={"TW201"}) == set()


def test_random_state(hits: Run) -> None:
    source = """
    from sklearn.model_selection import KFold, train_test_split
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    import xgboost as xgb
    a = train_test_split(X, y)
    b = train_test_split(X, y, random_state=seed)
    c = train_test_split(X, y, shuffle=False)
    d = KFold(5)
    e = KFold(5, shuffle=True)
    f = RandomForestClassifier(random_state=None)
    g = LogisticRegression()
    h = xgb.XGBClassifier(seed=seed)
    i = RandomForestClassifier(**params)
    j = xgb.XGBClassifier()
    j.load_model(path)
    """
    assert hits(source, codes={"TW202"}) == {(6, "TW202"), (10, "TW202"), (11, "TW202")}


def test_random_state_stands_down_after_np_seed(hits: Run) -> None:
    source = (
        "import numpy as np\nfrom sklearn.cluster import KMeans\nnp.random.seed(0)\nKMeans(3)\n"
    )
    assert hits(source, codes={"TW202"}) == set()


def test_nondeterministic_ops_only_in_seeded_modules(hits: Run) -> None:
    seeded = """
    import torch
    import lightning as L
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = False
    torch.use_deterministic_algorithms(False)
    trainer = L.Trainer(benchmark=True, deterministic=False)
    torch.backends.cudnn.benchmark = False
    """
    assert hits(seeded, codes={"TW203"}) == {
        (5, "TW203"), (6, "TW203"), (7, "TW203"), (8, "TW203"),
    }  # fmt: skip
    unseeded = "import torch\ntorch.backends.cudnn.benchmark = True\n"
    assert hits(unseeded, codes={"TW203"}) == set()


def test_random_state_only_for_the_libraries_randomized_apis(hits: Run) -> None:
    source = """
    import xgboost as xgb
    from xgboost import testing as tm

    def data():
        X, y, w = tm.make_regression(128, 16, False)
        return xgb.XGBRegressor(n_estimators=3).fit(X, y)
    """
    assert hits(source, codes={"TW202"}) == {(7, "TW202")}
