"""infoflow.synthetic: planted structure, reproducibility and the null model."""

import json

import numpy as np
import pytest
import xarray as xr

from infoflow.synthetic import copy_kl, coupled_actions, independent_actions
from infoflow.trajectory import validate


def match_rate(ds, source, target, lag, variable="action"):
    """Empirical P(target_t == source_{t-lag}) over live steps."""
    src = ds[variable].values[:, : ds.sizes["step"] - lag, source]
    tgt = ds["action"].values[:, lag:, target]
    live = (src >= 0) & (tgt >= 0)
    return float((src[live] == tgt[live]).mean())


def test_copy_coupling_has_the_planted_rate_and_others_are_chance():
    ds = coupled_actions(n_agents=4, n_symbols=8, n_episodes=20, n_steps=1000,
                         couplings=[(0, 1, 1, 0.6), (2, 3, 3, 0.3)], seed=0)
    assert match_rate(ds, 0, 1, 1) == pytest.approx(0.6 + 0.4 / 8, abs=0.01)
    assert match_rate(ds, 2, 3, 3) == pytest.approx(0.3 + 0.7 / 8, abs=0.01)
    for source, target, lag in [(1, 0, 1), (0, 1, 2), (0, 2, 1), (3, 2, 3), (2, 3, 1)]:
        assert match_rate(ds, source, target, lag) == pytest.approx(1 / 8, abs=0.01)
    marginal = np.bincount(ds["action"].values.ravel(), minlength=8) / ds["action"].size
    assert np.allclose(marginal, 1 / 8, atol=0.005)
    validate(ds)


def test_first_coupling_into_a_target_decides():
    ds = coupled_actions(n_agents=3, n_symbols=6, n_episodes=20, n_steps=1000,
                         couplings=[(0, 2, 1, 0.5), (1, 2, 2, 0.5)], seed=1)
    assert match_rate(ds, 0, 2, 1) == pytest.approx(0.5 + 0.5 / 6, abs=0.01)
    assert match_rate(ds, 1, 2, 2) == pytest.approx(0.25 + 0.75 / 6, abs=0.01)


def test_chains_and_self_couplings():
    ds = coupled_actions(n_agents=3, n_symbols=4, n_episodes=10, n_steps=1000,
                         couplings=[(0, 1, 1, 1.0), (1, 2, 2, 1.0), (2, 2, 1, 0.0)], seed=2)
    a = ds["action"].values
    assert (a[:, 3:, 2] == a[:, :-3, 0]).all()  # 0 -> 1 -> 2 over 1 + 2 steps
    loop = coupled_actions(n_agents=1, n_symbols=4, n_episodes=10, n_steps=1000,
                           couplings=[(0, 0, 2, 0.5)], seed=2)
    assert match_rate(loop, 0, 0, 2) == pytest.approx(0.5 + 0.5 / 4, abs=0.015)


def test_whole_sequence_and_step_by_step_generation_agree():
    chain = [(0, 1, 1, 0.7), (1, 2, 0, 0.6), (0, 2, 2, 0.5)]
    kwargs = dict(n_agents=3, n_symbols=5, n_episodes=3, n_steps=300, seed=8)
    acyclic = coupled_actions(couplings=chain, **kwargs)
    cyclic = coupled_actions(couplings=chain + [(2, 0, 1, 0.0)], **kwargs)  # never fires
    np.testing.assert_array_equal(acyclic["action"].values, cyclic["action"].values)


def test_lag_zero_acts_first():
    ds = coupled_actions(n_agents=2, n_symbols=5, n_episodes=2, n_steps=200,
                         couplings=[(1, 0, 0, 1.0), (0, 0, 1, 1.0)], seed=3)
    a = ds["action"].values
    assert (a[:, :, 0] == a[:, :, 1]).all()  # the first coupling always fires


