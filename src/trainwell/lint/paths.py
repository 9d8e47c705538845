"""TW102 hardcoded-path: filesystem paths written into the code.

A string literal is a path when it is absolute (``/home/...``, ``C:\\...``, ``~/...``, a cloud
bucket), starts with ``./``/``../``, has a data or model file extension (``train.csv``,
``model.pt``), or is relative with a separator (``data/raw``). It is reported when it flows into
a path sink (``open``, ``Path``, ``pd.read_*``, ``torch.save``...), when a strong path is passed
to any call, when a local name holding it is used as the base of a sink's path, or when it is
bound to a module-level name.

Not reported: a name-only literal joined onto a non-literal base (``cfg.out / "last.pt"``,
``os.path.join(out_dir, "m.pt")``, ``f"{out}/m.pt"``); CLI option defaults; ``os.environ.get``
fallbacks; config-class field defaults; slash strings that are not paths (URL routes, metric and
TensorBoard tags, MIME types, strftime formats, hub model ids).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from enum import IntEnum

from trainwell.lint.astutil import (
    FUNCTION_TYPES,
    FunctionNode,
    ModuleIndex,
    RawFinding,
    ScopeNode,
    finding,
    last_name,
    statements_in_order,
)
from trainwell.lint.context import cli_functions, in_config_class_body

DATA_EXTENSIONS = frozenset(
    {
        "csv",
        "tsv",
        "parquet",
        "feather",
        "arrow",
        "orc",
        "avro",
        "jsonl",
        "json",
        "yaml",
        "yml",
        "toml",
        "txt",
        "xlsx",
        "xls",
        "h5",
        "hdf5",
        "hdf",
        "npy",
        "npz",
        "pt",
        "pth",
        "ckpt",
        "bin",
        "safetensors",
        "pkl",
        "pickle",
        "joblib",
        "onnx",
        "pb",
        "tflite",
        "msgpack",
        "model",
        "ipynb",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "tif",
        "tiff",
        "wav",
        "mp3",
        "flac",
        "mp4",
        "avi",
        "zip",
        "tar",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "db",
        "sqlite",
        "log",
        "mat",
        "tfrecord",
        "tfrecords",
        "gguf",
        "engine",
        "skops",
        "ubj",
        "cbm",
        "lance",
        "zarr",
        "nc",
        "mdb",
        "lmdb",
    }
)
KNOWN_ROOTS = frozenset(
    {
        "home",
        "Users",
        "mnt",
        "data",
        "datasets",
        "tmp",
        "var",
        "opt",
        "usr",
        "srv",
        "root",
        "content",
        "kaggle",
        "workspace",
        "scratch",
        "media",
        "nfs",
        "gpfs",
        "lustre",
        "shared",
        "models",
        "checkpoints",
        "projects",
        "storage",
        "efs",
        "dbfs",
        "Volumes",
        "work",
        "cluster",
        "net",
        "export",
        "private",
        "drive",
        "gcs",
        "s3",
        "fsx",
    }
)
CLOUD_SCHEMES = ("s3://", "gs://", "gcs://", "hdfs://", "abfs://", "abfss://", "az://", "dbfs:/")
MIME_TOPS = frozenset({"application", "text", "image", "audio", "video", "multipart", "font"})
MIME_SUBTYPE_PREFIXES = ("vnd.", "x-", "prs.")
API_VERSION = re.compile(r"v\d+(\.\d+)*")
# parameters that take a hub model id or a path (``model_name_or_path``, ``repo_id``)
HUB_ID_PARAMETER_WORDS = frozenset({"name", "id", "repo"})
# keywords that name a server: the call's ``path=`` is then the URL path on it
URL_KEYWORD_WORDS = frozenset({"url", "uri", "host", "endpoint"})
SEGMENT_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-*{}+=@~"
)
PATH_NAME_HINTS = (
    "PATH",
    "DIR",
    "FILE",
    "ROOT",
    "FOLDER",
    "CKPT",
    "CHECKPOINT",
    "OUTPUT",
    "LOGDIR",
    "CACHE",
    "LOCATION",
)
PLACEHOLDER = "x"
SYSTEM_PREFIXES = ("/proc/", "/sys/", "/dev/", "/etc/")
MAX_PATH_LENGTH = 4096

# functions that build a path from their first argument
JOIN_FUNCTIONS = frozenset(
    {
        "os.path.join",
        "pathlib.Path",
        "Path",
        "pathlib.PurePath",
        "PurePath",
        "pathlib.PosixPath",
        "PosixPath",
        "os.path.expanduser",
        "os.path.abspath",
        "os.path.normpath",
        "os.path.realpath",
        "os.fspath",
        "str",
    }
)
HOME_FUNCTIONS = frozenset({"pathlib.Path.home", "Path.home"})
SINK_FUNCTIONS = frozenset(
    {
        "open",
        "builtins.open",
        "io.open",
        "pathlib.Path",
        "Path",
        "pathlib.PurePath",
        "PurePath",
        "os.makedirs",
        "os.mkdir",
        "os.listdir",
        "os.scandir",
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.replace",
        "os.walk",
        "os.chdir",
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.getsize",
        "glob.glob",
        "glob.iglob",
        "numpy.load",
        "numpy.save",
        "numpy.savez",
        "numpy.savez_compressed",
        "numpy.loadtxt",
        "numpy.savetxt",
        "numpy.genfromtxt",
        "numpy.fromfile",
        "numpy.memmap",
        "torch.save",
        "torch.load",
        "torch.jit.save",
        "torch.jit.load",
        "torch.onnx.export",
        "joblib.dump",
        "joblib.load",
        "h5py.File",
        "PIL.Image.open",
        "cv2.imread",
        "cv2.imwrite",
        "cv2.VideoCapture",
        "sqlite3.connect",
        "onnx.save",
        "onnx.load",
        "skops.io.dump",
        "skops.io.load",
        "safetensors.torch.save_file",
        "safetensors.torch.load_file",
        "safetensors.numpy.save_file",
        "safetensors.numpy.load_file",
        "datasets.load_from_disk",
        "papermill.execute_notebook",
        "onnxruntime.InferenceSession",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "shutil.rmtree",
        "shutil.make_archive",
        "shutil.unpack_archive",
        "zipfile.ZipFile",
        "tarfile.open",
        "torch.utils.tensorboard.SummaryWriter",
        "tensorboardX.SummaryWriter",
        "urllib.request.urlretrieve",
        "mlflow.log_artifact",
        "mlflow.log_artifacts",
        "wandb.save",
        "lightgbm.Booster",
        "xgboost.Booster",
    }
)
SINK_PREFIXES = ("pandas.read_", "polars.read_", "polars.scan_", "shutil.")
SINK_METHODS = frozenset(
    {
        "read_csv",
        "read_parquet",
        "read_json",
        "read_excel",
        "read_feather",
        "read_pickle",
        "read_table",
        "read_hdf",
        "read_orc",
        "scan_csv",
        "scan_parquet",
        "to_csv",
        "to_parquet",
        "to_excel",
        "to_feather",
        "to_pickle",
        "to_hdf",
        "to_json",
        "savefig",
        "save_pretrained",
        "save_model",
        "load_model",
        "save_checkpoint",
        "load_from_checkpoint",
        "export",
        "save_weights",
        "load_weights",
        "log_artifact",
        "log_artifacts",
        "imread",
        "imwrite",
        "write_parquet",
        "write_csv",
        "sink_parquet",
    }
)
PATH_KEYWORDS = frozenset(
    {
        "root",
        "path",
        "filepath",
        "file_path",
        "fname",
        "filename",
        "file",
        "log_dir",
        "logdir",
        "save_dir",
        "output_dir",
        "cache_dir",
        "data_dir",
        "dirpath",
        "checkpoint_dir",
        "ckpt_path",
        "default_root_dir",
        "model_dir",
        "data_files",
        "data_path",
        "train_path",
        "out_dir",
        "save_path",
        "load_path",
        "weights_path",
        "model_path",
        "dir",
        "root_dir",
        "local_dir",
        "export_dir",
        "artifact_path_local",
        "logging_dir",
        "output_path",
        "checkpoint_path",
        "config_path",
        "cache_path",
    }
)
# keyword names whose last word says they take a folder or a file (``logging_dir=``,
# ``ckpt_dir=``, ``vocab_file=``); ``*_path``/``*_root`` are not here because web frameworks use
# them for URL prefixes (``root_path="/api"``)
PATH_KEYWORD_SUFFIXES = frozenset(
    {"dir", "directory", "folder", "file", "filepath", "filename", "fname", "logdir", "dirpath"}
)
# calls whose string arguments are not paths to report
EXEMPT_CALLS = frozenset(
    {
        "os.environ.get",
        "os.getenv",
        "environ.get",
        "getenv",
        "os.environ.setdefault",
        "print",
        "warnings.warn",
        "re.compile",
        "re.match",
        "re.search",
        "re.sub",
        "re.fullmatch",
        "fnmatch.fnmatch",
        "hf_hub_download",
        "huggingface_hub.hf_hub_download",
        "huggingface_hub.snapshot_download",
        "snapshot_download",
        "torch.hub.load",
        "timm.create_model",
        "datasets.load_dataset",
        "load_dataset",
    }
)
EXEMPT_METHODS = frozenset(
    {
        "with_name",
        "with_suffix",
        "with_stem",
        "endswith",
        "startswith",
        "glob",
        "rglob",
        "match",
        "full_match",
        "fnmatch",
        "relative_to",
        "replace",
        "split",
        "rsplit",
        "strip",
        "lstrip",
        "rstrip",
        "removesuffix",
        "removeprefix",
        "join",
        "format",
        "get",
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "log",
        "add_argument",
        "Option",
        "Argument",
        "option",
        "argument",
        "Field",
        "field",
        "add_scalar",
        "add_scalars",
        "add_image",
        "add_histogram",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "set_tag",
        "from_pretrained",
        "route",
        "post",
        "put",
        "delete",
        "patch",
        "websocket",
        "api_route",
        "add_api_route",
        "url_for",
        "encode",
        "decode",
        "getenv",
        "setdefault",
        "count",
        "index",
        "find",
        "hf_hub_download",
        "snapshot_download",
        "create_model",
        "load_dataset",
    }
)
LOAD_DATASET_PATH_KEYWORDS = frozenset({"data_files", "data_dir", "cache_dir"})
HUB_LOADERS = frozenset({"from_pretrained"})


# expressions that can hold a literal path (names and attributes cannot)
_LITERAL_CARRIERS = (
    ast.Constant,
    ast.JoinedStr,
    ast.BinOp,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Dict,
)


class Strength(IntEnum):
    """How sure we are that a string is a filesystem path."""

    NONE = 0
    WEAK = 1
    STRONG = 2


def _fill_template(text: str) -> str:
    """``"data/{split}.csv"`` -> ``"data/x.csv"`` (format fields become a placeholder)."""
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            if depth == 0:
                out.append(PLACEHOLDER)
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out).replace("%s", PLACEHOLDER).replace("%d", PLACEHOLDER)


def _valid_segment(segment: str) -> bool:
    return bool(segment) and all(char in SEGMENT_CHARS for char in segment)


def _has_data_extension(segment: str) -> bool:
    stem, dot, extension = segment.rpartition(".")
    return bool(dot) and bool(stem.strip(".")) and extension.lower() in DATA_EXTENSIONS


def classify(text: str) -> Strength:
    """How path-like a string is (see the module docstring)."""
    if "/" not in text and "\\" not in text and "." not in text:
        return Strength.NONE  # a bare word: no folder, no extension (the common case, fast)
    if not text or len(text) > MAX_PATH_LENGTH or any(char.isspace() for char in text):
        return Strength.NONE
    if text.startswith(".") and is_bare_name(text):
        return Strength.NONE  # a suffix such as ".tar.gz", or a dotfile name
    if text.startswith(SYSTEM_PREFIXES):
        return Strength.NONE
    if text.startswith(CLOUD_SCHEMES):
        return Strength.NONE if text in CLOUD_SCHEMES else Strength.STRONG  # a bare scheme
    if "://" in text or text.startswith(("$", "%")):
        return Strength.NONE
    if len(text) > 2 and text[1] == ":" and text[0].isalpha() and text[2] in "\\/":
        return Strength.STRONG
    if text.startswith(("~/", "./", "../")) and len(text) > len("./"):
        return Strength.STRONG
    segments = text.split("/")
    if not all(_valid_segment(s) for s in segments[1:-1]) or not all(
        _valid_segment(s) for s in segments if s
    ):
        return Strength.NONE
    if _is_mime_type(segments) or (
        _is_api_route(segments) and not _has_data_extension(segments[-1])
    ):
        return Strength.NONE
    if _has_data_extension(segments[-1]):
        return Strength.STRONG
    if text.startswith("/"):
        parts = [s for s in segments if s]
        if not parts:
            return Strength.NONE
        return Strength.STRONG if parts[0] in KNOWN_ROOTS and len(parts) > 1 else Strength.WEAK
    parts = [s for s in segments if s]
    if len(parts) < len("ab"):
        return Strength.NONE
    if parts[0] in MIME_TOPS and len(parts) == len("ab"):
        return Strength.NONE
    return Strength.WEAK


def _is_mime_type(segments: list[str]) -> bool:
    """``application/vnd.apache.parquet``, ``application/x-ndjson``: a media type, even when
    its subtype ends like a file extension."""
    return (
        len(segments) == len("ab")
        and segments[0] in MIME_TOPS
        and segments[1].startswith(MIME_SUBTYPE_PREFIXES)
    )


def _is_api_route(segments: list[str]) -> bool:
    """``/api/2.0/mlflow/runs``, ``/v1/traces``, ``/ajax-api/2.0``: an HTTP route, whose first
    folder is an API prefix or a version, which filesystem paths do not start with."""
    parts = [s for s in segments if s]
    if len(parts) < len("ab") and not (segments[0] == "" and parts):
        return False
    first = parts[0].lower()
    return first == "api" or first.endswith("-api") or API_VERSION.fullmatch(first) is not None


def is_hub_id(text: str) -> bool:
    """``openai/clip-vit-large-patch14``: an ``org/name`` model id (one slash, no extension)."""
    return (
        text.count("/") == 1
        and not text.startswith(("/", ".", "~"))
        and classify(text) is Strength.WEAK
    )


def is_bare_name(text: str) -> bool:
    """A file name without folders (``model.pt``): a path only once it is used as one."""
    return "/" not in text and "\\" not in text and not text.startswith("~")


def path_text(index: ModuleIndex, expr: ast.AST) -> tuple[str, ast.AST] | None:
    """The text of a path expression whose *base* is a literal, with the literal to report.

    ``"data" / "x.csv"`` -> ``("data/x.csv", <"data">)``; ``cfg.out / "x.csv"`` -> None.
    """
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value, expr
    if isinstance(expr, ast.JoinedStr):
        if not expr.values or not isinstance(expr.values[0], ast.Constant):
            return None
        text = "".join(
            str(v.value) if isinstance(v, ast.Constant) else PLACEHOLDER for v in expr.values
        )
        return text, expr
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div | ast.Add | ast.Mod):
        left = path_text(index, expr.left)
        if left is None:
            return None
        if isinstance(expr.op, ast.Mod):
            return _fill_template(left[0]), left[1]
        right = path_text(index, expr.right)
        separator = "/" if isinstance(expr.op, ast.Div) else ""
        return f"{left[0]}{separator}{right[0] if right else PLACEHOLDER}", left[1]
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr == "format":
            base = path_text(index, func.value)
            return (_fill_template(base[0]), base[1]) if base else None
        if isinstance(func, ast.Attribute) and func.attr == "joinpath":
            base = path_text(index, func.value)
            if base is None:
                return None
            rest = [path_text(index, a) for a in expr.args]
            tail = "/".join(r[0] if r else PLACEHOLDER for r in rest)
            return f"{base[0]}/{tail}", base[1]
        if index.call_name(expr) in HOME_FUNCTIONS and not expr.args:
            return "~", expr
        if index.call_name(expr) in JOIN_FUNCTIONS and expr.args:
            first = path_text(index, expr.args[0])
            if first is None:
                return None
            rest = [path_text(index, a) for a in expr.args[1:]]
            tail = "".join("/" + (r[0] if r else PLACEHOLDER) for r in rest)
            return f"{first[0]}{tail}", first[1]
    return None


def base_name(index: ModuleIndex, expr: ast.AST) -> str | None:
    """The local name a path expression is built on (``data_dir / "x.csv"`` -> ``data_dir``)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.BinOp):
        return base_name(index, expr.left)
    if isinstance(expr, ast.JoinedStr) and expr.values:
        first = expr.values[0]
        return base_name(index, first.value) if isinstance(first, ast.FormattedValue) else None
    if isinstance(expr, ast.Call) and expr.args and index.call_name(expr) in JOIN_FUNCTIONS:
        return base_name(index, expr.args[0])
    return None


