"""TW102 hardcoded-path: what is a path, and when it is reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trainwell.lint.paths import Strength, classify

Run = Callable[..., set[tuple[int, str]]]


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("/home/alice/train.csv", Strength.STRONG),
        ("/mnt/data", Strength.STRONG),
        ("~/datasets/x", Strength.STRONG),
        ("C:\\data\\x.csv", Strength.STRONG),
        ("./data", Strength.STRONG),
        ("s3://bucket/key.parquet", Strength.STRONG),
        ("model.pt", Strength.STRONG),
        ("data/raw", Strength.WEAK),
        ("/predict", Strength.WEAK),
        ("loss/train", Strength.WEAK),
        ("application/json", Strength.NONE),
        ("%Y/%m/%d", Strength.NONE),
        ("https://example.com/a.csv", Strength.NONE),
        ("train/val split", Strength.NONE),
        ("outputs", Strength.NONE),
        (".parquet", Strength.NONE),
        (".tar.gz", Strength.NONE),
        ("/proc/meminfo", Strength.NONE),
        ("1.2.3", Strength.NONE),
        ("s3://", Strength.NONE),
        ("dbfs:/", Strength.NONE),
        ("application/vnd.apache.parquet", Strength.NONE),
        ("/api/2.0/mlflow/runs", Strength.NONE),
        ("/v1/traces", Strength.NONE),
        ("/ajax-api/2.0", Strength.NONE),
        ("/mnt/api/x", Strength.STRONG),
        ("data/v1/train.csv", Strength.STRONG),
        ("api/v1/model.pt", Strength.STRONG),
    ],
)
def test_classify(text: str, strength: Strength) -> None:
    assert classify(text) is strength


def test_reported_places(hits: Run) -> None:
    source = """
    import os
    import pandas as pd
    from pathlib import Path
    DATA_DIR = Path("/mnt/datasets/imagenet")
    ROUTE = "/predict"
    MANIFEST = "manifest.json"
    LOG_FILE = "debug.log"

    def load():
        return pd.read_csv("data/train.csv")

    def save(df, out, cfg):
        df.to_csv(out / "preds.csv")
        df.to_csv(os.path.join(cfg.out, "preds.csv"))
        df.to_csv(f"{cfg.out}/preds.csv")
        df.to_csv("preds.csv")
        folder = "outputs/run1"
        os.makedirs(folder)
        open(LOG_FILE, "w")
        return out / MANIFEST

    def defaults(path="data/x.parquet", route="/api/v1"):
        return Path(os.environ.get("DATA", "data/raw")), Path.home() / ".cache" / "x"
    """
    assert hits(source, codes={"TW102"}) == {
        (5, "TW102"), (8, "TW102"), (11, "TW102"), (17, "TW102"), (18, "TW102"),
        (23, "TW102"),
    }  # fmt: skip


def test_not_paths(hits: Run) -> None:
    source = """
    import argparse
    from pathlib import Path
    from pydantic import BaseModel

    class DataConfig(BaseModel):
        train_path: Path = Path("data/train.csv")

    @app.get("/predict/batch")
    def predict():
        writer.add_scalar("loss/train", 1.0)
        tok = AutoTokenizer.from_pretrained("facebook/opt-125m")
        ok = path.suffix == ".parquet" or name.endswith(".csv")
        logger.info("saved", path="outputs/x.csv")
        parser.add_argument("--data", default=Path("data/train.csv"))
        return p.with_name("meta.pt"), sorted(base.rglob("*.png"))
    """
    assert hits(source, codes={"TW102"}) == set()


def test_cli_command_defaults_are_not_reported(hits: Run) -> None:
    source = """
    import typer
    from pathlib import Path
    app = typer.Typer()

    @app.command()
    def train(config: Path = Path("configs/default.yaml")) -> None:
        pass
    """
    assert hits(source, codes={"TW102"}) == set()


def test_path_valued_keywords(hits: Run) -> None:
    source = """
    from fastapi import FastAPI
    from transformers import TrainingArguments

    args = TrainingArguments(
        output_dir=cfg.out,
        logging_dir="logs/ag_news",
        report_to="wandb/x",
    )
    tok = build(vocab_file="assets/vocab")
    hub = build(cache_path="cache/hf")
    app = FastAPI(root_path="/api/v1")
    client.log_table(data=df, artifact_file="metrics.json")
    """
    assert hits(source, codes={"TW102"}) == {(7, "TW102"), (10, "TW102"), (11, "TW102")}


def test_url_paths_scheme_prefixes_and_hub_id_defaults(hits: Run) -> None:
    source = """
    API_PATH = "/api/3.0/mlflow/traces/metrics"
    DATA_PATH = "/data/v1/raw"

    def strip_scheme(path):
        return path[len("s3://"):]

    def chat(client, url):
        client.send_request(base_url=url, path="chat/completions")
        client.send_request(path="chat/completions")

    def clip_score(x, model_name_or_path="openai/clip-vit-large-patch14"):
        return x

    def load(x, model_path="weights/clip"):
        return x
    """
    assert hits(source, codes={"TW102"}) == {(3, "TW102"), (10, "TW102"), (15, "TW102")}
