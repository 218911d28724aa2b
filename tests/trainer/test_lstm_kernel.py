"""The fused counterfactual LSTM kernel: its activations against exact ones, and its logits
against the cell computed in float64 by PyTorch at the sizes training uses."""

import numpy as np
import pytest
import torch
from scipy.special import expit

from trainers.models.influence import counterfactual_pre
from trainers.models.layers import AgentCore, AgentLinear, to_agent_last
from trainers.models.lstm_kernel import fast_sigmoid, fast_tanh, lstm_counterfactual_logits

GRID = np.concatenate([np.linspace(-30.0, 30.0, 600_001), [-1e30, -1e-30, 0.0, 1e-30, 1e30]])


def test_fast_tanh_is_within_5e_7_of_tanh_everywhere():
    x = GRID.astype(np.float32)
    err = np.abs(fast_tanh(x).astype(np.float64) - np.tanh(x.astype(np.float64)))
    assert err.max() < 5e-7
    assert np.abs(fast_tanh(x)).max() <= 1.0 + 1e-7  # saturates, never overshoots past rounding
    np.testing.assert_array_equal(fast_tanh(-x), -fast_tanh(x))  # odd
    assert fast_tanh(np.float32([0.0]))[0] == 0.0


def test_fast_sigmoid_is_within_3e_7_of_sigmoid_everywhere():
    x = GRID.astype(np.float32)
    exact = expit(x.astype(np.float64))
    assert np.abs(fast_sigmoid(x).astype(np.float64) - exact).max() < 3e-7
    assert fast_sigmoid(np.float32([0.0]))[0] == 0.5


def test_nan_stays_nan():
    assert np.isnan(fast_tanh(np.float32([np.nan]))).all()
    assert np.isnan(fast_sigmoid(np.float32([np.nan]))).all()


@pytest.mark.parametrize("n_slots, n_values, n_out", [(4, 9, 9), (1, 9, 36)])  # comm; MOA
def test_kernel_matches_float64_cell_at_training_sizes(n_slots, n_values, n_out):
    g = torch.Generator().manual_seed(3)
    b, n, d_in, hid = 6, 5, 32, 128
    core = AgentCore(n, d_in + n_slots * n_values, hid, "lstm", g).double()
    head = AgentLinear(n, hid, n_out, g).double()
    state = {"h": torch.randn(b, n, hid, generator=g, dtype=torch.float64),
             "c": 2 * torch.randn(b, n, hid, generator=g, dtype=torch.float64)}
    actual = torch.randint(-1, n_values, (b, n, n_slots), generator=g)
    x = torch.randn(b, n, d_in + n_slots * n_values, generator=g, dtype=torch.float64)
    rows = core.input_rows(d_in, d_in + n_slots * n_values).reshape(n, n_slots, n_values, -1)
    with torch.no_grad():
        gates = 3 * core.gates(core.input_proj(x), state)  # wide range of gate values
        ref = to_agent_last(core.activate(counterfactual_pre(gates, rows, actual), state)[0],
                            head)  # [B, N, S, V, out] exact, float64
        out = lstm_counterfactual_logits(gates.float(), rows.float(), actual,
                                         state["c"].float(), head.weight.float(),
                                         head.bias.float())
    assert out.dtype == torch.float32 and out.shape == (b, n, n_slots, n_values, n_out)
    torch.testing.assert_close(out.double(), ref, atol=3e-6, rtol=0)
