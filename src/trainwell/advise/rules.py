"""The decision framework as data: every rule `trainwell advise` applies, in one table.

The playbook has two tables a senior engineer carries in their head: *library selection* (task
-> primary choice -> when to use the alternative) and the *architecture quick reference* (task ->
architectures and when each fits). ``RULES`` below is both tables, row by row, with the
conditions spelled out as data and the thresholds named. ``engine.py`` only evaluates it; it
holds no decisions of its own. ``tests/advise/test_rules.py`` checks the table's invariants and
``tests/advise/test_engine.py`` proves every row selects what it should, with its reason.

How a rule is read: for a profile whose task is in ``tasks``, the rule *applies* when every
condition in ``when`` holds and (if ``when_any`` is not empty) at least one in ``when_any`` holds.
A condition on a field the profile left unknown (``rows=None``) does not hold.

Precedence (lower wins). The applicable rule with the lowest ``precedence`` is the primary
choice; every other rule of the task is an alternative, applicable ones first, each with the
condition that selects it. The numbers fall in bands, and the bands are the policy:

1. ``CONSTRAINT`` (10-19): hard constraints of where it must run -- ``hardware`` edge or tpu,
   ``distributed`` execution. A model that does not fit the device or the cluster is no answer,
   whatever else the user prefers.
2. ``PRIORITY`` (20-29): what the user said matters -- ``priority`` (interpretability, accuracy,
   speed, zero-shot, cold-start) and ``domain``. It beats data facts because the facts only
   decide *how* to meet it (an interpretable linear model scales to any row count).
3. ``CONTEXT`` (30-39): facts about the data and the organisation -- size, categorical share,
   feature count, setting, team size. Within the band the more specific condition wins.
4. ``DEFAULT`` (90): the playbook's primary choice. Every task has exactly one, with no
   condition, so there is always an answer.
5. ``ALTERNATIVE`` (100+): never primary; listed for comparison (with a condition when one makes
   it relevant).

Conflicts this settles, each tested:

- tabular, large AND categorical-dominant -> CatBoost: it is itself a gradient-boosting library
  built for large data (and GPUs), so it answers both conditions; LightGBM answers only size.
- tabular, interpretability AND large or categorical -> scikit-learn linear model: the user's
  stated need wins, and a linear model scales linearly with rows and one-hot columns.
- tabular, large on cuda -> XGBoost (its GPU histogram method is the most mature), on CPU ->
  LightGBM (fastest CPU histogram GBM).
- data processing, distributed AND > 10 GB -> dask: polars is single-machine.
- experiment tracking, enterprise AND a team -> Neptune: every enterprise has teams.
- segmentation, zero-shot AND medical -> SAM: zero-shot means no labels, and U-Net needs them.
- any vision/NLP task, edge AND accuracy -> the edge choice: it must fit the device first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# --- units ----------------------------------------------------------------------------------

# Decimal gigabytes, as the playbook writes "polars for >10GB" (and as disks are sold).
BYTES_PER_GB = 1_000_000_000

# --- thresholds (each says where the number comes from) -------------------------------------

# "XGBoost/LightGBM for large data" (library table) gives no number. trainwell draws the line at
# one million rows: there scikit-learn's exact-split trees (RandomForest, GradientBoosting) take
# tens of minutes to hours per fit on one machine, while histogram GBMs bin every feature into
# at most 255 buckets once and stay fast. It is trainwell's reading, not a figure from the
# playbook.
LARGE_DATA_ROWS = 1_000_000
# The same "large data" line by memory: a 1 GB frame becomes several float64 copies inside
# scikit-learn (validation, conversion, per-tree sampling), which is where a laptop's RAM runs
# out; LightGBM/XGBoost keep a compact 1-byte-per-value histogram dataset instead. trainwell's
# reading, one tenth of the playbook's 10 GB data-processing line.
LARGE_DATA_BYTES = 1 * BYTES_PER_GB
# "CatBoost for categoricals": categoricals *dominate* when at least half of the feature columns
# are categorical. trainwell's reading of "dominate" (a majority, ties included).
CATEGORICAL_DOMINANT_SHARE = 0.5
# A ViT beats a CNN of its cost only with tens of thousands of images (and an accelerator).
VIT_MIN_IMAGES = 10_000
# "polars for >10GB" (library table, Data Processing row): the playbook's own number.
POLARS_MIN_BYTES = 10 * BYTES_PER_GB
# "W&B for teams" (library table, Experiment Tracking row): a team is more than one person.
TEAM_MIN_SIZE = 2
# "AutoEncoder (deep)" (architecture table, Anomaly Detection) gives no condition. IsolationForest
# picks one random feature per split, so with hundreds of mostly irrelevant features its splits
# rarely land where the anomalies differ (Liu et al., 2008, note the degradation with irrelevant
# attributes); an autoencoder learns their joint structure. 100 features is trainwell's rule of
# thumb, not the playbook's.
HIGH_DIMENSIONAL_FEATURES = 100

# Threshold constants by name, for the docs table and for tests that pin them.
THRESHOLDS: dict[str, float] = {
    "LARGE_DATA_ROWS": LARGE_DATA_ROWS,
    "LARGE_DATA_BYTES": LARGE_DATA_BYTES,
    "CATEGORICAL_DOMINANT_SHARE": CATEGORICAL_DOMINANT_SHARE,
    "POLARS_MIN_BYTES": POLARS_MIN_BYTES,
    "TEAM_MIN_SIZE": TEAM_MIN_SIZE,
    "HIGH_DIMENSIONAL_FEATURES": HIGH_DIMENSIONAL_FEATURES,
}

# --- precedence bands (see the module docstring) --------------------------------------------

CONSTRAINT = 10
PRIORITY = 20
CONTEXT = 30
DEFAULT = 90
ALTERNATIVE = 100

# --- tasks ----------------------------------------------------------------------------------

ML_TASKS: tuple[str, ...] = (
    "tabular-classification",
    "tabular-regression",
    "image-classification",
    "object-detection",
    "segmentation",
    "text-classification",
    "text-generation",
    "embeddings",
    "time-series-forecasting",
    "anomaly-detection",
    "recommendation",
)
TOOLING_TASKS: tuple[str, ...] = (
    "deep-learning-framework",
    "data-processing",
    "experiment-tracking",
    "hyperparameter-tuning",
    "llm-serving",
)
TASKS: tuple[str, ...] = ML_TASKS + TOOLING_TASKS
TABULAR: tuple[str, ...] = ("tabular-classification", "tabular-regression")

# The tooling rows that apply to each ML task, so one call gives the whole stack. Data
# processing where the data is a table; the deep-learning framework where the architectures are
# neural networks trained by a framework; serving for generation.
_TABLE_DATA = ("data-processing", "experiment-tracking", "hyperparameter-tuning")
_DEEP = ("deep-learning-framework", "experiment-tracking", "hyperparameter-tuning")
_DEEP_ON_TABLES = ("data-processing", *_DEEP)
TOOLING_FOR_TASK: dict[str, tuple[str, ...]] = {
    "tabular-classification": _TABLE_DATA,
    "tabular-regression": _TABLE_DATA,
    "anomaly-detection": _TABLE_DATA,
    "time-series-forecasting": _DEEP_ON_TABLES,
    "recommendation": _DEEP_ON_TABLES,
    "text-classification": _DEEP_ON_TABLES,
    "image-classification": _DEEP,
    "object-detection": _DEEP,
    "segmentation": _DEEP,
    "embeddings": ("deep-learning-framework", "experiment-tracking"),
    "text-generation": ("deep-learning-framework", "experiment-tracking", "llm-serving"),
}

# --- the condition language -------------------------------------------------------------------

NumericField = Literal["rows", "size_bytes", "categorical_share", "n_features", "team_size"]
ChoiceField = Literal["hardware", "priority", "domain", "setting", "images"]


@dataclass(frozen=True)
class AtLeast:
    """``field >= threshold`` (or ``>`` when ``strict``); an unknown value does not hold."""

    field: NumericField
    threshold: float
    strict: bool = False


@dataclass(frozen=True)
class OneOf:
    """``field`` is one of ``values``."""

    field: ChoiceField
    values: tuple[str, ...]


@dataclass(frozen=True)
class IsDistributed:
    """The work runs across machines (``--distributed``)."""


Condition = AtLeast | OneOf | IsDistributed

LARGE_DATA: tuple[Condition, ...] = (
    AtLeast("rows", LARGE_DATA_ROWS),
    AtLeast("size_bytes", LARGE_DATA_BYTES),
)


@dataclass(frozen=True)
class Rule:
    """One row of the decision tables.

    Attributes:
        tasks: the tasks (or tooling questions) it answers.
        precedence: lower wins among applicable rules; see the bands in the module docstring.
        when: conditions that must all hold.
        when_any: conditions of which at least one must hold (ignored when empty).
        library: the library, as the playbook names it.
        architecture: the architecture or tool, as a person would say it.
        config_name: what to write in ``model.architecture`` (None: no trainwell config; a
            tooling choice or a hosted API).
        reason: why it fits; the engine prefixes the facts that selected it.
        requires: import names that make a tooling choice available (ML choices ask the
            model registry instead).
        install: how to get it when it is not available here.
    """

    tasks: tuple[str, ...]
    precedence: int
    library: str
    architecture: str
    config_name: str | None
    reason: str
    when: tuple[Condition, ...] = ()
    when_any: tuple[Condition, ...] = ()
    requires: tuple[str, ...] = ()
    install: str | None = None


# --- the table ----------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    # Library table, "Tabular ML": scikit-learn; XGBoost/LightGBM for large data; CatBoost for
    # categoricals. Architecture table, "Tabular": XGBoost (general), TabNet (interpretable),
    # FT-Transformer.
    Rule(
        tasks=TABULAR,
        precedence=PRIORITY,
        when=(OneOf("priority", ("interpretability",)),),
        library="scikit-learn",
        architecture="linear model (logistic / ridge regression)",
        config_name="sklearn-linear",
        reason="a linear model's coefficients are the explanation, one signed weight per "
        "(standardised, one-hot) feature, and it scales linearly with rows",
    ),
    Rule(
        tasks=TABULAR,
        precedence=CONTEXT,
        when=(AtLeast("categorical_share", CATEGORICAL_DOMINANT_SHARE),),
        library="CatBoost",
        architecture="CatBoost (ordered boosting)",
        config_name="catboost",
        reason="CatBoost encodes categorical columns natively with ordered target statistics: "
        "no one-hot blow-up and no target leakage from naive target encoding, at any data size",
    ),
    Rule(
        tasks=TABULAR,
        precedence=CONTEXT + 1,
        when_any=LARGE_DATA,
        when=(OneOf("hardware", ("cuda",)),),
        library="XGBoost",
        architecture="XGBoost (GPU histogram)",
        config_name="xgboost",
        reason="the size where scikit-learn's exact trees stop scaling, and a GPU to use: "
        "XGBoost's GPU histogram method (device='cuda') is the most mature GPU GBM",
    ),
    Rule(
        tasks=TABULAR,
        precedence=CONTEXT + 2,
        when_any=LARGE_DATA,
        library="LightGBM",
        architecture="LightGBM (histogram, leaf-wise)",
        config_name="lightgbm",
        reason="the size where scikit-learn's exact trees stop scaling; LightGBM's histogram, "
        "leaf-wise boosting is the fastest GBM on CPU at this size",
    ),
    Rule(
        tasks=TABULAR,
        precedence=DEFAULT,
        library="scikit-learn",
        architecture="HistGradientBoosting",
        config_name="sklearn-hgb",
        reason="scikit-learn first (the playbook's primary for tabular ML): HistGradientBoosting "
        "is its strongest default, with native missing values and categoricals, early stopping "
        "and no extra install",
    ),
    Rule(
        tasks=TABULAR,
        precedence=ALTERNATIVE,
        library="XGBoost",
        architecture="XGBoost",
        config_name="xgboost",
        reason="the architecture table's general-purpose tabular model: a regularised GBM, the "
        "strong second opinion to compare against",
    ),
    Rule(
        tasks=TABULAR,
        precedence=ALTERNATIVE + 1,
        library="scikit-learn",
        architecture="random forest",
        config_name="sklearn-rf",
        reason="robust with few knobs and hard to overfit badly: a sanity check for the boosted "
        "models",
    ),
    Rule(
        tasks=TABULAR,
        precedence=ALTERNATIVE + 2,
        when=(OneOf("priority", ("accuracy",)), OneOf("hardware", ("cuda",))),
        library="PyTorch (rtdl)",
        architecture="FT-Transformer",
        config_name="ft-transformer",
        reason="a transformer over feature tokens (Gorishniy et al., 2021) that matches or beats "
        "GBMs on some datasets: worth a comparison run when accuracy matters and a GPU is at hand",
        install="pip install rtdl_revisiting_models and use it directly",
    ),
    Rule(
        tasks=TABULAR,
        precedence=ALTERNATIVE + 3,
        when=(OneOf("priority", ("interpretability",)),),
        library="PyTorch (pytorch-tabnet)",
        architecture="TabNet",
        config_name="tabnet",
        reason="the architecture table's interpretable deep model: sequential attention picks "
        "features per decision step and yields per-row feature masks",
        install="pip install pytorch-tabnet and use it directly",
    ),
    Rule(
        tasks=TABULAR,
        precedence=ALTERNATIVE + 4,
        library="PyTorch",
        architecture="MLP",
        config_name="mlp",
        reason="a plain multilayer perceptron: the simplest deep baseline, the one FT-Transformer "
        "must beat",
        install="build it in PyTorch directly",
    ),
    # Library table, "Deep Learning": PyTorch; TensorFlow for production TPU; JAX for research.
    Rule(
        tasks=("deep-learning-framework",),
        precedence=CONSTRAINT,
        when=(OneOf("hardware", ("tpu",)), OneOf("setting", ("production", "enterprise"))),
        library="TensorFlow",
        architecture="TensorFlow (Keras, XLA)",
        config_name=None,
        reason="TensorFlow's XLA compilation and TPU strategy are the most mature production "
        "path on TPUs, with SavedModel and TF Serving for deployment",
        requires=("tensorflow",),
        install="pip install tensorflow",
    ),
    Rule(
        tasks=("deep-learning-framework",),
        precedence=CONTEXT,
        when=(OneOf("setting", ("research",)),),
        library="JAX",
        architecture="JAX (Flax, Optax)",
        config_name=None,
        reason="composable transforms (jit, grad, vmap, pmap) over pure functions make new ideas "
        "quick to write and to scale, on GPUs and TPUs alike",
        requires=("jax",),
        install="pip install jax",
    ),
    Rule(
        tasks=("deep-learning-framework",),
        precedence=DEFAULT,
        library="PyTorch",
        architecture="PyTorch",
        config_name=None,
        reason="the playbook's primary: eager debugging, torch.compile for speed, and the "
        "ecosystem (timm, transformers); trainwell's own training loop is PyTorch",
        requires=("torch",),
        install="pip install torch",
    ),
    # Library table, "Data Processing": pandas; polars for >10GB; dask for distributed.
    Rule(
        tasks=("data-processing",),
        precedence=CONSTRAINT,
        when=(IsDistributed(),),
        library="dask",
        architecture="dask.dataframe",
        config_name=None,
        reason="dask partitions a pandas-like DataFrame across a cluster; polars and pandas stay "
        "on one machine",
        requires=("dask",),
        install="pip install 'dask[dataframe]'",
    ),
    Rule(
        tasks=("data-processing",),
        precedence=CONTEXT,
        when=(AtLeast("size_bytes", POLARS_MIN_BYTES, strict=True),),
        library="polars",
        architecture="polars (lazy, streaming)",
        config_name=None,
        reason="pandas' eager, copy-heavy frames run out of memory and time at this size; "
        "polars' lazy, multi-threaded, streaming engine stays on one machine",
        requires=("polars",),
        install="pip install polars",
    ),
    Rule(
        tasks=("data-processing",),
        precedence=DEFAULT,
        library="pandas",
        architecture="pandas",
        config_name=None,
        reason="the playbook's primary: the common currency every library trainwell uses accepts",
        requires=("pandas",),
        install="pip install pandas",
    ),
    # Library table, "Experiment Tracking": MLflow; W&B for teams; Neptune for enterprise.
    Rule(
        tasks=("experiment-tracking",),
        precedence=CONTEXT,
        when=(OneOf("setting", ("enterprise",)),),
        library="Neptune",
        architecture="Neptune",
        config_name=None,
        reason="enterprise needs (single sign-on, access control, audit, self-hosting) are what "
        "Neptune sells; trainwell itself logs to MLflow",
        requires=("neptune",),
        install="pip install neptune",
    ),
    Rule(
        tasks=("experiment-tracking",),
        precedence=CONTEXT + 1,
        when=(AtLeast("team_size", TEAM_MIN_SIZE),),
        library="Weights & Biases",
        architecture="W&B",
        config_name=None,
        reason="a hosted, shared workspace (reports, comments, run comparisons across people) "
        "with no server to run; trainwell itself logs to MLflow",
        requires=("wandb",),
        install="pip install wandb",
    ),
    Rule(
        tasks=("experiment-tracking",),
        precedence=DEFAULT,
        library="MLflow",
        architecture="MLflow",
        config_name=None,
        reason="the playbook's primary: open source, a local store with no server, a model "
        "registry; trainwell logs every run to it",
        requires=("mlflow",),
        install="pip install mlflow",
    ),
    # Library table, "Hyperparameter Tuning": Optuna; Ray Tune for distributed.
    Rule(
        tasks=("hyperparameter-tuning",),
        precedence=CONSTRAINT,
        when=(IsDistributed(),),
        library="Ray Tune",
        architecture="Ray Tune",
        config_name=None,
        reason="trials run across a cluster: Ray Tune schedules them (ASHA, PBT) and can drive "
        "Optuna's sampler as its search algorithm",
        requires=("ray",),
        install="pip install 'trainwell[distributed]'",
    ),
    Rule(
        tasks=("hyperparameter-tuning",),
        precedence=DEFAULT,
        library="Optuna",
        architecture="Optuna (TPE, pruning)",
        config_name=None,
        reason="the playbook's primary: define-by-run search spaces, TPE sampling, pruning of "
        "bad trials, SQLite storage on one machine",
        requires=("optuna",),
        install="pip install 'trainwell[tune]'",
    ),
    # Library table, "NLP/LLM": transformers; vLLM for serving; llama.cpp for edge.
    Rule(
        tasks=("llm-serving",),
        precedence=CONSTRAINT,
        when=(OneOf("hardware", ("edge", "cpu")),),
        library="llama.cpp",
        architecture="llama.cpp (quantized GGUF)",
        config_name=None,
        reason="4-bit GGUF models run in a few GB of RAM on CPUs, laptops and phones; vLLM's "
        "throughput needs a GPU or TPU",
        requires=("llama_cpp",),
        install="pip install llama-cpp-python",
    ),
    Rule(
        tasks=("llm-serving",),
        precedence=DEFAULT,
        library="vLLM",
        architecture="vLLM (PagedAttention)",
        config_name=None,
        reason="the playbook's pick for serving: PagedAttention and continuous batching give the "
        "highest throughput on accelerators, behind an OpenAI-compatible API",
        requires=("vllm",),
        install="pip install vllm",
    ),
    # Architecture table, "Classification (images)": ResNet/EfficientNet (simple), ViT (SOTA).
    # Library table, "Computer Vision": torchvision + timm. trainwell trains them through timm;
    # ResNet/EfficientNet for speed, small data or a CPU, ViT for accuracy with enough data or
    # a GPU, and a small CNN for tiny images (trainwell's own rule).
    Rule(
        tasks=("image-classification",),
        precedence=CONSTRAINT,
        when=(OneOf("hardware", ("edge",)),),
        library="timm",
        architecture="EfficientNet",
        config_name="efficientnet_b0",
        reason="compound scaling gives the most accuracy per FLOP and parameter: the simple "
        "choice that fits a device's budget (export with ONNX or TFLite)",
        install="pip install 'trainwell[vision]'",
    ),
    Rule(
        tasks=("image-classification",),
        precedence=CONTEXT,
        when=(OneOf("images", ("tiny",)),),
        library="PyTorch",
        architecture="small CNN",
        config_name="small-cnn",
        reason="images of at most 64 px (MNIST-like): a small CNN at their native resolution "
        "trains in minutes on a CPU, where an ImageNet backbone would need them upsampled",
        install="pip install 'trainwell[vision]'",
    ),
    Rule(
        tasks=("image-classification",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("accuracy",)),),
        library="timm",
        architecture="ViT",
        config_name="vit_base_patch16_224",
        reason="the state-of-the-art pick: vision transformers pretrained at scale lead image "
        "benchmarks when fine-tuned, at more compute than a CNN",
        install="pip install 'trainwell[vision]'",
    ),
    Rule(
        tasks=("image-classification",),
        precedence=CONTEXT + 1,
        when=(OneOf("hardware", ("cuda", "tpu")), AtLeast("rows", VIT_MIN_IMAGES)),
        library="timm",
        architecture="ViT",
        config_name="vit_small_patch16_224",
        reason="enough images and an accelerator: a ViT-Small fine-tunes past CNNs of its "
        "cost once there are tens of thousands of images",
        install="pip install 'trainwell[vision]'",
    ),
    Rule(
        tasks=("image-classification",),
        precedence=DEFAULT,
        library="timm",
        architecture="ResNet",
        config_name="resnet18",
        reason="the simple pick for speed, small data or a CPU: a ResNet fine-tunes reliably "
        "on small and large datasets with well-known recipes (ResNet-18 here; resnet50 for "
        "more capacity)",
        install="pip install 'trainwell[vision]'",
    ),
    # Architecture table, "Object Detection": YOLOv8 (speed), DETR (accuracy), RT-DETR
    # (balanced). Library table, "Computer Vision": detectron2 for detection, ultralytics for YOLO.
    Rule(
        tasks=("object-detection",),
        precedence=CONSTRAINT,
        when=(OneOf("hardware", ("edge",)),),
        library="ultralytics",
        architecture="YOLOv8",
        config_name="yolov8",
        reason="a single-stage real-time detector that exports to ONNX, TensorRT, CoreML and "
        "TFLite: the detector that fits a device",
        install="pip install ultralytics and use it directly",
    ),
    Rule(
        tasks=("object-detection",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("speed",)),),
        library="ultralytics",
        architecture="YOLOv8",
        config_name="yolov8",
        reason="the speed pick: a single-stage real-time detector with a complete "
        "train/validate/export toolkit",
        install="pip install ultralytics and use it directly",
    ),
    Rule(
        tasks=("object-detection",),
        precedence=PRIORITY + 1,
        when=(OneOf("priority", ("accuracy",)),),
        library="detectron2",
        architecture="DETR",
        config_name="detr",
        reason="the accuracy pick: set prediction with a transformer, no anchors and no NMS; "
        "slow to train but accurate, notably on large objects",
        install="install detectron2 from source and use it directly",
    ),
    Rule(
        tasks=("object-detection",),
        precedence=DEFAULT,
        library="ultralytics",
        architecture="RT-DETR",
        config_name="rt-detr",
        reason="the balanced pick: a real-time DETR (hybrid encoder, no NMS) with YOLO-class "
        "speed and DETR-style accuracy",
        install="pip install ultralytics and use it directly",
    ),
    # Architecture table, "Segmentation": U-Net (medical), Mask2Former (general), SAM (zero-shot).
    Rule(
        tasks=("segmentation",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("zero-shot",)),),
        library="segment-anything",
        architecture="SAM",
        config_name="sam",
        reason="the zero-shot pick: promptable masks (points, boxes) for objects it was never "
        "trained on, with no labels",
        install="pip install segment-anything and use it directly",
    ),
    Rule(
        tasks=("segmentation",),
        precedence=PRIORITY + 1,
        when=(OneOf("domain", ("medical",)),),
        library="segmentation-models-pytorch",
        architecture="U-Net",
        config_name="unet",
        reason="the medical pick: an encoder-decoder with skip connections that trains well "
        "from few annotated scans and keeps fine boundaries",
        install="pip install segmentation-models-pytorch and use it directly",
    ),
    Rule(
        tasks=("segmentation",),
        precedence=DEFAULT,
        library="detectron2",
        architecture="Mask2Former",
        config_name="mask2former",
        reason="the general pick: one masked-attention transformer for semantic, instance and "
        "panoptic segmentation",
        install="install detectron2 from source and use it directly",
    ),
    # Architecture table, "Text Classification": DistilBERT (fast), RoBERTa (accuracy).
    # Library table, "NLP/LLM": transformers (HuggingFace).
    Rule(
        tasks=("text-classification",),
        precedence=CONSTRAINT,
        when=(OneOf("hardware", ("edge",)),),
        library="transformers (HuggingFace)",
        architecture="DistilBERT",
        config_name="distilbert",
        reason="40% smaller and 60% faster than BERT with 97% of its language understanding "
        "(Sanh et al., 2019): the encoder that fits a device",
        install="pip install transformers and use it directly",
    ),
    Rule(
        tasks=("text-classification",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("accuracy",)),),
        library="transformers (HuggingFace)",
        architecture="RoBERTa",
        config_name="roberta",
        reason="the accuracy pick: BERT retrained longer on more data, the stronger encoder "
        "when latency allows",
        install="pip install transformers and use it directly",
    ),
    Rule(
        tasks=("text-classification",),
        precedence=DEFAULT,
        library="transformers (HuggingFace)",
        architecture="DistilBERT",
        config_name="distilbert",
        reason="the fast pick: 40% smaller and 60% faster than BERT with 97% of its language "
        "understanding (Sanh et al., 2019)",
        install="pip install transformers and use it directly",
    ),
    # Architecture table, "Text Generation": Llama/Mistral (open), GPT-4 (quality).
    # Library table, "NLP/LLM": transformers; llama.cpp for edge.
    Rule(
        tasks=("text-generation",),
        precedence=CONSTRAINT,
        when=(OneOf("hardware", ("edge",)),),
        library="llama.cpp",
        architecture="Llama (quantized GGUF)",
        config_name="llama",
        reason="on-device generation: a small Llama quantized to 4 bits runs in a few GB of RAM "
        "through llama.cpp",
        install="pip install llama-cpp-python and use it directly",
    ),
    Rule(
        tasks=("text-generation",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("accuracy",)),),
        library="OpenAI API",
        architecture="GPT-4",
        config_name=None,
        reason="the quality pick: a hosted frontier model, when output quality matters more "
        "than cost, latency, data control or owning the weights",
        install="a hosted model: call the OpenAI API; trainwell does not train or serve it",
    ),
    Rule(
        tasks=("text-generation",),
        precedence=DEFAULT,
        library="transformers (HuggingFace)",
        architecture="Llama",
        config_name="llama",
        reason="the open pick: open weights you fine-tune (LoRA) and serve yourself, so the data "
        "stays in-house",
        install="pip install transformers peft and use them directly",
    ),
    Rule(
        tasks=("text-generation",),
        precedence=ALTERNATIVE,
        library="transformers (HuggingFace)",
        architecture="Mistral",
        config_name="mistral",
        reason="the other open pick: Apache-2.0 weights, strong for their size (grouped-query "
        "and sliding-window attention)",
        install="pip install transformers peft and use them directly",
    ),
    # Architecture table, "Embeddings": sentence-transformers, text-embedding-3-large.
    Rule(
        tasks=("embeddings",),
        precedence=DEFAULT,
        library="sentence-transformers",
        architecture="sentence-transformers",
        config_name="sentence-transformers",
        reason="open models that run locally and fine-tune on your own pairs, with no per-call "
        "cost and the text staying in-house",
        install="pip install sentence-transformers and use it directly",
    ),
    Rule(
        tasks=("embeddings",),
        precedence=ALTERNATIVE,
        library="OpenAI API",
        architecture="text-embedding-3-large",
        config_name=None,
        reason="a hosted model: strong general-purpose quality with no GPU to run, at a "
        "per-token cost, and the text leaves your infrastructure",
        install="a hosted model: call the OpenAI API; trainwell does not train or serve it",
    ),
    # Architecture table, "Time Series": TSMixer, PatchTST, temporal fusion transformer. The
    # table gives no conditions; trainwell's: TFT's variable-selection weights for
    # interpretability, PatchTST for accuracy, TSMixer (simplest, fastest) otherwise.
    Rule(
        tasks=("time-series-forecasting",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("interpretability",)),),
        library="PyTorch (neuralforecast)",
        architecture="Temporal Fusion Transformer",
        config_name="tft",
        reason="variable-selection weights and attention show which inputs and time steps drive "
        "each forecast; it takes static covariates and known future inputs and gives quantiles",
        install="pip install neuralforecast and use it directly",
    ),
    Rule(
        tasks=("time-series-forecasting",),
        precedence=PRIORITY + 1,
        when=(OneOf("priority", ("accuracy",)),),
        library="PyTorch (neuralforecast)",
        architecture="PatchTST",
        config_name="patchtst",
        reason="patches of each series as tokens, channel-independent: top accuracy on "
        "long-horizon benchmarks",
        install="pip install neuralforecast and use it directly",
    ),
    Rule(
        tasks=("time-series-forecasting",),
        precedence=DEFAULT,
        library="PyTorch (neuralforecast)",
        architecture="TSMixer",
        config_name="tsmixer",
        reason="all-MLP mixing across time and channels: the simplest and fastest of the "
        "table's three, competitive with transformers on long-horizon benchmarks",
        install="pip install neuralforecast and use it directly",
    ),
    # Architecture table, "Anomaly Detection": IsolationForest (simple), AutoEncoder (deep).
    Rule(
        tasks=("anomaly-detection",),
        precedence=CONTEXT,
        when=(AtLeast("n_features", HIGH_DIMENSIONAL_FEATURES),),
        library="PyTorch",
        architecture="AutoEncoder",
        config_name="autoencoder",
        reason="the deep pick: a reconstruction model learns the joint structure of many "
        "features, where random single-feature splits rarely isolate anomalies",
        install="build it in PyTorch directly",
    ),
    Rule(
        tasks=("anomaly-detection",),
        precedence=DEFAULT,
        library="scikit-learn",
        architecture="IsolationForest",
        config_name="isolation-forest",
        reason="the simple pick: no labels, no scaling, near-linear time; anomalies are the "
        "points random splits isolate quickly",
    ),
    # Architecture table, "Recommendation": Two-tower, NCF, LightFM (cold start).
    Rule(
        tasks=("recommendation",),
        precedence=PRIORITY,
        when=(OneOf("priority", ("cold-start",)),),
        library="LightFM",
        architecture="LightFM (hybrid)",
        config_name="lightfm",
        reason="the cold-start pick: a hybrid factorisation over user and item features, so new "
        "users and items get recommendations before any interactions",
        install="pip install lightfm and use it directly",
    ),
    Rule(
        tasks=("recommendation",),
        precedence=DEFAULT,
        library="PyTorch",
        architecture="two-tower",
        config_name="two-tower",
        reason="separate user and item encoders compared by dot product: item vectors are "
        "precomputed and searched by approximate nearest neighbours, so retrieval scales to "
        "millions of items",
        install="build it in PyTorch directly",
    ),
    Rule(
        tasks=("recommendation",),
        precedence=ALTERNATIVE,
        library="PyTorch",
        architecture="NCF",
        config_name="ncf",
        reason="neural collaborative filtering: an MLP over user and item embeddings scores "
        "each pair, fine when the catalogue is small enough to score exhaustively",
        install="build it in PyTorch directly",
    ),
)