def test_permute_applies_a_fixed_map():
    ds = coupled_actions(n_agents=2, n_symbols=5, n_episodes=2, n_steps=300,
                         couplings=[(0, 1, 2, 1.0)], seed=4, function="permute")
    table = np.array(json.loads(ds.attrs["couplings"])[0]["map"])
    assert sorted(table.tolist()) == [0, 1, 2, 3, 4]
    a = ds["action"].values
    assert (a[:, 2:, 1] == table[a[:, :-2, 0]]).all()


def test_messages_predict_actions():
    ds = coupled_actions(n_agents=3, n_symbols=4, n_episodes=10, n_steps=1000, couplings=[],
                         n_message_symbols=4, message_couplings=[(0, 1, 1, 0.8), (2, 2, 0, 1.0)],
                         seed=5)
    assert ds.attrs["n_symbols"] == 4
    assert match_rate(ds, 0, 1, 1, "message") == pytest.approx(0.8 + 0.2 / 4, abs=0.015)
    assert (ds["message"].values[:, :, 2] == ds["action"].values[:, :, 2]).all()
    assert match_rate(ds, 1, 0, 1, "message") == pytest.approx(0.25, abs=0.015)


def test_true_influence_values():
    ds = coupled_actions(n_agents=3, n_symbols=8, n_episodes=3, n_steps=50,
                         couplings=[(0, 1, 1, 0.6), (2, 1, 2, 0.5)], influence=True, seed=6)
    inf = ds["influence"].values  # [episode, step, source, target]
    assert inf.dtype == np.float32
    assert inf[0, 10, 0, 1] == pytest.approx(copy_kl(0.6, 8))
    assert inf[0, 10, 2, 1] == pytest.approx(copy_kl(0.2, 8))  # 0.5 * (1 - 0.6)
    assert inf[0, 0, 2, 1] == pytest.approx(copy_kl(0.2, 8))  # target step 2: both active
    assert inf[0, 10, 1, 0] == 0.0 and inf[0, 10, 0, 2] == 0.0
    assert np.isnan(inf[:, :, [0, 1, 2], [0, 1, 2]]).all()
    assert np.isnan(inf[:, 49, 0, 1]).all() and np.isnan(inf[:, 48:, 2, 1]).all()
    assert not np.isnan(inf[:, 48, 0, 1]).any()


def test_influence_early_steps_before_a_lag():
    ds = coupled_actions(n_agents=3, n_symbols=4, n_episodes=1, n_steps=10,
                         couplings=[(0, 2, 3, 0.5), (1, 2, 1, 0.5)], influence=True, seed=0)
    inf = ds["influence"].values[0]  # [step, source, target]
    # before target step 3 the lag-3 coupling is inactive, so the lag-1 one decides alone
    assert inf[1, 0, 2] == pytest.approx(copy_kl(0.5, 4))  # target step 4
    assert inf[1, 1, 2] == pytest.approx(copy_kl(0.5, 4))  # target step 2
    assert inf[2, 1, 2] == pytest.approx(copy_kl(0.25, 4))  # target step 3: 0.5 * (1 - 0.5)


def test_copy_kl_known_values():
    assert float(copy_kl(1.0, 2)) == pytest.approx(np.log(2))
    assert float(copy_kl(0.5, 2)) == pytest.approx(0.75 * np.log(1.5) + 0.25 * np.log(0.5))
    assert np.allclose(copy_kl(np.array([0.0, 1.0]), 8), [0.0, np.log(8)])


def test_variable_lengths_are_padded():
    ds = coupled_actions(n_agents=2, n_episodes=50, n_steps=40, min_length=10,
                         n_message_symbols=3, influence=True, seed=7)
    lengths = ds["length"].values
    assert lengths.min() >= 10 and lengths.max() <= 40 and len(set(lengths.tolist())) > 5
    ended = np.arange(40)[None, :] >= lengths[:, None]
    assert (ds["action"].values[ended] == -1).all()
    assert (ds["action"].values[~ended] >= 0).all()
    assert (ds["message"].values[ended] == -1).all()
    assert np.isnan(ds["influence"].values[ended]).all()