def _is_sink(index: ModuleIndex, call: ast.Call) -> bool:
    name = index.call_name(call) or ""
    if name in SINK_FUNCTIONS or name.startswith(SINK_PREFIXES):
        return True
    return isinstance(call.func, ast.Attribute) and call.func.attr in SINK_METHODS


def _is_exempt_call(index: ModuleIndex, call: ast.Call) -> bool:
    name = index.call_name(call) or ""
    if name in EXEMPT_CALLS:
        return True
    if name in SINK_FUNCTIONS:
        return False
    method = last_name(call.func)
    return isinstance(call.func, ast.Attribute) and method in EXEMPT_METHODS


def _slots(index: ModuleIndex, call: ast.Call, sink: bool) -> Iterator[ast.expr]:
    """The arguments of a call that may hold a path."""
    name = index.call_name(call) or ""
    if name.endswith("load_dataset"):
        for kw in call.keywords:
            if kw.arg in LOAD_DATASET_PATH_KEYWORDS:
                yield from _expand(kw.value)
        return
    if sink:
        yield from call.args
    for kw in call.keywords:
        if kw.arg is not None and (sink or kw.arg in PATH_KEYWORDS):
            yield from _expand(kw.value)


def is_path_named_keyword(name: str) -> bool:
    """A keyword whose last word is a folder or file word (``logging_dir``, ``vocab_file``).
    Such a keyword may also name an entry in some store (mlflow's ``artifact_file``), so only a
    literal with folders passed to it is a filesystem path."""
    words = [w for w in name.lower().split("_") if w]
    return len(words) > 1 and words[-1] in PATH_KEYWORD_SUFFIXES


