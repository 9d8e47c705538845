"""The rule catalog of `trainwell lint`: one literal table, one entry per rule.

Codes and names follow ``LINT_RULES.md``. ``source`` says who finds a rule: ``custom`` rules are
trainwell's own AST analysis; the others are ruff rules run as a subprocess and renamed (see
:mod:`trainwell.lint.ruff`), or TorchFix's, the opt-in TW9xx rules (see
:mod:`trainwell.lint.torchfix`). ``--explain CODE`` prints an entry.
"""

from __future__ import annotations

from trainwell.lint.findings import Rule

_TORCHFIX_PLAYBOOK = (
    "Not a playbook item: a TorchFix pass-through (LINT_RULES.md §2), cheap and correct; "
    "off unless selected by name (`--select TW9`)."
)

RULES: dict[str, Rule] = {
    "TW101": Rule(
        code="TW101",
        name="star-import",
        summary="`from module import *` hides where names come from",
        playbook="Anti-patterns: `from module import *` -> explicit imports.",
        hint="import the names you use: `from module import a, b`",
        bad="from torch.nn import *\n\nlayer = Linear(4, 2)",
        good="from torch.nn import Linear\n\nlayer = Linear(4, 2)",
        source="ruff F403",
        aliases=("F403",),
        notebooks=True,
    ),
    "TW102": Rule(
        code="TW102",
        name="hardcoded-path",
        summary="a filesystem path is written into the code",
        playbook="Anti-patterns: hardcoded paths -> config files or environment variables.",
        hint="read the path from the config, a CLI option or an environment variable",
        bad='df = pd.read_csv("/home/alice/data/train.csv")',
        good='df = pd.read_csv(cfg.data.train_path)\n# or: Path(cfg.data_dir) / "train.csv"',
    ),
    "TW103": Rule(
        code="TW103",
        name="print-debugging",
        summary="`print()` used for logging",
        playbook=(
            'Code standards: structured logging (structlog); anti-patterns: "print() debugging '
            '-> structured logging".'
        ),
        hint='log an event: `logger.info("epoch_end", epoch=epoch, loss=loss)`',
        bad=(
            'for epoch in range(epochs):\n    loss = train_epoch(model)\n    print(f"loss: {loss}")'
        ),
        good=(
            "logger = structlog.get_logger()\nfor epoch in range(epochs):\n"
            '    loss = train_epoch(model)\n    logger.info("epoch_end", epoch=epoch, loss=loss)'
        ),
        source="ruff T201, T203 (CLI output dropped)",
        aliases=("T201", "T203"),
    ),
    "TW104": Rule(
        code="TW104",
        name="nested-try",
        summary="a try/except nested inside another try/except",
        playbook="Anti-patterns: nested try/except -> handle specific exceptions.",
        hint="handle specific exceptions in one try, or move the inner part into a helper",
        bad=(
            "try:\n    cfg = load(path)\n    try:\n        model = build(cfg)\n"
            "    except KeyError:\n        model = None\nexcept OSError as e:\n"
            '    raise ConfigError(f"cannot read {path}") from e'
        ),
        good=(
            "try:\n    cfg = load(path)\nexcept OSError as e:\n"
            '    raise ConfigError(f"cannot read {path}") from e\nmodel = build_or_none(cfg)'
        ),
    ),
    "TW105": Rule(
        code="TW105",
        name="global-mutable-state",
        summary="a function rebinds or mutates module-level state",
        playbook="Anti-patterns: global mutable state -> dependency injection.",
        hint="pass the object in as a parameter (or keep it on an instance) instead",
        bad=(
            "_MODELS = {}\n"
            "\n"
            "def get_model(name):\n"
            "    _MODELS[name] = load(name)\n"
            "    return _MODELS[name]"
        ),
        good="def get_model(name: str, cache: dict[str, Model]) -> Model:\n    ...",
        source="custom + ruff PLW0603",
        aliases=("PLW0603",),
    ),
    "TW106": Rule(
        code="TW106",
        name="magic-number",
        summary="an unnamed numeric literal in executable code",
        playbook="Anti-patterns: magic numbers -> named constants.",
        hint="name it (an UPPER_CASE constant) or move it to the config",
        bad="optimizer = AdamW(model.parameters(), lr=3e-4)\nif val_loss < 0.035:\n    stop()",
        good=(
            "optimizer = AdamW(model.parameters(), lr=cfg.learning_rate)\n"
            "if val_loss < cfg.target_loss:\n    stop()"
        ),
        aliases=("PLR2004",),
    ),
    "TW107": Rule(
        code="TW107",
        name="notebook-in-production",
        summary="production code depends on Jupyter",
        playbook="Anti-patterns: Jupyter in production -> .py files with proper structure.",
        hint="move the code into a module under src/ and import it; keep notebooks exploratory",
        bad=(
            "from IPython.display import display\n"
            'get_ipython().run_line_magic("matplotlib", "inline")'
        ),
        good="import structlog\n\nlogger = structlog.get_logger()",
    ),
    "TW108": Rule(
        code="TW108",
        name="unsafe-torch-load",
        summary="`torch.load` without `weights_only=True` can run code from a pickle",
        playbook="Anti-patterns: torch.load(weights_only=False) -> always weights_only=True.",
        hint="pass weights_only=True (or use safetensors)",
        bad="state = torch.load(path)\nstate = torch.load(path, weights_only=False)",
        good='state = torch.load(path, map_location="cpu", weights_only=True)',
        notebooks=True,
    ),
    "TW109": Rule(
        code="TW109",
        name="broad-except",
        summary="`except Exception` / bare `except` that swallows the error",
        playbook=(
            "Code standards, error handling: NOT `except Exception`; catch specific exceptions "
            "and re-raise with context."
        ),
        hint="catch the specific exception, or re-raise: `raise DataError(...) from e`",
        bad=(
            "try:\n"
            "    df = load(path)\n"
            "except Exception:\n"
            '    logger.exception("load_failed")\n'
            "    df = None"
        ),
        good=(
            "try:\n    df = load(path)\nexcept FileNotFoundError as e:\n"
            '    logger.error("data_not_found", path=str(e.filename))\n'
            '    raise DataError(f"Training data not found: {e.filename}") from e'
        ),
        aliases=("BLE001", "E722"),
        notebooks=True,
    ),
    "TW110": Rule(
        code="TW110",
        name="missing-type-hints",
        summary="a function without full type hints",
        playbook="Code standards: Type Hints: Always.",
        hint="annotate every parameter and the return type (`-> None` included)",
        bad="def train_model(model, loader, epochs=10):\n    ...",
        good=(
            "def train_model(\n    model: nn.Module, loader: DataLoader, epochs: int = 10\n"
            ") -> dict[str, list[float]]:\n    ..."
        ),
        source="ruff ANN001-003, ANN201-206 (one finding per def)",
        aliases=(
            "ANN001",
            "ANN002",
            "ANN003",
            "ANN201",
            "ANN202",
            "ANN204",
            "ANN205",
            "ANN206",
        ),
    ),
    "TW111": Rule(
        code="TW111",
        name="config-not-frozen",
        summary="a Pydantic config class that is not frozen",
        playbook='Code standards, configuration: Pydantic with `model_config = {"frozen": True}`.',
        hint='add `model_config = ConfigDict(frozen=True, extra="forbid")`',
        bad="class TrainingConfig(BaseModel):\n    learning_rate: float = 1e-4",
        good=(
            "class TrainingConfig(BaseModel):\n"
            '    model_config = ConfigDict(frozen=True, extra="forbid")\n'
            "    learning_rate: float = 1e-4"
        ),
    ),
    "TW201": Rule(
        code="TW201",
        name="unseeded-randomness",
        summary="an entry point uses a random generator it never seeds",
        playbook=(
            "Checklist: set random seeds (torch.manual_seed, np.random.seed, random.seed); "
            "Reproducible > Fast."
        ),
        hint="seed every generator you use at startup, e.g. a `seed_everything(cfg.seed)` helper",
        bad=(
            "def main():\n    model = Net()\n    opt = torch.optim.SGD(model.parameters(), lr=lr)\n"
            '    random.shuffle(files)\n    ...\n\nif __name__ == "__main__":\n    main()'
        ),
        good=(
            "def main():\n    seed_everything(cfg.seed)  # torch, numpy and random\n"
            '    model = Net()\n    ...\n\nif __name__ == "__main__":\n    main()'
        ),
        notebooks=True,
    ),
    "TW202": Rule(
        code="TW202",
        name="random-state-missing",
        summary="a randomized scikit-learn/XGBoost/LightGBM call without `random_state`",
        playbook="Checklist: set random seeds (the scikit-learn form: random_state).",
        hint="pass random_state=cfg.seed (seed= for XGBoost's native API)",
        bad="X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=cfg.test_size)",
        good=(
            "X_tr, X_te, y_tr, y_te = train_test_split(\n"
            "    X, y, test_size=cfg.test_size, random_state=cfg.seed\n)"
        ),
        notebooks=True,
    ),
    "TW203": Rule(
        code="TW203",
        name="nondeterministic-ops",
        summary="a seeded script turns on non-deterministic kernels",
        playbook="Checklist: enable deterministic ops if reproducibility is critical.",
        hint=(
            "drop cudnn.benchmark=True, or make it a config switch that is "
            "off for reproducible runs"
        ),
        bad="torch.manual_seed(cfg.seed)\ntorch.backends.cudnn.benchmark = True",
        good=(
            "torch.manual_seed(cfg.seed)\ntorch.backends.cudnn.benchmark = False\n"
            "torch.use_deterministic_algorithms(True)"
        ),
        notebooks=True,
    ),
    "TW204": Rule(
        code="TW204",
        name="eval-mode-missing",
        summary="validation or inference runs the model while it may be in training mode",
        playbook="Checklist: set model.eval() and torch.no_grad() for validation.",
        hint="call model.eval() before the forward pass (and model.train() again afterwards)",
        bad=(
            "@torch.no_grad()\ndef evaluate(model, loader):\n"
            "    return [model(x).argmax(1) for x, _ in loader]"
        ),
        good=(
            "@torch.no_grad()\ndef evaluate(model, loader):\n    model.eval()\n"
            "    return [model(x).argmax(1) for x, _ in loader]"
        ),
        notebooks=True,
    ),
    "TW205": Rule(
        code="TW205",
        name="no-grad-missing",
        summary="validation or inference builds an autograd graph it never uses",
        playbook="Checklist: set model.eval() and torch.no_grad() for validation.",
        hint="wrap the loop in `with torch.no_grad():` (or torch.inference_mode())",
        bad=(
            "def evaluate(model, loader):\n"
            "    model.eval()\n"
            "    return [model(x) for x, _ in loader]"
        ),
        good=(
            "def evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n"
            "        return [model(x) for x, _ in loader]"
        ),
        notebooks=True,
    ),
    "TW206": Rule(
        code="TW206",
        name="zero-grad-missing",
        summary="gradients pile up: no zero_grad for the optimizer stepped after this backward",
        playbook="Training-loop template: optimizer.zero_grad(set_to_none=True) every step.",
        hint="call optimizer.zero_grad(set_to_none=True) inside the loop, before backward()",
        bad=(
            "optimizer.zero_grad()\nfor x, y in loader:\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()"
        ),
        good=(
            "for x, y in loader:\n    optimizer.zero_grad(set_to_none=True)\n"
            "    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()"
        ),
        notebooks=True,
    ),
    "TW207": Rule(
        code="TW207",
        name="zero-grad-not-set-to-none",
        summary="`zero_grad(set_to_none=False)` writes zeros instead of freeing the gradients",
        playbook="Training-loop template: optimizer.zero_grad(set_to_none=True)  # More efficient.",
        hint="use zero_grad(set_to_none=True) (the default since torch 2.0)",
        bad="optimizer.zero_grad(set_to_none=False)",
        good="optimizer.zero_grad(set_to_none=True)",
        notebooks=True,
    ),
    "TW208": Rule(
        code="TW208",
        name="checkpoint-without-optimizer",
        summary="a training checkpoint saved without the optimizer state",
        playbook="Checklist: save checkpoints with optimizer state.",
        hint="save a dict with model, optimizer (and scheduler, epoch) state_dicts",
        bad=(
            "for epoch in range(epochs):\n"
            "    ...\n"
            '    torch.save(model.state_dict(), ckpt_dir / "last.pt")'
        ),
        good=(
            'torch.save(\n    {"model": model.state_dict(), "optimizer": optimizer.state_dict(),'
            ' "epoch": epoch},\n    ckpt_dir / "last.pt",\n)'
        ),
        notebooks=True,
    ),
    "TW209": Rule(
        code="TW209",
        name="hparams-not-logged",
        summary="an experiment-tracker run that logs no hyperparameters",
        playbook="Checklist: log hyperparameters with an experiment tracker.",
        hint="log them in the run: mlflow.log_params(cfg.model_dump()) or wandb.init(config=...)",
        bad='with mlflow.start_run():\n    train(model)\n    mlflow.log_metric("val_loss", loss)',
        good=(
            "with mlflow.start_run():\n    mlflow.log_params(cfg.model_dump())\n    train(model)\n"
            '    mlflow.log_metric("val_loss", loss)'
        ),
        notebooks=True,
    ),
    "TW210": Rule(
        code="TW210",
        name="data-leakage",
        summary="a preprocessing step is fitted on data that includes held-out rows",
        playbook="Checklist: check for data leakage between train/val/test.",
        hint="split first, fit on the training split only (or put the step in a Pipeline)",
        bad=(
            "X = StandardScaler().fit_transform(X)\n"
            "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)"
        ),
        good=(
            "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)\n"
            "scaler = StandardScaler().fit(X_train)\nX_train, X_test = "
            "scaler.transform(X_train), scaler.transform(X_test)"
        ),
        notebooks=True,
    ),
    "TW211": Rule(
        code="TW211",
        name="refit-at-inference",
        summary="preprocessing is re-fitted inside inference code",
        playbook="Checklist: validate preprocessing is identical for train and inference.",
        hint="load the preprocessing fitted at training time and call transform() only",
        bad=(
            "def predict(self, df):\n"
            "    X = self.scaler.fit_transform(df)\n"
            "    return self.model.predict(X)"
        ),
        good=(
            "def predict(self, df):\n"
            "    X = self.scaler.transform(df)\n"
            "    return self.model.predict(X)"
        ),
        notebooks=True,
    ),
    "TW212": Rule(
        code="TW212",
        name="loss-accumulated-as-tensor",
        summary="a loss tensor is accumulated, keeping its graph (or a GPU sync) alive",
        playbook="Training-loop template: total_loss += loss.item().",
        hint="accumulate a number: total_loss += loss.item() (or loss.detach())",
        bad=(
            "for x, y in loader:\n"
            "    loss = criterion(model(x), y)\n"
            "    ...\n"
            "    total_loss += loss"
        ),
        good=(
            "for x, y in loader:\n"
            "    loss = criterion(model(x), y)\n"
            "    ...\n"
            "    total_loss += loss.item()"
        ),
        notebooks=True,
    ),
    "TW302": Rule(
        code="TW302",
        name="nan-comparison",
        summary="a comparison with NaN, which is always False",
        playbook=(
            "Zhang et al. smell 2 (NaN equivalence comparison misused); checklist: data checks."
        ),
        hint="use np.isnan(x) / df[col].isna()",
        bad='missing = df[df["age"] == np.nan]',
        good='missing = df[df["age"].isna()]',
        source="ruff PLW0177",
        aliases=("PLW0177",),
        notebooks=True,
    ),
    "TW307": Rule(
        code="TW307",
        name="pandas-inplace",
        summary="`inplace=True` on a pandas method",
        playbook=(
            "Zhang et al. smell 7 (in-place APIs misused); code standards: explicit > implicit."
        ),
        hint="assign the result: df = df.dropna()",
        bad="df.dropna(inplace=True)",
        good="df = df.dropna()",
        source="ruff PD002",
        aliases=("PD002",),
        notebooks=True,
    ),
    "TW308": Rule(
        code="TW308",
        name="pandas-values",
        summary="`.values` on a DataFrame or Series (ambiguous dtype and copy semantics)",
        playbook="Zhang et al. smell 8 (dataframe conversion API misused).",
        hint="use .to_numpy() (or .array)",
        bad="X = df[features].values",
        good="X = df[features].to_numpy()",
        source="ruff PD011",
        aliases=("PD011",),
        notebooks=True,
    ),
    # TorchFix pass-through (trainwell.lint.torchfix): opt-in, TORabc -> TW9ac
    "TW901": Rule(
        code="TW901",
        name="torch-removed-function",
        summary="a call to a function that PyTorch has removed",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="use the replacement TorchFix names (the torch.linalg function for linear algebra)",
        bad="import torch\n\nx = torch.solve(b, A)",
        good="import torch\n\nx = torch.linalg.solve(A, b)",
        source="TorchFix TOR001 (opt-in)",
        aliases=("TOR001",),
        default_enabled=False,
    ),
    "TW903": Rule(
        code="TW903",
        name="checkpoint-use-reentrant",
        summary="`torch.utils.checkpoint.checkpoint` without an explicit `use_reentrant`",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="pass use_reentrant=False (the recommended, non-reentrant variant)",
        bad="from torch.utils.checkpoint import checkpoint\n\ny = checkpoint(block, x)",
        good=(
            "from torch.utils.checkpoint import checkpoint\n\n"
            "y = checkpoint(block, x, use_reentrant=False)"
        ),
        source="TorchFix TOR003 (opt-in)",
        aliases=("TOR003",),
        default_enabled=False,
    ),
    "TW904": Rule(
        code="TW904",
        name="torch-removed-function-import",
        summary="an import of a function that PyTorch has removed",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="import the replacement TorchFix names",
        bad="from torch import solve",
        good="from torch.linalg import solve",
        source="TorchFix TOR004 (opt-in)",
        aliases=("TOR004",),
        default_enabled=False,
    ),
    "TW911": Rule(
        code="TW911",
        name="torch-deprecated-function",
        summary="a call to a deprecated PyTorch function",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="use the replacement (`torchfix --fix` rewrites most of them)",
        bad="import torch\n\nout = torch.chain_matmul(a, b, c)",
        good="import torch\n\nout = torch.linalg.multi_dot([a, b, c])",
        source="TorchFix TOR101 (opt-in)",
        aliases=("TOR101",),
        default_enabled=False,
    ),
    "TW913": Rule(
        code="TW913",
        name="torch-deprecated-function-import",
        summary="an import of a deprecated PyTorch function",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="import the replacement instead",
        bad="from torch import chain_matmul",
        good="from torch.linalg import multi_dot",
        source="TorchFix TOR103 (opt-in)",
        aliases=("TOR103",),
        default_enabled=False,
    ),
    "TW914": Rule(
        code="TW914",
        name="torch-non-public-alias",
        summary="a call to a non-public alias of a public PyTorch function",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="call the public name, e.g. torch.utils.data.default_collate",
        bad="import torch\n\nbatch = torch.utils.data._utils.collate.default_collate(items)",
        good="import torch\n\nbatch = torch.utils.data.default_collate(items)",
        source="TorchFix TOR104 (opt-in)",
        aliases=("TOR104",),
        default_enabled=False,
    ),
    "TW915": Rule(
        code="TW915",
        name="torch-non-public-alias-import",
        summary="an import of a non-public alias of a public PyTorch function",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="import the public name, e.g. from torch.utils.data import default_collate",
        bad="from torch.utils.data._utils.collate import default_collate",
        good="from torch.utils.data import default_collate",
        source="TorchFix TOR105 (opt-in)",
        aliases=("TOR105",),
        default_enabled=False,
    ),
    "TW916": Rule(
        code="TW916",
        name="torch-log1p",
        summary="`torch.log(1 + x)` loses precision for small `x`",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="use torch.log1p(x)",
        bad="import torch\n\ny = torch.log(1 + x)",
        good="import torch\n\ny = torch.log1p(x)",
        source="TorchFix TOR106 (opt-in)",
        aliases=("TOR106",),
        default_enabled=False,
    ),
    "TW917": Rule(
        code="TW917",
        name="torch-expm1",
        summary="`torch.exp(x) - 1` loses precision for small `x`",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="use torch.special.expm1(x)",
        bad="import torch\n\ny = torch.exp(x) - 1",
        good="import torch\n\ny = torch.special.expm1(x)",
        source="TorchFix TOR107 (opt-in)",
        aliases=("TOR107",),
        default_enabled=False,
    ),
    "TW921": Rule(
        code="TW921",
        name="torchvision-pretrained",
        summary="TorchVision's deprecated `pretrained=` / `pretrained_backbone=` parameter",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="pass weights= (e.g. ResNet18_Weights.IMAGENET1K_V1) or weights=None",
        bad="import torchvision\n\nmodel = torchvision.models.resnet18(pretrained=True)",
        good=(
            "import torchvision\nfrom torchvision.models import ResNet18_Weights\n\n"
            "model = torchvision.models.resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)"
        ),
        source="TorchFix TOR201 (opt-in)",
        aliases=("TOR201",),
        default_enabled=False,
    ),
    "TW922": Rule(
        code="TW922",
        name="torchvision-to-tensor",
        summary="the deprecated `transforms.v2.ToTensor()`",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="use v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])",
        bad="from torchvision.transforms import v2\n\nto_tensor = v2.ToTensor()",
        good=(
            "import torch\nfrom torchvision.transforms import v2\n\n"
            "to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])"
        ),
        source="TorchFix TOR202 (opt-in)",
        aliases=("TOR202",),
        default_enabled=False,
    ),
    "TW923": Rule(
        code="TW923",
        name="torchvision-import-style",
        summary="`import torchvision.models as models` instead of `from torchvision import models`",
        playbook=_TORCHFIX_PLAYBOOK,
        hint="write from torchvision import models (likewise datasets, transforms)",
        bad="import torchvision.models as models",
        good="from torchvision import models",
        source="TorchFix TOR203 (opt-in)",
        aliases=("TOR203",),
        default_enabled=False,
    ),
}

PARSE_ERROR = Rule(
    code="TW001",
    name="syntax-error",
    summary="the file could not be parsed, so no other rule ran on it",
    playbook="-",
    hint="fix the syntax error (python -m py_compile FILE shows it)",
    bad="def f(:\n    pass",
    good="def f() -> None:\n    pass",
)

ALL_RULES: dict[str, Rule] = {PARSE_ERROR.code: PARSE_ERROR, **RULES}


def rule_for(code: str) -> Rule:
    """The rule with this code (KeyError when unknown)."""
    return ALL_RULES[code]
