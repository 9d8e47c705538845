"""TW204 eval-mode-missing and TW205 no-grad-missing."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., set[tuple[int, str]]]


def test_validation_function_without_eval_or_no_grad(hits: Run) -> None:
    source = """
    import torch

    def evaluate(model, loader):
        return [model(x) for x, _ in loader]
    """
    assert hits(source) >= {(5, "TW204"), (5, "TW205")}


def test_eval_through_helpers_callers_and_load_time(hits: Run) -> None:
    source = """
    import torch
    from transformers import AutoModel

    def to_eval(m):
        m.eval()

    def evaluate(model, loader):
        to_eval(model)
        with torch.no_grad():
            return [model(x) for x, _ in loader]

    def score(model, x):
        return model(x)

    def validate(model, loader):
        model.eval()
        with torch.inference_mode():
            return [score(model, x) for x in loader]

    @torch.no_grad()
    def predict(texts):
        model = AutoModel.from_pretrained("bert-base-uncased")
        return model(texts)

    class Service:
        def __init__(self, net):
            self.model = net
            self.model.eval()

        @torch.inference_mode()
        def predict(self, x):
            return self.model(x)
    """
    assert {code for _, code in hits(source)} & {"TW204", "TW205"} == set()


def test_train_inside_the_epoch_loop_defeats_an_earlier_eval(hits: Run) -> None:
    source = """
    import torch

    def fit(model, train_loader, val_loader, opt):
        model.eval()
        for epoch in range(3):
            model.train()
            for x, y in train_loader:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
            with torch.no_grad():
                scores = [model(x) for x, _ in val_loader]
    """
    assert (13, "TW204") in hits(source)
    assert (13, "TW205") not in hits(source)


def test_lightning_hooks_tests_and_training_are_not_validation(hits: Run) -> None:
    lightning = """
    import lightning as L

    class Lit(L.LightningModule):
        def validation_step(self, batch, idx):
            return self.model(batch)
    """
    assert {c for _, c in hits(lightning)} & {"TW204", "TW205"} == set()
    pytest_file = "import torch\ndef test_model_output(model):\n    assert model(x) is not None\n"
    assert hits(pytest_file, name="test_model.py", codes={"TW204", "TW205"}) == set()


def test_frozen_teacher_in_training_needs_no_grad(hits: Run) -> None:
    source = """
    import torch

    def distill(teacher, student, loader, opt):
        for x in loader:
            opt.zero_grad()
            target = teacher(x)
            torch.nn.functional.mse_loss(student(x), target).backward()
            opt.step()
    """
    assert hits(source, codes={"TW205"}) == {(7, "TW205")}


def test_helper_constructor_and_module_function_calls_are_not_forwards(hits: Run) -> None:
    source = """
    import torch
    from lightning.pytorch.trainer import call

    class Net(torch.nn.Module):
        def forward(self, x):
            return x

    def get_model_and_processor(name):
        return Net(), None

    def predict_loop(trainer, x):
        call._call_lightning_module_hook(trainer, "on_predict_start")
        model, processor = get_model_and_processor("m")
        net = Net()
        return net(x)
    """
    assert hits(source, codes={"TW204", "TW205"}) == {(16, "TW204"), (16, "TW205")}
