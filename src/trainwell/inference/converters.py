"""ONNX graphs and TorchScript programs for every export route of the model table.

Every graph has one output, named for what the native model's verb returns:

* ``probabilities`` ``(n, classes)`` — ``predict_proba``;
* ``prediction`` ``(n, 1)`` or ``(n,)`` — a regressor's ``predict``;
* ``score`` ``(n, 1)`` or ``(n,)`` — an anomaly detector's ``score_samples`` (lower = more
  abnormal; a row is flagged when its score is below the detector's cutoff).

Table models are converted with their fitted ``ColumnTransformer`` in front of them (skl2onnx),
merged into one graph whose inputs are the prepared columns, one ``(n, 1)`` input per column in
the schema's order: float for numbers and dates (epoch seconds), string for categories
(skl2onnx makes the names safe: ``mean radius`` becomes ``mean_radius``). Image models take the
evaluation-transformed ``(n, C, H, W)`` float32 batch as ``features``.

Routes (``ArchitectureSpec.export``): ``skl2onnx`` (scikit-learn estimators), ``lightgbm`` and
``xgboost`` (onnxmltools, whose converters stop at opset 15), ``catboost`` (CatBoost's own ONNX
writer), ``torch`` (``torch.onnx.export(dynamo=True)`` with a dynamic batch axis; TorchScript by
tracing).

Native categorical columns (``training.native_categorical``): LightGBM's categorical splits
convert as they are; an XGBoost model's graph first turns the negative codes of its categorical
columns into NaN, as :class:`~trainwell.models.gbm.XGBoostCodes` does; a HistGradientBoosting
model with categorical features (skl2onnx 1.20 writes their splits as numeric thresholds: the
graph answers differently) and a CatBoost model with ``cat_features`` (its ONNX writer takes
numeric features only) are refused, naming the way out: retrain with
``training.native_categorical=false``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import ExportError

if TYPE_CHECKING:
    import onnx

    from trainwell.data.schema import InputSchema

PROBABILITIES = "probabilities"
PREDICTION = "prediction"
SCORE = "score"
FEATURES = "features"
ML_DOMAIN = "ai.onnx.ml"


@dataclass(frozen=True)
class OpsetRange:
    """The main-domain opsets a route can write, and the one it writes by default."""

    low: int
    high: int
    default: int


# onnxmltools' LightGBM/XGBoost converters cap at 15; the dynamo exporter starts at 18.
OPSETS: dict[str, OpsetRange] = {
    "skl2onnx": OpsetRange(13, 21, 17),
    "lightgbm": OpsetRange(13, 15, 15),
    "xgboost": OpsetRange(13, 15, 15),
    "catboost": OpsetRange(13, 21, 17),
    "torch": OpsetRange(18, 23, 18),
}


def output_name(objective: str) -> str:
    """The graph's one output for an objective (``classification``, ``regression``...)."""
    return {"classification": PROBABILITIES, "regression": PREDICTION, "anomaly": SCORE}[objective]


def resolve_opset(route: str, opset: int | None) -> int:
    """The opset to write: ``opset`` when the route can, else its default.

    Raises:
        ExportError: the route's converter cannot write ``opset``.
    """
    bounds = OPSETS[route]
    if opset is None:
        return bounds.default
    if not bounds.low <= opset <= bounds.high:
        raise ExportError(
            f"opset {opset} is not available for this model: its converter ({route}) writes "
            f"opsets {bounds.low} to {bounds.high} (--opset {bounds.default} is the default)"
        )
    return opset


# --- graph surgery --------------------------------------------------------------------------


