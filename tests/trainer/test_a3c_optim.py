"""Shared optimisers: textbook updates with one worker, shared state, state_dict round trip."""

import pytest
import torch

from trainers.a3c.shared_optim import SharedAdam, SharedRMSprop, make_optimizer


def _quadratic_steps(opt_factory, ref_factory, steps=5):
    torch.manual_seed(0)
    p1 = torch.nn.Parameter(torch.randn(4, 3))
    p2 = torch.nn.Parameter(p1.detach().clone())
    ours, ref = opt_factory([p1]), ref_factory([p2])
    for _ in range(steps):
        for p, opt in ((p1, ours), (p2, ref)):
            opt.zero_grad()
            ((p - 1.0) ** 2).sum().backward()
            opt.step()
    return p1.detach(), p2.detach()


def test_rmsprop_matches_torch():
    ours, ref = _quadratic_steps(
        lambda ps: SharedRMSprop(ps, lr=0.01, alpha=0.99, eps=1e-5),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-5),
    )
    torch.testing.assert_close(ours, ref)


def test_adam_matches_torch():
    ours, ref = _quadratic_steps(
        lambda ps: SharedAdam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
    )
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_state_is_shared_and_round_trips(name):
    p = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer([p], name, lr=0.1).share_memory()
    for value in opt.state[p].values():
        assert value.is_shared()
    p.grad = torch.ones(3)
    opt.step()
    state = opt.state_dict()
    q = torch.nn.Parameter(torch.ones(3))
    other = make_optimizer([q], name, lr=0.1)
    other.load_state_dict(state)
    other.share_memory()
    for key, value in opt.state[p].items():
        torch.testing.assert_close(other.state[q][key], value)
    opt.set_lr(0.5)
    assert opt.param_groups[0]["lr"] == 0.5


def test_unknown_optimizer_names_the_fix():
    with pytest.raises(ValueError, match="trainer.optimizer"):
        make_optimizer([torch.nn.Parameter(torch.ones(1))], "sgd", lr=0.1)
