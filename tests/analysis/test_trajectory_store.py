"""infoflow.trajectory: TrajectoryWriter and open_trajectories (zarr and netCDF)."""

import numpy as np
import pytest
import xarray as xr
import zarr

from infoflow.trajectory import (
    TrajectoryError,
    TrajectoryWriter,
    from_arrays,
    open_trajectories,
)

AGENTS = ["a", "b"]


def episodes(n_episodes, n_steps=6, start=0, policy=True, ended=None):
    """Episodes with rewards, influence, visibility and (optionally) a policy."""
    shape = (n_episodes, n_steps, 2)
    actions = (np.arange(np.prod(shape)).reshape(shape) + start) % 3
    if ended is not None:
        actions[:, ended:] = -1
    influence = np.full(shape + (2,), 0.25, np.float32)
    influence[:, :, [0, 1], [0, 1]] = np.nan
    extra = {}
    if policy:
        extra["policy"] = np.full(shape + (3,), 1 / 3)
    return from_arrays(
        actions, agents=AGENTS, rewards=np.full(shape, start, float), influence=influence,
        visible=np.ones(shape + (2,), bool), n_actions=3, env="harvest", **extra,
    )


def test_round_trip_two_appends(tmp_path):
    path = tmp_path / "run.zarr"
    first, second = episodes(3), episodes(2, start=1, ended=4)
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3, attrs={"seed": 7}) as writer:
        writer.append(first)
        writer.append(second)
        assert writer.n_episodes == 5
    ds = open_trajectories(path)
    expected = xr.concat([first, second], dim="episode")
    xr.testing.assert_equal(ds.load(), expected)
    assert ds["length"].values.tolist() == [6, 6, 6, 4, 4]
    assert ds["action"].dtype == np.int16 and ds["visible"].dtype == bool
    assert ds.attrs["seed"] == 7 and ds.attrs["env"] == "harvest"
    assert ds.attrs["history"].endswith("created by infoflow.trajectory.TrajectoryWriter")
    assert ds["action"].attrs["flag_meanings"].startswith("padding step_left")


def test_store_is_lazy_chunked_compressed_and_consolidated(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3, chunk_episodes=2) as writer:
        writer.append(episodes(3))
    ds = open_trajectories(path)
    assert ds["action"].encoding["chunks"] == (2, 6, 2)
    assert ds["influence"].encoding["chunks"] == (2, 6, 2, 2)
    assert ds["action"].encoding["compressors"][0].cname == "zstd"
    assert not isinstance(ds["action"].variable._data, np.ndarray)  # not loaded yet
    assert (path / ".zmetadata").exists()


def test_resume_continues_an_existing_store(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(2))
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        assert writer.n_episodes == 2
        writer.append(episodes(1, start=2))
    ds = open_trajectories(path)
    assert ds.sizes["episode"] == 3
    assert ds["reward"].values[:, 0, 0].tolist() == [0, 0, 2]


def test_resume_with_other_agents_is_refused(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1))
    with pytest.raises(TrajectoryError, match=r"has agents \['a', 'b'\] \(writer: \['x', 'y'\]\); "
                       r"n_actions = 3 \(writer: 4\)"):
        TrajectoryWriter(path, agents=["x", "y"], n_actions=4)


def test_overwrite_replaces_the_store(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(2))
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3, overwrite=True) as writer:
        writer.append(episodes(1))
    assert open_trajectories(path).sizes["episode"] == 1


def test_overwrite_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(TrajectoryError, match=r"exists and is not a zarr store; refusing"):
        TrajectoryWriter(tmp_path, agents=AGENTS, n_actions=3, overwrite=True)


def test_missing_policy_is_filled_with_nan(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1))
        writer.append(episodes(2, policy=False))
    policy = open_trajectories(path)["policy"].values
    assert np.allclose(policy[0], 1 / 3)
    assert np.isnan(policy[1:]).all()