def test_reproducible_by_seed():
    kwargs = dict(n_agents=3, n_episodes=2, n_steps=100, couplings=[(0, 1, 1, 0.5)],
                  min_length=50, n_message_symbols=2)
    xr.testing.assert_identical(
        coupled_actions(seed=11, **kwargs).drop_attrs(), coupled_actions(seed=11, **kwargs)
        .drop_attrs()
    )
    assert not np.array_equal(coupled_actions(seed=11, **kwargs)["action"],
                              coupled_actions(seed=12, **kwargs)["action"])
    rng = np.random.default_rng(3)
    assert "seed" not in coupled_actions(seed=rng, **kwargs).attrs


def test_attributes_record_the_truth():
    ds = coupled_actions(n_agents=2, n_symbols=3, n_episodes=1, n_steps=5,
                         couplings=[(0, 1, 1, 0.5)], seed=9)
    assert json.loads(ds.attrs["couplings"]) == [
        {"source": 0, "target": 1, "lag": 1, "strength": 0.5, "map": [0, 1, 2]}
    ]
    assert ds.attrs["env"] == "synthetic" and ds.attrs["model"] == "coupled_actions"
    assert ds.attrs["seed"] == 9 and ds.attrs["n_actions"] == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_agents": 0}, r"n_agents is 0; pass an int >= 1"),
        ({"couplings": [(0, 1, 1)]}, r"must be \(source, target, lag, strength\)"),
        ({"couplings": [(0, 5, 1, 0.5)]}, r"names an agent outside 0..1"),
        ({"couplings": [(0, 1, 10, 0.5)]}, r"has lag 10; pass a lag in \[0, n_steps\)"),
        ({"couplings": [(0, 1, 1, 1.5)]}, r"has strength 1.5; pass a probability"),
        ({"couplings": [(0, 1, 0, 0.5), (1, 0, 0, 0.5)]}, r"couplings with lag 0 form a cycle"),
        ({"function": "xor"}, r"function is 'xor'; pass 'copy' or 'permute'"),
        ({"message_couplings": [(0, 1, 1, 0.5)]}, r"n_message_symbols is 0; pass a vocabulary"),
        ({"min_length": 11}, r"min_length is 11; pass a value in \[0, n_steps=10\]"),
    ],
)
def test_coupled_actions_rejects_bad_arguments(kwargs, match):
    args = dict(n_agents=2, n_episodes=1, n_steps=10) | kwargs
    with pytest.raises(ValueError, match=match):
        coupled_actions(**args)


def test_independent_actions_null_model():
    ds = independent_actions(n_agents=3, n_symbols=4, n_episodes=20, n_steps=1000, seed=0)
    for source, target, lag in [(0, 1, 1), (1, 2, 0), (2, 0, 3), (1, 1, 1)]:
        assert match_rate(ds, source, target, lag) == pytest.approx(0.25, abs=0.01)
    assert ds.attrs["model"] == "independent_actions"


def test_independent_actions_with_marginals_and_lengths():
    ds = independent_actions(n_agents=2, n_symbols=3, n_episodes=20, n_steps=1000,
                             p=[[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]], min_length=500, seed=1)
    a = ds["action"].values
    first = np.bincount(a[:, :, 0][a[:, :, 0] >= 0], minlength=3) / (a[:, :, 0] >= 0).sum()
    assert np.allclose(first, [0.5, 0.25, 0.25], atol=0.01)
    assert set(np.unique(a[:, :, 1]).tolist()) == {-1, 2}
    assert ds["length"].values.min() >= 500
    validate(ds)


def test_independent_actions_rejects_bad_marginals():
    with pytest.raises(ValueError, match=r"p must be probabilities of shape \(3,\) or \(2, 3\)"):
        independent_actions(n_agents=2, n_symbols=3, p=[0.5, 0.5])
