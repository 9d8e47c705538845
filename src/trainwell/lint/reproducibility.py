"""Seeds and determinism: TW201 unseeded-randomness, TW202 random-state-missing,
TW203 nondeterministic-ops."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import cast

from trainwell.lint.astutil import (
    FunctionNode,
    ModuleIndex,
    RawFinding,
    dotted,
    finding,
    has_star_kwargs,
    is_constant,
    keyword,
    last_name,
)

TORCH, NUMPY, RANDOM = "torch", "numpy", "random"
ALL_FAMILIES = frozenset({TORCH, NUMPY, RANDOM})
SEED_CALLS: dict[str, frozenset[str]] = {
    "torch.manual_seed": frozenset({TORCH}),
    "torch.random.manual_seed": frozenset({TORCH}),
    "torch.cuda.manual_seed": frozenset({TORCH}),
    "torch.cuda.manual_seed_all": frozenset({TORCH}),
    "numpy.random.seed": frozenset({NUMPY}),
    "random.seed": frozenset({RANDOM}),
}
# instance methods (a Generator's own seed) that do not seed the global generators
LOCAL_SEED_METHODS = frozenset({"manual_seed", "seed", "manual_seed_all"})
SEED_MARKER = "seed"
MAX_HELPER_DEPTH = 5
TORCH_DRAWS = frozenset(
    {
        "rand",
        "randn",
        "randint",
        "randperm",
        "rand_like",
        "randn_like",
        "randint_like",
        "normal",
        "bernoulli",
        "multinomial",
        "poisson",
    }
)
NUMPY_DRAWS = frozenset(
    {
        "rand",
        "randn",
        "randint",
        "random",
        "random_sample",
        "ranf",
        "sample",
        "choice",
        "shuffle",
        "permutation",
        "normal",
        "uniform",
        "binomial",
        "poisson",
        "beta",
        "gamma",
        "exponential",
        "multivariate_normal",
        "standard_normal",
        "bytes",
        "dirichlet",
        "laplace",
        "lognormal",
        "multinomial",
        "random_integers",
    }
)
RANDOM_DRAWS = frozenset(
    {
        "random",
        "randint",
        "randrange",
        "choice",
        "choices",
        "shuffle",
        "sample",
        "uniform",
        "gauss",
        "normalvariate",
        "betavariate",
        "triangular",
        "getrandbits",
        "expovariate",
    }
)
OPTIMIZERS = frozenset(
    {
        "SGD",
        "Adam",
        "AdamW",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "NAdam",
        "RAdam",
        "LBFGS",
        "SparseAdam",
        "ASGD",
        "Rprop",
        "Adafactor",
    }
)


def _module_references(index: ModuleIndex) -> dict[str, list[ast.AST]]:
    cached = index.memo.get("references")
    if cached is not None:
        return cast("dict[str, list[ast.AST]]", cached)
    refs: dict[str, list[ast.AST]] = {}
    for name in index.nodes(ast.Name):
        if isinstance(name.ctx, ast.Load):
            refs.setdefault(name.id, []).append(name)
    for attr in index.nodes(ast.Attribute):
        refs.setdefault(attr.attr, []).append(attr)
    index.memo["references"] = refs
    return refs


def _is_referenced_outside(index: ModuleIndex, func: FunctionNode) -> bool:
    """Whether a same-file function is used (called or passed) outside its own body."""
    for ref in _module_references(index).get(func.name, []):
        if func not in index.enclosing_functions(ref):
            return True
    return False


class SeedAnalysis:
    """Which RNG families a module seeds and which it relies on."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self._function_seeds: dict[FunctionNode, frozenset[str]] = {}

    def call_seeds(self, call: ast.Call, depth: int = 0) -> frozenset[str]:
        """The families one call seeds."""
        name = self.index.call_name(call) or ""
        if name in SEED_CALLS:
            return SEED_CALLS[name]
        local = self.index.resolve_local_function(call)
        if local is not None:
            return self.function_seeds(local, depth + 1)
        method = last_name(call.func) or ""
        if SEED_MARKER not in method.lower():
            return frozenset()
        if method in LOCAL_SEED_METHODS:
            return frozenset()
        return ALL_FAMILIES

    def function_seeds(self, func: FunctionNode, depth: int = 0) -> frozenset[str]:
        """The families a same-file function seeds (through its own calls)."""
        if func in self._function_seeds:
            return self._function_seeds[func]
        self._function_seeds[func] = frozenset()  # recursion guard
        if depth > MAX_HELPER_DEPTH:
            return frozenset()
        out: set[str] = set()
        for call in self.index.calls_in_scope(func):
            out |= self.call_seeds(call, depth)
        self._function_seeds[func] = frozenset(out)
        return self._function_seeds[func]

    def module_seeds(self, reachable_only: bool = False) -> frozenset[str]:
        """Families seeded anywhere in the module; with ``reachable_only``, only by calls that
        run: module-level calls, and calls in functions that are used somewhere in the file."""
        memo_key = f"module_seeds_{reachable_only}"
        cached = self.index.memo.get(memo_key)
        if cached is not None:
            return cast("frozenset[str]", cached)
        out: set[str] = set()
        for call in self.index.calls:
            func = self.index.enclosing_function(call)
            if reachable_only and func is not None and not _is_referenced_outside(self.index, func):
                continue
            if self.index.resolve_local_function(call) is None:
                out |= self.call_seeds(call)
        result = frozenset(out)
        self.index.memo[memo_key] = result
        return result

    def used_families(self) -> dict[str, ast.AST]:
        """Family -> first place the module relies on its global generator."""
        index = self.index
        used: dict[str, ast.AST] = {}
        uses_torch = index.imports_any("torch", "lightning", "pytorch_lightning")
        for call in index.calls:
            name = index.call_name(call) or ""
            method = last_name(call.func) or ""
            family: str | None = None
            if (uses_torch and method == "backward") or (
                name.startswith("torch.optim.") and method in OPTIMIZERS
            ):
                family = TORCH
            elif name.startswith("torch.") and name.count(".") == 1 and method in TORCH_DRAWS:
                family = TORCH if keyword(call, "generator") is None else None
            elif name.startswith("numpy.random.") and method in NUMPY_DRAWS:
                family = NUMPY
            elif name.startswith("random.") and name.count(".") == 1 and method in RANDOM_DRAWS:
                family = RANDOM
            if family and family not in used:
                used[family] = call
        return used


