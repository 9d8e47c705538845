"""TW206 zero-grad-missing, TW207, TW208 checkpoint-without-optimizer, TW212."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., set[tuple[int, str]]]


def test_zero_grad_per_optimizer_and_per_loop(hits: Run) -> None:
    source = """
    import torch

    def gan(gen, disc, loader):
        opt_g = torch.optim.Adam(gen.parameters())
        opt_d = torch.optim.Adam(disc.parameters())
        for x in loader:
            opt_d.zero_grad()
            disc(x).mean().backward()
            opt_d.step()
            gen(x).mean().backward()
            opt_g.step()

    def dcgan(netG, netD, loader):
        optG = torch.optim.Adam(netG.parameters())
        optD = torch.optim.Adam(netD.parameters())
        for x in loader:
            netD.zero_grad()
            netD(x).mean().backward()
            optD.step()
            netG.zero_grad()
            netG(x).mean().backward()
            optG.step()

    def once(model, loader, opt):
        opt.zero_grad()
        for x in loader:
            model(x).sum().backward()
            opt.step()

    def accumulate(model, loader, opt, k):
        for i, x in enumerate(loader):
            model(x).sum().backward()
            if i % k == 0:
                opt.step()
                opt.zero_grad(set_to_none=False)
    """
    assert hits(source, codes={"TW206", "TW207"}) == {
        (11, "TW206"), (28, "TW206"), (36, "TW207"),
    }  # fmt: skip


def test_step_functions_are_judged_with_their_callers(hits: Run) -> None:
    source = """
    import torch

    def step(model, batch, opt):
        model(batch).sum().backward()
        opt.step()

    def loop(model, loader, opt):
        for batch in loader:
            opt.zero_grad()
            step(model, batch, opt)

    def lonely(model, batch, opt):
        model(batch).sum().backward()
        opt.step()
    """
    assert hits(source, codes={"TW206"}) == {(14, "TW206")}


def test_checkpoints(hits: Run) -> None:
    source = """
    import torch

    def make_state(model, optimizer):
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict()}

    def fit(model, optimizer, loader, out):
        for epoch in range(3):
            torch.save(model.state_dict(), out / "last.pt")
            torch.save(make_state(model, optimizer), out / "last.pt")
            state = {"model": model.state_dict()}
            state["optim"] = optimizer.state_dict()
            torch.save(state, out / "epoch.pt")

    def save_checkpoint(model, path):
        torch.save(model.state_dict(), path)

    def export_weights(model, optimizer, path):
        torch.save(model.state_dict(), path)
    """
    assert hits(source, codes={"TW208"}) == {(9, "TW208")}


def test_loss_accumulation(hits: Run) -> None:
    source = """
    import torch

    def train(model, loader, opt, criterion):
        total = 0.0
        parts = []
        for x, y in loader:
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss += 0.1 * model.reg()
            loss.backward()
            opt.step()
            total += loss
            total += loss.item()
            parts.append(loss.detach())
            parts.append(float(loss))
            parts.append(loss)
        return total
    """
    assert hits(source, codes={"TW212"}) == {(13, "TW212"), (17, "TW212")}


def test_loss_returned_by_a_helper_and_gathered_metrics(hits: Run) -> None:
    source = """
    import torch

    def td_update(model, optimizer, batch):
        loss = torch.nn.functional.mse_loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        return loss

    def td_update_detached(model, optimizer, batch):
        loss = torch.nn.functional.mse_loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    def run(model, optimizer, loader):
        total, total_ok = 0.0, 0.0
        for batch in loader:
            loss = td_update(model, optimizer, batch)
            total += loss
            ok = td_update_detached(model, optimizer, batch)
            total_ok += ok

    def evaluate(model, loader, accelerator):
        losses = []
        for batch in loader:
            with torch.no_grad():
                outputs = model(**batch)
            losses.append(accelerator.gather_for_metrics(outputs.loss.repeat(len(batch))))
        return torch.cat(losses).mean()
    """
    assert hits(source, codes={"TW212"}) == {(20, "TW212")}


def test_loss_detached_through_a_method_chain_or_only_tested(hits: Run) -> None:
    source = """
    import torch

    def train_epoch(model, loader, opt, criterion):
        loss = None
        for x, y in loader:
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
        return loss.item() if loss is not None else None

    def train_epoch_live(model, loader, opt, criterion):
        loss = None
        for x, y in loader:
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
        return loss if loss is not None else None

    def run(model, loader, opt, criterion):
        results, live = [], []
        for epoch in range(3):
            loss = train_epoch(model, loader, opt, criterion)
            results.append(loss)
            out = train_epoch_live(model, loader, opt, criterion)
            live.append(out)

    def fit(model, loader, opt, criterion):
        total, cpu = 0.0, 0.0
        for x, y in loader:
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
            total += loss.cpu().numpy()
            total += loss.mean().item()
            cpu += loss.cpu()
    """
    assert hits(source, codes={"TW212"}) == {(28, "TW212"), (39, "TW212")}
