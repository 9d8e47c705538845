"""The torch checks on a real MLP: quiet when the loop is right, firing on planted faults."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from trainwell.config.loader import resolve_config
from trainwell.evaluation.checks import torch_checks as tc
from trainwell.training import pipeline
from trainwell.training.trainer import Trainer


def setup_for(**training: Any) -> tc.TorchCheckInput:
    config = resolve_config(
        {
            "data": {"path": "sklearn:breast_cancer"},
            "model": {"architecture": "mlp", "params": {"hidden_dims": [32], "dropout": 0.3}},
            "training": {"epochs": 2, "batch_size": 16, **training},
            "tracking": {"enabled": False},
        }
    )
    return pipeline.torch_check_input(pipeline.set_up_run(config))


@pytest.fixture(scope="module")
def setup() -> tc.TorchCheckInput:
    return setup_for()


def test_all_torch_checks_pass_on_a_correct_loop(setup: tc.TorchCheckInput) -> None:
    results = {r.id: r for r in tc.run_torch_checks(setup)}
    assert {r.status for r in results.values()} == {"pass"}, results
    overfit = results["one_batch.overfit"].details
    assert overfit["last_loss"] < overfit["first_loss"] * tc.OVERFIT_LOSS_RATIO
    assert results["eval_mode"].details["validation_passes"] >= tc.PROBE_EPOCHS
    assert results["memory"].details["peak_mib"] > 0
    assert "optimizer" in results["checkpoint.completeness"].details["keys"]


def test_validation_that_forgets_eval_is_caught(
    setup: tc.TorchCheckInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Trainer.evaluate

    def forgetful(self: Trainer, loader: Any, autocast: Any = None) -> dict[str, float]:
        # the classic bug: validate with dropout still active and autograd on
        self.model.train()
        with torch.enable_grad():
            inputs = torch.cat([batch[0] for batch in loader])
            self.model(inputs)
        return original(self, loader) if autocast is None else original(self, loader, autocast)

    monkeypatch.setattr(Trainer, "evaluate", forgetful)
    result = tc.check_eval_mode(setup, tc.probe_fit(setup))
    assert result.status == "fail"
    assert "train() mode" in result.message
    assert "autograd on" in result.message


def test_a_model_that_cannot_learn_fails_the_overfit_check() -> None:
    frozen = setup_for(learning_rate=1e-9)
    result = tc.check_overfit_one_batch(frozen)
    assert result.status == "fail"
    assert "cannot fit even one batch" in result.message


def test_checkpoint_without_optimizer_state_is_caught(setup: tc.TorchCheckInput) -> None:
    probe = tc.probe_fit(setup)
    assert probe.checkpoint is not None
    broken = {k: v for k, v in probe.checkpoint.items() if k != "optimizer"}
    result = tc.check_checkpoint_completeness(
        setup,
        tc.ProbeResult(
            probe.records, probe.repeat_equal, probe.peak_bytes, True, broken, probe.valid_batch
        ),
    )
    assert result.status == "fail"
    assert "optimizer" in result.message


def test_a_detector_scoring_its_training_rows_after_fit_passes_eval_mode() -> None:
    """The autoencoder scores its training rows in eval() after fit (for its threshold); that
    is not a training step, and the probe must not count it as one (it did at ef163e7)."""
    config = resolve_config(
        {
            "data": {"path": "sklearn:breast_cancer"},
            "task": {"kind": "anomaly-detection"},
            "model": {"architecture": "autoencoder"},
            "training": {"epochs": 2},
            "tracking": {"enabled": False},
        }
    )
    run = pipeline.torch_check_input(pipeline.set_up_run(config))
    assert run.y_train is None  # anomaly detection learns without labels
    results = {r.id: r for r in tc.run_torch_checks(run)}
    assert results["eval_mode"].status == "pass", results["eval_mode"].message
    assert results["one_batch.overfit"].status == "pass"