def _rename_output(model: onnx.ModelProto, keep: str, name: str) -> onnx.ModelProto:
    """Keep only output ``keep`` of ``model``, exposed as ``name`` (an Identity node)."""
    from onnx import helper

    graph = model.graph
    found = [o for o in graph.output if o.name == keep]
    if not found:
        outputs = ", ".join(o.name for o in graph.output)
        raise ExportError(f"the converted graph has no output {keep!r} (outputs: {outputs})")
    value = helper.make_value_info(name, found[0].type)
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):  # skl2onnx leaves IsolationForest's scores unshaped
        value = helper.make_tensor_value_info(name, tensor.elem_type, [None, 1])
    del graph.output[:]
    if keep != name:
        graph.node.append(helper.make_node("Identity", [keep], [name], name=f"out_{name}"))
    graph.output.append(value)
    return model


def _opsets(model: onnx.ModelProto) -> dict[str, int]:
    return {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}


def merge(first: onnx.ModelProto, second: onnx.ModelProto) -> onnx.ModelProto:
    """``first``'s single output feeding ``second``'s single input: one graph with
    ``first``'s inputs and ``second``'s outputs. Each domain is declared at the higher of the
    two versions (the ops used here are unchanged across those versions; the parity gate
    checks the result)."""
    from onnx import compose, helper

    opsets = _opsets(first)
    for domain, version in _opsets(second).items():
        opsets[domain] = max(opsets.get(domain, 0), version)
    ir_version = max(first.ir_version, second.ir_version)
    for model in (first, second):
        del model.opset_import[:]
        model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(opsets.items()))
        model.ir_version = ir_version
    first = compose.add_prefix(first, "pre_", rename_inputs=False)
    second = compose.add_prefix(second, "model_", rename_outputs=False)
    io_map = [(first.graph.output[0].name, second.graph.input[0].name)]
    return compose.merge_models(first, second, io_map=io_map)


# --- the table preprocessing ----------------------------------------------------------------


ML_FOR_PREPROCESSING = 3