def test_missing_variable_in_a_later_append_is_refused(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1))
        with pytest.raises(TrajectoryError, match=r"variable\(s\) \['reward'\] are in the store "
                           r"but missing from this append"):
            writer.append(episodes(1).drop_vars("reward"))
    assert open_trajectories(path).sizes["episode"] == 1


def test_policy_first_logged_in_a_later_append(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3, chunk_episodes=2) as writer:
        writer.append(episodes(3, policy=False))
        writer.append(episodes(1))
        writer.append(episodes(1, policy=False))
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:  # resumed
        writer.append(episodes(1))
    ds = open_trajectories(path, check_values=True)
    assert ds["policy"].dims == ("episode", "step", "agent", "choice")
    assert ds["choice"].values.tolist() == [0, 1, 2]
    logged = ~np.isnan(ds["policy"].values).all(axis=(1, 2, 3))
    assert logged.tolist() == [False, False, False, True, False, True]
    assert np.allclose(ds["policy"].values[3], 1 / 3)
    assert ds["policy"].attrs["long_name"] == "action probabilities of the agent's policy"


def test_extra_variable_in_a_later_append_is_refused(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1, policy=False).drop_vars("reward"))
        with pytest.raises(TrajectoryError, match=r"variable\(s\) \['reward'\] are not "
                           r"in the store"):
            writer.append(episodes(1))


def test_shorter_episodes_are_padded(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1))
        writer.append(episodes(1, n_steps=4))
    ds = open_trajectories(path, check_values=True)
    assert ds["length"].values.tolist() == [6, 4]
    assert ds["action"].values[1, 4:].tolist() == [[-1, -1], [-1, -1]]
    assert np.isnan(ds["reward"].values[1, 4:]).all()
    assert not ds["visible"].values[1, 4:].any()


def test_longer_episodes_are_refused(tmp_path):
    with TrajectoryWriter(tmp_path / "s.zarr", agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1, n_steps=4))
        with pytest.raises(TrajectoryError, match=r"the episodes have 6 steps but the store "
                           r"holds 4"):
            writer.append(episodes(1))


def test_append_checks_agents_and_sizes(tmp_path):
    with TrajectoryWriter(tmp_path / "s.zarr", agents=["b", "a"], n_actions=4) as writer:
        with pytest.raises(TrajectoryError, match=r"agents \['a', 'b'\] differ from the writer's "
                           r"\['b', 'a'\]"):
            writer.append(episodes(1))
        with pytest.raises(TrajectoryError, match=r"n_actions = 3 differs from the writer's 4"):
            writer.append(episodes(1))


def test_invalid_first_append_leaves_no_store(tmp_path):
    path = tmp_path / "run.zarr"
    bad = episodes(1)
    bad["action"] = bad["action"].astype("int64")
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        with pytest.raises(TrajectoryError, match=r"'action' has dtype int64"):
            writer.append(bad)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_chunks(tmp_path):
    with pytest.raises(TrajectoryError, match=r"chunk_episodes is 0; pass a positive number"):
        TrajectoryWriter(tmp_path / "s.zarr", agents=AGENTS, n_actions=3, chunk_episodes=0)


def test_open_finds_the_store_in_a_run_directory(tmp_path):
    with TrajectoryWriter(tmp_path / "trajectories.zarr", agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(2))
    assert open_trajectories(tmp_path).sizes["episode"] == 2


def test_open_accepts_netcdf(tmp_path):
    ds = episodes(2, ended=5)
    ds.to_netcdf(tmp_path / "episodes.nc")
    opened = open_trajectories(tmp_path / "episodes.nc", check_values=True)
    xr.testing.assert_equal(opened.load(), ds)
    assert opened["visible"].dtype == bool


