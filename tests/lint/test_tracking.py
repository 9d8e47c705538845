"""TW209 hparams-not-logged, judged per run."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., set[tuple[int, str]]]


def test_each_run_logs_its_own_params(hits: Run) -> None:
    source = """
    import mlflow
    import wandb

    def log_cfg(cfg):
        mlflow.log_params(cfg)

    def a(cfg):
        with mlflow.start_run():
            mlflow.log_params(cfg)
            with mlflow.start_run(nested=True):
                mlflow.log_metric("x", 1)

    def b(cfg):
        with mlflow.start_run():
            log_cfg(cfg)

    def c(cfg):
        run = wandb.init(project="p")
        run.config.update(cfg)

    def d(cfg):
        wandb.init(project="p")

    def e(cfg):
        wandb.init(project="p", config=cfg)
    """
    assert hits(source, codes={"TW209"}) == {(11, "TW209"), (23, "TW209")}


def test_autolog_covers_every_mlflow_run(hits: Run) -> None:
    source = "import mlflow\nmlflow.autolog()\nwith mlflow.start_run():\n    fit()\n"
    assert hits(source, codes={"TW209"}) == set()
