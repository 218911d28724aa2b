"""Statistics of the logged influence on hand-built arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from infoflow.influence import (
    influence_mean,
    influence_over_time,
    influence_sparsity,
    influence_summary,
    influencers,
    influential_moments,
)

NAN = np.nan
NAMES = ["a", "b"]


def make_ds(values: np.ndarray, lengths: list[int]) -> xr.Dataset:
    """Trajectories with influence [episode, step, source, target] and episode lengths."""
    e, t = values.shape[:2]
    return xr.Dataset(
        {
            "influence": (("episode", "step", "source", "target"), values.astype(np.float32)),
            "length": (("episode",), np.array(lengths, dtype=np.int32)),
            "action": (("episode", "step", "agent"), np.zeros((e, t, 2), np.int16)),
        },
        coords={"agent": NAMES, "source": NAMES, "target": NAMES},
    )


def a_on_b(series: list[list[float]], lengths: list[int]) -> xr.Dataset:
    """Only a -> b is defined (a is the influencer), given per episode and step."""
    values = np.full((len(series), len(series[0]), 2, 2), NAN)
    values[:, :, 0, 1] = series
    return make_ds(values, lengths)


# episode 0: ten steps, one spike; episode 1: padded after 2 steps (99 must be ignored)
SERIES = [[0, 0, 0, 0, 0, 0, 0, 0, 0, 10], [1, 1, 99, 99, 99, 99, 99, 99, 99, 99]]
DS = a_on_b(SERIES, [10, 2])


def test_pair_mean_ignores_padding_and_undefined() -> None:
    mean = influence_mean(DS)
    assert mean.sel(source="a", target="b").item() == pytest.approx(12 / 12)
    assert np.isnan(mean.sel(source="b", target="a").item())
    assert mean.dims == ("source", "target")


def test_sparsity_counts_steps_strictly_above_mean() -> None:
    # mean 1: only the spike (10) is above it; the two 1s are equal to it
    assert influence_sparsity(DS).sel(source="a", target="b").item() == pytest.approx(1 / 12)


def test_over_time_is_mean_per_episode() -> None:
    series = influence_over_time(DS).sel(source="a", target="b").values
    np.testing.assert_allclose(series, [1.0, 1.0])


def test_moments_at_or_above_mean_per_source() -> None:
    moments = influential_moments(DS).sel(source="a").values
    expected = np.zeros((2, 10), bool)
    expected[0, 9] = expected[1, 0] = expected[1, 1] = True  # 10, and the 1s equal to the mean
    np.testing.assert_array_equal(moments, expected)
    assert not influential_moments(DS).sel(source="b").values.any()


def test_moments_sum_over_targets() -> None:
    values = np.full((1, 4, 2, 2), NAN)
    values[0, :, 0, 1] = [1, 0, 0, 0]
    values[0, :, 1, 0] = [0, 0, 0, 3]
    values[0, :, 1, 1] = [0, 0, 0, 1]  # b's total: 0, 0, 0, 4 (mean 1)
    moments = influential_moments(make_ds(values, [4]))
    np.testing.assert_array_equal(moments.sel(source="b").values[0], [False] * 3 + [True])


def test_influencers_and_summary() -> None:
    np.testing.assert_array_equal(influencers(DS).values, [True, False])
    summary = influence_summary(DS)
    assert set(summary.data_vars) == {"kl_mean", "kl_sparsity", "kl_episode_mean",
                                      "influencer", "moment_fraction"}
    assert summary["moment_fraction"].sel(agent="a").item() == pytest.approx(3 / 12)


def test_missing_influence() -> None:
    with pytest.raises(ValueError, match="no 'influence' variable; log influence"):
        influence_mean(DS.drop_vars("influence"))


def test_wrong_dims() -> None:
    bad = xr.Dataset({"influence": (("episode", "step"), np.zeros((1, 2)))})
    with pytest.raises(ValueError, match=r"'influence' has dims \('episode', 'step'\); expected"):
        influence_mean(bad)


def test_summary_reads_influence_once_and_equals_the_parts(monkeypatch) -> None:
    import infoflow.influence as influence

    calls = []
    read = influence._influence_array
    monkeypatch.setattr(influence, "_influence_array", lambda ds: calls.append(1) or read(ds))
    summary = influence_summary(DS)
    assert len(calls) == 1
    xr.testing.assert_identical(summary["kl_mean"], influence_mean(DS))
    xr.testing.assert_identical(summary["kl_sparsity"], influence_sparsity(DS))
    xr.testing.assert_identical(summary["kl_episode_mean"], influence_over_time(DS))
    xr.testing.assert_identical(summary["influencer"], influencers(DS))
    moments = influential_moments(DS).values  # [episode, step, source]
    assert summary["moment_fraction"].sel(agent="a").item() == pytest.approx(
        moments[..., 0].sum() / 12)