def _folder_slots(call: ast.Call) -> Iterator[ast.expr]:
    """Arguments of path-named keywords that are not in PATH_KEYWORDS."""
    for kw in call.keywords:
        if kw.arg is not None and kw.arg not in PATH_KEYWORDS and is_path_named_keyword(kw.arg):
            yield from _expand(kw.value)


def _names_a_server(call: ast.Call) -> bool:
    """A call given a server (``base_url=``, ``host=``...): its paths are URL paths."""
    return any(
        kw.arg is not None and URL_KEYWORD_WORDS & set(kw.arg.lower().split("_"))
        for kw in call.keywords
    )


def _expand(expr: ast.expr) -> Iterator[ast.expr]:
    """Values inside list/tuple/dict literals (``data_files={"train": "a.csv"}``)."""
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        yield from expr.elts
    elif isinstance(expr, ast.Dict):
        yield from expr.values
    else:
        yield expr


class _PathChecker:
    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.reported: set[int] = set()

    @property
    def cli(self) -> set[FunctionNode]:
        """CLI command functions (their defaults are CLI option defaults)."""
        return cli_functions(self.index)

    def report(self, anchor: ast.AST, text: str) -> RawFinding | None:
        if id(anchor) in self.reported:
            return None
        self.reported.add(id(anchor))
        return finding("TW102", anchor, f"hardcoded path {text!r}")

    def in_exempt_place(self, node: ast.AST) -> bool:
        """Inside a config-class body, or an argument of an exempt call (the nearest call)."""
        seen_call = False
        for ancestor in self.index.ancestors(node):
            if isinstance(ancestor, ast.arguments):
                return self.index.parent(ancestor) in self.cli
            if isinstance(ancestor, ast.Call) and not seen_call:
                seen_call = True
                if _is_exempt_call(self.index, ancestor):
                    return True
            if isinstance(ancestor, ast.stmt):
                return in_config_class_body(self.index, ancestor)
        return False

    def calls_with_text(self) -> set[int]:
        """Ids of the calls with a string literal somewhere in their arguments (every path
        expression starts from one); the others cannot pass a literal path."""
        index = self.index
        found: set[int] = set()
        for const in index.nodes(ast.Constant):
            if not isinstance(const.value, str):
                continue
            child: ast.AST = const
            parent = index.parent(const)
            while parent is not None and not isinstance(parent, ast.stmt):
                if isinstance(parent, ast.Call) and child is not parent.func:
                    found.add(id(parent))
                child, parent = parent, index.parent(parent)
        return found

    def check_calls(self) -> Iterator[RawFinding]:
        index = self.index
        with_text = self.calls_with_text()
        for call in index.calls:
            if id(call) not in with_text:
                continue
            candidates = [*call.args, *(kw.value for kw in call.keywords)]
            if not any(isinstance(c, _LITERAL_CARRIERS) for c in candidates):
                continue
            texts: list[tuple[ast.expr, str, ast.AST, Strength]] = []
            for arg in [e for c in candidates for e in _expand(c)]:
                found = path_text(index, arg)
                if found is not None:
                    strength = classify(found[0])
                    if strength is not Strength.NONE:
                        texts.append((arg, found[0], found[1], strength))
            if not texts or _is_exempt_call(index, call) or self.in_exempt_place(call):
                continue
            slots = set(map(id, _slots(index, call, _is_sink(index, call))))
            folders = set(map(id, _folder_slots(call)))
            url_call = _names_a_server(call)
            for arg, text, anchor, strength in texts:
                if url_call and strength is Strength.WEAK:
                    continue  # send_request(base_url=..., path="chat/completions")
                if (
                    id(arg) in slots
                    or (id(arg) in folders and not is_bare_name(text))
                    or (strength is Strength.STRONG and not is_bare_name(text))
                ):
                    hit = self.report(anchor, text)
                    if hit:
                        yield hit

    def sink_bases(self) -> dict[ScopeNode, set[str]]:
        """Per scope: local names used as the base of a path passed to a sink."""
        out: dict[ScopeNode, set[str]] = {}
        for call in self.index.calls:
            sink = _is_sink(self.index, call)
            for slot in _slots(self.index, call, sink):
                name = base_name(self.index, slot)
                if name:
                    out.setdefault(self.index.scope(call), set()).add(name)
        return out

    def check_assignments(self) -> Iterator[RawFinding]:
        index = self.index
        assigns: list[ast.Assign | ast.AnnAssign] = [
            *index.nodes(ast.Assign),
            *index.nodes(ast.AnnAssign),
        ]
        candidates: list[tuple[ast.Assign | ast.AnnAssign, list[str], str, ast.AST, Strength]] = []
        for stmt in assigns:
            if not isinstance(stmt.value, _LITERAL_CARRIERS):
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            found = path_text(index, stmt.value) if names else None
            if found is None or classify(found[0]) is Strength.NONE:
                continue
            if in_config_class_body(index, stmt) or self.in_exempt_place(stmt.value):
                continue
            candidates.append((stmt, names, found[0], found[1], classify(found[0])))
        if not candidates:
            return
        bases = self.sink_bases()
        used_anywhere = set().union(*bases.values()) if bases else set()
        for stmt, names, text, anchor, strength in candidates:
            scope = index.scope(stmt)
            at_module = isinstance(scope, ast.Module) and isinstance(
                index.parent(stmt), ast.Module | ast.If | ast.Try
            )
            hinted = any(h in name.upper() for name in names for h in PATH_NAME_HINTS)
            used = any(name in bases.get(scope, set()) for name in names)
            if at_module:
                used = used or any(name in used_anywhere for name in names)
                flagged = used or (
                    not is_bare_name(text) and (strength is Strength.STRONG or hinted)
                )
            else:
                flagged = used
            if flagged:
                hit = self.report(anchor, text)
                if hit:
                    yield hit

    def check_defaults(self) -> Iterator[RawFinding]:
        for func in self.index.functions:
            if func in self.cli:
                continue
            args = func.args
            positional = [*args.posonlyargs, *args.args]
            with_default = positional[len(positional) - len(args.defaults) :]
            pairs = list(zip(with_default, args.defaults, strict=True))
            pairs += [
                (a, d)
                for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                if d is not None
            ]
            for arg, default in pairs:
                found = path_text(self.index, default)
                if found is None:
                    continue
                text, anchor = found
                strength = classify(text)
                hinted = any(h.lower() in arg.arg.lower() for h in PATH_NAME_HINTS)
                if is_hub_id(text) and HUB_ID_PARAMETER_WORDS & set(arg.arg.lower().split("_")):
                    continue  # model_name_or_path="org/model": a hub id
                strong = strength is Strength.STRONG and not is_bare_name(text)
                if strong or (strength is not Strength.NONE and hinted):
                    hit = self.report(anchor, text)
                    if hit:
                        yield hit


def check_hardcoded_paths(index: ModuleIndex) -> Iterator[RawFinding]:
    """TW102: hardcoded filesystem paths (see the module docstring)."""
    checker = _PathChecker(index)
    yield from checker.check_calls()
    yield from checker.check_assignments()
    yield from checker.check_defaults()


def module_level_statements(index: ModuleIndex) -> Iterator[ast.stmt]:
    """Module-level statements, including those inside module-level if/try blocks."""
    for stmt in statements_in_order(index.tree.body):
        if not isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef)):
            yield stmt
