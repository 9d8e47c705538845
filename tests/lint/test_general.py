"""TW104, TW105, TW107, TW108, TW109, TW111, TW308 (trainwell's own part)."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., set[tuple[int, str]]]


def test_nested_try_only_inside_the_same_function(hits: Run) -> None:
    source = """
    def a():
        try:
            x = 1
            try:
                y = 2
            except KeyError:
                pass
        except OSError:
            raise
        try:
            z = 3
        finally:
            pass

    def b():
        try:
            def helper():
                try:
                    return 1
                except KeyError:
                    return 2
            return helper()
        except OSError:
            raise
    """
    assert hits(source, codes={"TW104"}) == {(5, "TW104")}


def test_global_container_mutation(hits: Run) -> None:
    source = """
    from collections import defaultdict
    CACHE = {}
    SEEN = set()
    STATS = defaultdict(list)
    NAMES = ["a", "b"]
    REGISTRY = {}

    def get(key):
        CACHE[key] = 1
        CACHE.pop("old", None)
        return CACHE

    def record(name, value):
        STATS[name].append(value)

    def local(CACHE):
        CACHE["x"] = 1

    def shadow():
        SEEN = set()
        SEEN.add(1)

    def read():
        return NAMES.index("a")

    def register(name):
        def wrap(fn):
            REGISTRY[name] = fn
            return fn
        return wrap
    """
    assert hits(source, codes={"TW105"}) == {(10, "TW105"), (15, "TW105")}


def test_notebook_leftovers(hits: Run) -> None:
    source = """
    import IPython
    from IPython.display import display
    from tqdm.auto import tqdm
    import papermill as pm
    get_ipython().system("ls")
    pm.execute_notebook("a.ipynb", "b.ipynb")
    """
    found = hits(source, codes={"TW107"})
    assert found == {(2, "TW107"), (3, "TW107"), (6, "TW107"), (7, "TW107")}
    assert hits(source, name="notebooks/explore.py", codes={"TW107"}) == set()
    assert hits(source, name="test_reports.py", codes={"TW107"}) == set()


def test_optional_jupyter_integration_is_not_notebook_code(hits: Run) -> None:
    optional = """
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            get_ipython = None

        def show(frame):
            if get_ipython is not None and get_ipython() is not None:
                display(frame)
        """
    assert hits(optional, codes={"TW107"}) == set()
    partly = """
        try:
            from IPython.display import display
        except (ModuleNotFoundError, AttributeError):
            display = print
        import IPython
        shell = get_ipython()
        """
    assert hits(partly, codes={"TW107"}) == {(6, "TW107"), (7, "TW107")}
    other_handler = """
        try:
            import IPython
        except ValueError:
            IPython = None
        """
    assert hits(other_handler, codes={"TW107"}) == {(3, "TW107")}


def test_torch_load_variants(hits: Run) -> None:
    source = """
    import torch
    import torch as th
    from torch import load as tl
    a = torch.load(p)
    b = th.load(p, weights_only=False)
    c = tl(p, map_location="cpu")
    d = torch.load(p, weights_only=True)
    e = torch.load(p, weights_only=flag)
    f = torch.load(p, **kwargs)
    g = torch.jit.load(p)
    h = torch.serialization.load(p)
    """
    assert hits(source, codes={"TW108"}) == {
        (5, "TW108"),
        (6, "TW108"),
        (7, "TW108"),
        (12, "TW108"),
    }


def test_torch_load_needs_torch(hits: Run) -> None:
    assert hits("def load(p):\n    return p\nx = load(1)\n", codes={"TW108"}) == set()


def test_broad_except_unless_reraised(hits: Run) -> None:
    source = """
    import contextlib
    try:
        a()
    except Exception:
        logger.exception("x")
    try:
        a()
    except:
        pass
    try:
        a()
    except (ValueError, BaseException) as e:
        raise RuntimeError("x") from e
    try:
        a()
    except Exception as e:
        raise e
    try:
        a()
    except Exception:
        raise
    try:
        a()
    except Exception as e:
        raise RuntimeError("x") from None
    try:
        a()
    except ValueError:
        pass
    with contextlib.suppress(Exception):
        a()
    with contextlib.suppress(KeyError):
        a()
    """
    assert hits(source, codes={"TW109"}) == {
        (5, "TW109"),
        (9, "TW109"),
        (25, "TW109"),
        (31, "TW109"),
    }


def test_frozen_configs(hits: Run) -> None:
    source = """
    from pydantic import BaseModel, ConfigDict
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Frozen(BaseModel):
        model_config = ConfigDict(frozen=True)

    class TrainConfig(Frozen):
        lr: float = 0.1

    class ThawedConfig(Frozen):
        model_config = ConfigDict(frozen=False)

    class AppSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="APP_")

    class Request(BaseModel):
        text: str

    class V1Params(BaseModel):
        class Config:
            frozen = True

    class LegacyParams(BaseModel):
        class Config:
            allow_mutation = False

    class KwConfig(BaseModel, frozen=True):
        a: int = 1
    """
    assert hits(source, codes={"TW111"}) == {(11, "TW111"), (14, "TW111"), (24, "TW111")}


def test_pandas_values_passed_to_a_call(hits: Run) -> None:
    source = """
    import numpy as np
    import pandas as pd
    df = pd.read_csv(path)
    a = np.log(df["x"].values)
    b = f(df[["x", "y"]].values)
    c = f(df.values)
    d = f(mapping.values())
    e = f(obj.values)
    """
    assert hits(source, codes={"TW308"}) == {(5, "TW308"), (6, "TW308"), (7, "TW308")}


def test_pandas_values_on_frames_known_from_annotations_and_arithmetic(hits: Run) -> None:
    source = """
    import numpy as np
    import pandas as pd
    TARGET = "price"

    def fit(frame: pd.DataFrame, arr: np.ndarray, preds):
        y = np.log1p(frame[TARGET].values)
        merged = frame.merge(preds, on="id")
        err = (merged["sales"] - merged["forecast"]).abs()
        p90 = np.percentile(err.values, 90)
        rows = f(frame.loc[frame.a > 0].values)
        ok = f(arr.values, preds[TARGET].values)
        frame = frame.to_numpy()
        return f(frame.values)
    """
    assert hits(source, codes={"TW308"}) == {(7, "TW308"), (10, "TW308"), (11, "TW308")}