def check_unseeded(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW201: an entry-point module relies on RNG families it never seeds."""
    guards = index.main_guards()
    if not guards:
        return
    analysis = SeedAnalysis(index)
    used = analysis.used_families()
    if not used:
        return
    missing = sorted(set(used) - analysis.module_seeds(reachable_only=True))
    if missing:
        where = ", ".join(f"{f} (line {getattr(used[f], 'lineno', 0)})" for f in missing)
        yield finding("TW201", guards[0], f"entry point never seeds {where}")


# --- TW202 ------------------------------------------------------------------------------------

RANDOMIZED_ALWAYS = frozenset(
    {
        "train_test_split",
        "RepeatedKFold",
        "RepeatedStratifiedKFold",
        "ShuffleSplit",
        "StratifiedShuffleSplit",
        "GroupShuffleSplit",
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "KMeans",
        "MiniBatchKMeans",
        "IsolationForest",
        "MLPClassifier",
        "MLPRegressor",
        "XGBClassifier",
        "XGBRegressor",
        "XGBRanker",
        "XGBRFClassifier",
        "XGBRFRegressor",
        "LGBMClassifier",
        "LGBMRegressor",
        "LGBMRanker",
        "CatBoostClassifier",
        "CatBoostRegressor",
        "TargetEncoder",
        "mutual_info_classif",
        "mutual_info_regression",
        "SGDClassifier",
        "SGDRegressor",
        "TruncatedSVD",
        "PCA",
        "TSNE",
        "UMAP",
        "BaggingClassifier",
        "BaggingRegressor",
        "AdaBoostClassifier",
        "AdaBoostRegressor",
        "RandomizedSearchCV",
        "HalvingRandomSearchCV",
        "permutation_importance",
        "make_classification",
        "make_regression",
        "make_blobs",
        "make_moons",
        "make_circles",
        "resample",
        "shuffle",
        "SMOTE",
        "RandomOverSampler",
        "RandomUnderSampler",
        "GaussianMixture",
        "RandomTreesEmbedding",
        "SelectFromModel",
        "Perceptron",
        "PassiveAggressiveClassifier",
    }
)
SHUFFLE_OPTIONAL = frozenset({"KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold"})
RANDOMIZED_ROOTS = frozenset({"sklearn", "xgboost", "lightgbm", "catboost", "imblearn", "umap"})
# the randomized APIs of the boosting libraries are their estimators; other names under them
# (``xgboost.testing.make_regression``) are helpers that only share a scikit-learn name
ROOT_API_PREFIXES = {
    "xgboost": ("XGB",),
    "lightgbm": ("LGBM",),
    "catboost": ("CatBoost",),
    "umap": ("UMAP",),
}
SEED_KEYWORDS = ("random_state", "seed", "random_seed")
NOT_RANDOMIZED = frozenset({"SelectFromModel"})
LOAD_METHODS = frozenset({"load_model", "load"})  # takes an estimator, no random_state


def _loaded_afterwards(index: ModuleIndex, call: ast.Call) -> bool:
    """``model = XGBClassifier(); model.load_model(path)``: a trained model is loaded into it."""
    statement = next((a for a in index.ancestors(call) if isinstance(a, ast.stmt)), None)
    if not isinstance(statement, ast.Assign):
        return False
    targets = {d for t in statement.targets if (d := dotted(t)) is not None}
    return any(
        isinstance(c.func, ast.Attribute)
        and c.func.attr in LOAD_METHODS
        and dotted(c.func.value) in targets
        for c in index.calls_in_scope(index.scope(call))
    )


def check_random_state(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW202: randomized scikit-learn/XGBoost/LightGBM calls without ``random_state``."""
    if not index.imports_any(*RANDOMIZED_ROOTS):
        return
    if NUMPY in SeedAnalysis(index).module_seeds(reachable_only=True):
        return
    for call in index.calls:
        name = index.call_name(call) or ""
        method = name.rsplit(".", 1)[-1]
        root = name.split(".")[0]
        if root not in RANDOMIZED_ROOTS or method in NOT_RANDOMIZED:
            continue
        if not method.startswith(ROOT_API_PREFIXES.get(root, ("",))):
            continue  # xgboost.testing.make_regression: a same-named helper, not sklearn's
        if method in SHUFFLE_OPTIONAL:
            shuffle = keyword(call, "shuffle")
            if shuffle is None or is_constant(shuffle.value, False):
                continue
        elif method not in RANDOMIZED_ALWAYS:
            continue
        if method == "train_test_split":
            shuffle = keyword(call, "shuffle")
            if shuffle is not None and is_constant(shuffle.value, False):
                continue
        if has_star_kwargs(call) or _loaded_afterwards(index, call):
            continue
        given = [keyword(call, k) for k in SEED_KEYWORDS]
        present = [kw for kw in given if kw is not None]
        if not present or all(is_constant(kw.value, None) for kw in present):
            yield finding("TW202", call, f"`{method}` without `random_state`")


# --- TW203 ---------------------------------------------------------------------------------------

BENCHMARK_FLAG = "torch.backends.cudnn.benchmark"
DETERMINISTIC_FLAG = "torch.backends.cudnn.deterministic"
USE_DETERMINISTIC = "torch.use_deterministic_algorithms"
TRAINER_ROOTS = ("lightning", "pytorch_lightning")
CUDNN_FLAGS = frozenset({"benchmark", "deterministic"})
NONDETERMINISM_CALLS = frozenset({"use_deterministic_algorithms", "Trainer"})


def check_nondeterministic(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW203: a module that seeds the global generators turns on non-deterministic kernels."""
    if index.is_test_file or not index.imports_any("torch", *TRAINER_ROOTS):
        return
    triggers = [
        a for a in index.nodes(ast.Assign) if any(last_name(t) in CUDNN_FLAGS for t in a.targets)
    ]
    calls = [c for c in index.calls if last_name(c.func) in NONDETERMINISM_CALLS]
    if not (triggers or calls) or not SeedAnalysis(index).module_seeds():
        return
    for assign in triggers:
        for target in assign.targets:
            name = index.qualname(target)
            if name == BENCHMARK_FLAG and is_constant(assign.value, True):
                yield finding("TW203", assign, "`cudnn.benchmark = True` in a seeded run")
            elif name == DETERMINISTIC_FLAG and is_constant(assign.value, False):
                yield finding("TW203", assign, "`cudnn.deterministic = False` in a seeded run")
    for call in calls:
        name = index.call_name(call) or ""
        if name == USE_DETERMINISTIC and call.args and is_constant(call.args[0], False):
            yield finding("TW203", call, "`use_deterministic_algorithms(False)` in a seeded run")
        elif name.endswith(".Trainer") and name.startswith(TRAINER_ROOTS):
            bench = keyword(call, "benchmark")
            deterministic = keyword(call, "deterministic")
            if bench is not None and is_constant(bench.value, True):
                yield finding("TW203", bench.value, "`Trainer(benchmark=True)` in a seeded run")
            if deterministic is not None and is_constant(deterministic.value, False):
                yield finding(
                    "TW203", deterministic.value, "`Trainer(deterministic=False)` in a seeded run"
                )