def preprocessing_graph(
    preprocessor: Any, schema: InputSchema, opset: int, ml_opset: int | None = None
) -> onnx.ModelProto:
    """The fitted ``ColumnTransformer`` as a graph: one input per column, one float matrix out.

    Raises:
        ExportError: skl2onnx cannot convert one of its steps.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [
        (
            c.name,
            StringTensorType([None, 1]) if c.kind == "categorical" else FloatTensorType([None, 1]),
        )
        for c in schema.columns
    ]
    target: dict[str, int] = {"": opset}
    if ml_opset is not None:
        target[ML_DOMAIN] = ml_opset
    try:
        graph: onnx.ModelProto = convert_sklearn(
            preprocessor, initial_types=types, target_opset=target
        )
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as exc:
        raise ExportError(f"skl2onnx cannot convert the fitted preprocessing: {exc}") from exc
    if len(graph.graph.input) != len(schema.columns):
        raise ExportError("skl2onnx dropped input columns of the preprocessing graph")
    return graph


# --- the model routes -----------------------------------------------------------------------


@contextlib.contextmanager
def _hgb_bool_fix() -> Iterator[None]:
    """skl2onnx 1.20.0 passes HistGradientBoosting's ``missing_go_to_left`` as a bool, which
    onnx 1.23 refuses (``AttributeProto.ints: Expected an int, got a boolean``); fixed on
    skl2onnx's main branch, unreleased. This casts it to the 0/1 the attribute holds, for the
    conversion only."""
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args: Any, **kwargs: Any) -> Any:
        key = "nodes_missing_value_tracks_true"
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
        return original(*args, **kwargs)

    tree_ensemble.add_node = add_node
    try:
        yield
    finally:
        tree_ensemble.add_node = original


NATIVE_CATEGORICAL_WAY_OUT = (
    "retrain with training.native_categorical=false (the codes as numbers) to export it"
)


def _refuse_native_categorical(what: str, columns: int) -> ExportError:
    return ExportError(
        f"{what} with {columns} native categorical column(s) cannot be exported to ONNX: "
        f"{NATIVE_CATEGORICAL_WAY_OUT}"
    )


def _skl2onnx(model: Any, n_features: int, objective: str, opset: int) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    from trainwell.models.sklearn_models import OutlierLabels

    # OutlierLabels wraps a detector (an ensemble's own ``estimator`` is its unfitted template)
    estimator = model.estimator if isinstance(model, OutlierLabels) else model
    categorical = getattr(estimator, "is_categorical_", None)  # HistGradientBoosting's
    if categorical is not None and bool(categorical.any()):
        # skl2onnx writes a categorical split as a numeric threshold: measured off by up to 0.87
        # in probability on a 12-category column, so the parity gate would fail anyway
        raise _refuse_native_categorical(
            f"a {type(estimator).__name__} (skl2onnx cannot convert categorical splits)",
            int(categorical.sum()),
        )
    options: dict[int, dict[str, Any]] = {}
    keep = {"classification": PROBABILITIES, "regression": "variable", "anomaly": "score_samples"}
    if objective == "classification":
        options[id(estimator)] = {"zipmap": False}
    elif objective == "anomaly":
        options[id(estimator)] = {"score_samples": True}
    try:
        with _hgb_bool_fix():
            graph = convert_sklearn(
                estimator,
                initial_types=[(FEATURES, FloatTensorType([None, n_features]))],
                target_opset={"": opset, ML_DOMAIN: 3},
                options=options or None,
            )
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as exc:
        import skl2onnx

        raise ExportError(
            f"unsupported with skl2onnx {skl2onnx.__version__}: {type(estimator).__name__}: {exc}"
        ) from exc
    return _rename_output(graph, keep[objective], output_name(objective))


def _lightgbm(model: Any, n_features: int, objective: str, opset: int) -> onnx.ModelProto:
    from onnxmltools.convert import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = getattr(model, "booster", None) or model.booster_
    graph = convert_lightgbm(
        booster,
        initial_types=[(FEATURES, FloatTensorType([None, n_features]))],
        target_opset=opset,
        zipmap=False,
    )
    keep = PROBABILITIES if objective == "classification" else "variable"
    return _rename_output(graph, keep, output_name(objective))


def _xgboost(model: Any, n_features: int, objective: str, opset: int) -> onnx.ModelProto:
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    from trainwell.models.gbm import XGBoostCodes

    estimator = model.estimator if isinstance(model, XGBoostCodes) else model
    graph = convert_xgboost(
        estimator,
        initial_types=[(FEATURES, FloatTensorType([None, n_features]))],
        target_opset=opset,
    )
    if isinstance(model, XGBoostCodes):
        graph = _negative_codes_as_nan(graph, n_features, model.categorical_features)
    keep = PROBABILITIES if objective == "classification" else "variable"
    return _rename_output(graph, keep, output_name(objective))


def _negative_codes_as_nan(
    graph: onnx.ModelProto, n_features: int, columns: tuple[int, ...]
) -> onnx.ModelProto:
    """Put ``XGBoostCodes.codes`` in front of the trees: in the categorical ``columns`` of the
    ``(n, n_features)`` input, a negative code (an unknown category) becomes NaN."""
    import numpy as np
    from onnx import helper, numpy_helper

    adapted = f"{FEATURES}_codes"
    for node in graph.graph.node:
        node.input[:] = [adapted if name == FEATURES else name for name in node.input]
    mask = np.zeros(n_features, dtype=bool)
    mask[list(columns)] = True
    constants = {
        "codes_zero": np.array(0.0, dtype=np.float32),
        "codes_nan": np.array(np.nan, dtype=np.float32),
        "codes_categorical": mask,
    }
    front = [
        helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))
        for name, value in constants.items()
    ]
    front += [
        helper.make_node("Less", [FEATURES, "codes_zero"], ["codes_negative"]),
        helper.make_node("And", ["codes_negative", "codes_categorical"], ["codes_unknown"]),
        helper.make_node("Where", ["codes_unknown", "codes_nan", FEATURES], [adapted]),
    ]
    nodes = [*front, *graph.graph.node]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    return graph


def _catboost(model: Any, n_features: int, objective: str, opset: int) -> onnx.ModelProto:
    """CatBoost's own ONNX writer; its classifier's ZipMap is cut off (the tensor before it
    is the probability matrix)."""
    import onnx
    from catboost import CatBoostError

    from trainwell.models.gbm import CatBoostCodes

    del n_features, opset  # CatBoost writes its input and opsets itself
    if isinstance(model, CatBoostCodes):
        raise _refuse_native_categorical(
            "a CatBoost model (its ONNX writer takes numeric features only)",
            len(model.categorical_features),
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catboost.onnx"
        try:
            model.save_model(str(path), format="onnx")
        except CatBoostError as exc:
            raise ExportError(f"CatBoost cannot write ONNX for this model: {exc}") from exc
        graph = onnx.load(str(path))
    if objective == "classification":
        zipmaps = [n for n in graph.graph.node if n.op_type == "ZipMap"]
        if len(zipmaps) != 1:
            raise ExportError("CatBoost's ONNX classifier has no single ZipMap to cut off")
        tensor = zipmaps[0].input[0]
        graph.graph.node.remove(zipmaps[0])
        from onnx import TensorProto, helper

        del graph.graph.output[:]
        graph.graph.output.append(
            helper.make_tensor_value_info(tensor, TensorProto.FLOAT, [None, None])
        )
        return _rename_output(graph, tensor, PROBABILITIES)
    return _rename_output(graph, graph.graph.output[0].name, output_name(objective))


def torch_graph(model: Any, objective: str, opset: int) -> onnx.ModelProto:
    """The estimator's ``export_head`` through the dynamo exporter, batch axis dynamic.

    Raises:
        ExportError: the exporter cannot trace the module.
    """
    import torch

    head = model.export_head().eval()
    example = model.export_example(2)
    batch = torch.export.Dim("batch", min=1)
    try:
        with model.export_tracing():
            program = torch.onnx.export(
                head,
                (example,),
                dynamo=True,
                input_names=[FEATURES],
                output_names=[output_name(objective)],
                dynamic_shapes=({0: batch},),
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ExportError(f"torch.onnx (dynamo) cannot export this model: {exc}") from exc
    if program is None:
        raise ExportError("torch.onnx (dynamo) returned no program")
    proto: onnx.ModelProto = program.model_proto
    return proto


MODEL_ROUTES = {
    "skl2onnx": _skl2onnx,
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "catboost": _catboost,
}


def table_graph(
    route: str,
    model: Any,
    preprocessor: Any,
    schema: InputSchema,
    objective: str,
    opset: int,
) -> onnx.ModelProto:
    """Preprocessing + model, raw prepared columns in, the objective's output out."""
    n_features = len(preprocessor.get_feature_names_out())
    if route == "torch":
        body = torch_graph(model, objective, opset)
    else:
        body = MODEL_ROUTES[route](model, n_features, objective, opset)
    # string categories need ai.onnx.ml 2+ (LabelEncoder); a model body may write 1 (its own
    # converter's choice), so the preprocessing asks for at least 3, which ORT runs
    ml = max(_opsets(body).get(ML_DOMAIN, 0), ML_FOR_PREPROCESSING)
    front = preprocessing_graph(preprocessor, schema, opset, ml_opset=ml)
    return merge(front, body)


def torchscript_program(model: Any, path: Path) -> None:
    """Trace the estimator's ``export_head`` and save it as a TorchScript archive.

    Raises:
        ExportError: tracing fails.
    """
    import torch

    head = model.export_head().eval()
    example = model.export_example(2)
    try:
        with torch.no_grad(), model.export_tracing():
            traced = torch.jit.trace(head, (example,), check_trace=False)  # type: ignore[no-untyped-call]
        torch.jit.save(traced, str(path))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ExportError(f"TorchScript cannot trace this model: {exc}") from exc
