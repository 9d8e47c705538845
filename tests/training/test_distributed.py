"""DDP: the process context, launch through torch.distributed.run, and a real 2-process gloo run."""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from trainwell.errors import TrainingError
from trainwell.training import checkpoint as ckpt
from trainwell.training import distributed


@pytest.fixture
def no_torchrun_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_torchrun_env")
def test_without_torchrun_there_is_one_process() -> None:
    context, device = distributed.init_distributed("cpu")
    assert context == distributed.DistributedContext()
    assert (context.enabled, context.is_main, device.type) == (False, True, "cpu")
    assert not distributed.is_launched()
    assert distributed.is_main_process()
    assert distributed.gather_objects("x", context) == ["x"]
    assert distributed.sum_over_ranks([1.0, 2.0], context) == [1.0, 2.0]
    assert distributed.min_step_over_ranks(None, context) is None


def test_rank_and_world_size_come_from_torchrun_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    assert distributed.is_launched()
    assert not distributed.is_main_process()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(TrainingError, match="WORLD_SIZE='two' is not an integer"):
        distributed.world_size_from_env()


def test_backend_is_gloo_on_cpu_and_nccl_on_cuda() -> None:
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda", 0)) == "nccl"


def test_free_port_is_bindable_on_loopback() -> None:
    port = distributed.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_launch_refuses_nonsense() -> None:
    with pytest.raises(TrainingError, match="nproc must be >= 1"):
        distributed.launch(["x.py"], nproc=0)
    with pytest.raises(TrainingError, match="launch needs a command"):
        distributed.launch([], nproc=2)


@pytest.mark.slow
def test_a_failing_worker_is_a_training_error_with_its_exit_code(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="rank 0 exit code 3"):
        distributed.launch([str(script)], nproc=1)


WORKER = textwrap.dedent(
    """
    import json
    import os
    import sys
    from pathlib import Path

    import structlog
    import torch

    torch.set_num_threads(1)
    from safetensors.torch import save_model
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from trainwell.models.torch_tabular import TabularMLPClassifier
    from trainwell.training.callbacks import MetricsLogger
    from trainwell.training.settings import TrainerSettings

    out, rank = Path(sys.argv[1]), os.environ["RANK"]
    events = (out / f"events-rank{rank}.jsonl").open("w")
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.WriteLoggerFactory(file=events),
    )
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    logged = []
    clf = TabularMLPClassifier(
        hidden_dims=(16,),
        dropout=0.1,
        loop=TrainerSettings(
            epochs=2,
            batch_size=32,
            devices=2,
            checkpoint_every_steps=3,
            log_every_steps=2,
            progress_bar=False,
        ),
        checkpoint_dir=str(out / "checkpoints"),
        callbacks=[MetricsLogger(lambda metrics, step: logged.append(step))],
        random_state=0,
    )
    clf.fit(X[:400], y[:400], eval_set=(X[400:], y[400:]))
    save_model(clf.module_, str(out / f"rank{rank}.safetensors"))
    (out / f"metrics-rank{rank}.json").write_text(json.dumps(logged))
    """
)


def _events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.usefixtures("no_torchrun_env")
def test_two_gloo_processes_train_equal_weights_and_only_rank_zero_writes(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    distributed.launch([str(script), str(tmp_path)], nproc=2)

    weights = [load_file(tmp_path / f"rank{rank}.safetensors") for rank in (0, 1)]
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name

    rank0, rank1 = (_events(tmp_path / f"events-rank{rank}.jsonl") for rank in (0, 1))
    assert {"train_start", "train_step", "epoch_end", "checkpoint_saved", "train_end"} <= set(rank0)
    assert rank1 == []
    assert json.loads((tmp_path / "metrics-rank0.json").read_text())
    assert json.loads((tmp_path / "metrics-rank1.json").read_text()) == []

    # 400 rows, 200 per rank, batches of 32: 7 steps per epoch, 14 in all.
    latest = ckpt.load_checkpoint(ckpt.list_checkpoints(tmp_path / "checkpoints")[-1])
    assert (latest["world_size"], latest["global_step"], len(latest["rng"])) == (2, 14, 2)
    assert latest["epoch"] == 2
    for name, tensor in latest["model"].items():
        assert torch.equal(tensor, weights[0][name])


def test_the_launch_command_is_python_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(args: object) -> None:
        seen.append([args.training_script, *args.training_script_args])
        assert args.module is True
        assert args.nproc_per_node == "2"
        assert args.master_addr == "127.0.0.1"

    monkeypatch.setattr("torch.distributed.run.run", fake_run)
    distributed.launch(["-m", "trainwell.cli", "train", "training.devices=2"], nproc=2)
    assert seen == [["trainwell.cli", "train", "training.devices=2"]]
