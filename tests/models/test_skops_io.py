"""skops.io imported without its default estimator scan: no torch, same files, same trust."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trainwell.errors import BundleError


def test_import_skips_torch_and_round_trips_a_fitted_pipeline(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from sklearn.ensemble import HistGradientBoostingClassifier\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "from trainwell.models.sklearn_models import load_skops, save_skops\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)\n"
        "model = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=5))\n"
        "model.fit(X, y)\n"
        f"directory = Path({str(tmp_path)!r})\n"
        "save_skops(model, directory)\n"
        "loaded = load_skops(directory / 'model.skops')\n"
        "assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_function_in_the_file_is_still_refused(tmp_path: Path) -> None:
    import shutil

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from trainwell.models.sklearn_models import load_skops

    # a crafted file: a transformer whose function deletes folders (never called here)
    sio.dump(FunctionTransformer(shutil.rmtree), tmp_path / "m.skops")
    with pytest.raises(BundleError, match="does not trust"):
        load_skops(tmp_path / "m.skops")