def test_open_checks_values_on_request(tmp_path):
    path = tmp_path / "run.zarr"
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(2))
    zarr.open_array(path / "action", mode="r+")[1, 2, 0] = 7
    assert open_trajectories(path).sizes["episode"] == 2
    with pytest.raises(TrajectoryError, match=r"'action': 1 value\(s\) outside \[-1, 3\) "
                       r"\(first at episode 1, step 2, agent 'a': 7\)"):
        open_trajectories(path, check_values=True)


def test_open_missing_path(tmp_path):
    with pytest.raises(TrajectoryError, match=r"no trajectory store or file at .*nope.zarr"):
        open_trajectories(tmp_path / "nope.zarr")


def test_open_empty_directory(tmp_path):
    with pytest.raises(TrajectoryError, match=r"is an empty directory, not a trajectory store"):
        open_trajectories(tmp_path)


def test_open_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TrajectoryError, match=r"is a directory but not a zarr store"):
        open_trajectories(tmp_path)


def test_open_empty_zarr_group(tmp_path):
    zarr.open_group(tmp_path / "empty.zarr", mode="w", zarr_format=2)
    with pytest.raises(TrajectoryError, match=r"holds no variables \(an empty store\)"):
        open_trajectories(tmp_path / "empty.zarr")


def test_open_store_without_actions(tmp_path):
    xr.Dataset({"x": ("t", [1, 2])}).to_zarr(tmp_path / "other.zarr", zarr_format=2)
    with pytest.raises(TrajectoryError, match=r"is not a trajectory store: it has no 'action' "
                       r"variable \(it has \['x'\]\)"):
        open_trajectories(tmp_path / "other.zarr")


def test_open_unreadable_file(tmp_path):
    (tmp_path / "junk.nc").write_bytes(b"not a netcdf file")
    with pytest.raises(TrajectoryError, match=r"could not read .*junk.nc"):
        open_trajectories(tmp_path / "junk.nc")


def test_writer_fills_an_existing_empty_directory(tmp_path):
    path = tmp_path / "run.zarr"
    path.mkdir()
    with TrajectoryWriter(path, agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(1))
    assert open_trajectories(path).sizes["episode"] == 1


def test_episodes_read_from_one_store_append_to_another(tmp_path):
    with TrajectoryWriter(tmp_path / "a.zarr", agents=AGENTS, n_actions=3) as writer:
        writer.append(episodes(4))
    subset = open_trajectories(tmp_path / "a.zarr").isel(episode=[1, 3])
    with TrajectoryWriter(tmp_path / "b.zarr", agents=AGENTS, n_actions=3,
                          chunk_episodes=1) as writer:
        writer.append(subset)
        writer.append(subset)
    copied = open_trajectories(tmp_path / "b.zarr")
    assert copied["action"].encoding["chunks"] == (1, 6, 2)
    xr.testing.assert_equal(copied.isel(episode=[0, 1]).load(), subset.load())


def test_truncate_keeps_the_first_episodes_and_appends_continue(tmp_path):
    path = tmp_path / "run.zarr"
    agents = ["a", "b"]
    first = from_arrays(np.arange(3 * 4 * 2).reshape(3, 4, 2) % 3, agents=agents, n_actions=3)
    with TrajectoryWriter(path, agents=agents, n_actions=3) as writer:
        writer.append(first)
        writer.append(from_arrays(np.ones((2, 4, 2), int), agents=agents, n_actions=3))
        writer.truncate(2)
        assert writer.n_episodes == 2
        writer.append(from_arrays(np.full((1, 4, 2), 2), agents=agents, n_actions=3))
    ds = open_trajectories(path)
    assert ds.sizes["episode"] == 3
    np.testing.assert_array_equal(ds.action.values[:2], first.action.values[:2])
    np.testing.assert_array_equal(ds.action.values[2], np.full((4, 2), 2))
    np.testing.assert_array_equal(ds.length.values, [4, 4, 4])
    with pytest.raises(TrajectoryError, match="cannot keep 5 episodes of a store holding 3"):
        TrajectoryWriter(path, agents=agents, n_actions=3).truncate(5)
