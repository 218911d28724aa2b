"""infoflow.trajectory.complete: what a user's dataset leaves out but its data determine."""

import numpy as np
import pytest
import xarray as xr

from infoflow.trajectory import (
    SCHEMA_VERSION,
    TrajectoryError,
    TrajectoryWriter,
    complete,
    from_arrays,
    open_trajectories,
    validate,
)

ESA = ("episode", "step", "agent")


def user_dataset(actions, **variables):
    """What a user might bring: int16 actions, agent names, no infoflow attributes."""
    actions = np.asarray(actions, dtype=np.int16)
    data = {"action": (ESA, actions)}
    data.update({k: (ESA if np.ndim(v) == 3 else (*ESA, "choice"), v)
                 for k, v in variables.items()})
    return xr.Dataset(data, coords={"agent": [f"p{i}" for i in range(actions.shape[2])]})


def test_without_padding_every_episode_has_the_full_steps():
    ds = user_dataset([[[0, 3], [1, 1]], [[2, 0], [0, 0]]])
    done, notes = complete(ds)
    assert done.attrs["schema_version"] == SCHEMA_VERSION
    assert done.attrs["n_actions"] == 4 and done.attrs["n_symbols"] == 0
    assert done["length"].values.tolist() == [2, 2] and done["length"].dtype == np.int32
    assert [n.split(" ")[0] for n in notes] == ["schema_version", "n_actions", "length",
                                                "n_symbols"]
    assert "inferred from the data" in notes[1] and "ds.attrs['n_actions']" in notes[1]
    assert "no -1 padding" in notes[2]
    assert notes[3] == "n_symbols = 0: the dataset has no 'message' variable"
    assert validate(done) is done
    assert ds.attrs == {} and "length" not in ds  # the input is left alone


def test_with_padding_an_episode_ends_after_its_last_action():
    actions = [[[0, 1], [1, 2], [-1, -1]],  # ends after step 1
               [[1, 0], [0, 1], [1, 0]],
               [[-1, -1], [-1, -1], [-1, -1]]]
    done, notes = complete(user_dataset(actions))
    assert done["length"].values.tolist() == [2, 3, 0]
    assert ("length inferred from the -1 padding of 'action': one past the last step at which "
            "any agent has an action (2 of 3 episode(s) shorter than the 3 steps)") in notes[2]
    validate(done)


def test_messages_and_policy_give_n_symbols_and_n_actions():
    messages = np.array([[[2, 0], [1, -1]]], dtype=np.int16)
    policy = np.full((1, 2, 2, 5), 0.2, dtype=np.float32)
    ds = user_dataset([[[0, 1], [1, 0]]], message=messages, policy=policy)
    ds.attrs["schema_version"] = SCHEMA_VERSION
    done, notes = complete(ds)
    assert done.attrs["n_actions"] == 5 and done.attrs["n_symbols"] == 3
    assert done["choice"].values.tolist() == [0, 1, 2, 3, 4]
    assert any("n_actions = 5 inferred from the size of the 'choice' dimension" in n
               for n in notes)
    assert any("n_symbols = 3 inferred from the data (max(message) + 1" in n for n in notes)
    validate(done)


def test_agent_names_are_filled_in():
    ds = xr.Dataset({"action": (ESA, np.zeros((1, 2, 3), np.int16))})
    done, notes = complete(ds)
    assert done["agent"].values.tolist() == ["agent_0", "agent_1", "agent_2"]
    assert notes[1].startswith("agents named agent_0 .. agent_2")
    validate(done)


def test_a_complete_dataset_is_unchanged():
    ds = from_arrays(np.array([[[0, 1], [2, 0]]]), messages=np.array([[[1, 0], [0, -1]]]),
                     n_actions=3, env="harvest")
    done, notes = complete(ds)
    assert notes == []
    xr.testing.assert_identical(done, ds)
    assert done.attrs == ds.attrs


@pytest.mark.parametrize(("dataset", "match"), [
    (xr.Dataset({"reward": (ESA, np.zeros((1, 2, 2)))}),
     r"without an 'action' variable; add the actions as action\(episode, step, agent\)"),
    (xr.Dataset({"action": (ESA, np.full((2, 3, 2), -1, np.int16))}),
     r"cannot infer 'n_actions': 'action' holds no action .*; set ds.attrs\['n_actions'\]"),
    (xr.Dataset({"action": (("step", "episode", "agent"), np.zeros((3, 2, 2), np.int16))},
                attrs={"n_actions": 2}),
     r"cannot infer 'length': .*; transpose it with ds\['action'\]\.transpose"),
    (xr.Dataset({"action": (ESA, np.zeros((1, 2, 2)))}),
     r"cannot infer 'n_actions' from 'action' of dtype float64; set ds.attrs\['n_actions'\]"),
])
def test_what_cannot_be_inferred_names_the_fix(dataset, match):
    with pytest.raises(TrajectoryError, match=match) as info:
        complete(dataset)
    assert "\n" not in str(info.value)


def test_from_arrays_without_messages_needs_no_n_symbols():
    ds = from_arrays(np.array([[0, 1], [1, 0], [-1, -1]]))
    assert ds.attrs["n_symbols"] == 0 and ds.attrs["n_actions"] == 2
    assert ds["length"].values.tolist() == [2]


def test_validate_names_complete_for_what_it_infers():
    ds = complete(user_dataset([[[0, 1]]]))[0].drop_vars("length")
    del ds.attrs["n_symbols"]
    match = r"infoflow.trajectory.complete\(ds\) infers it from"
    with pytest.raises(TrajectoryError, match=match) as info:
        validate(ds)
    assert len(info.value.faults) == 2


def test_open_completes_a_user_file_and_keeps_the_notes(tmp_path):
    user_dataset([[[0, 2], [1, 0], [-1, -1]]]).to_netcdf(tmp_path / "user.nc")
    ds = open_trajectories(tmp_path / "user.nc", check_values=True)
    assert ds.attrs["n_actions"] == 3 and ds["length"].values.tolist() == [2]
    notes = ds.encoding["infoflow_notes"]
    assert [n.split(" ")[0] for n in notes] == ["schema_version", "n_actions", "length",
                                                "n_symbols"]
    assert not any("infoflow_notes" in str(v) for v in ds.attrs.values())
    assert not ds["action"].variable._in_memory  # read in blocks to infer, still lazy


def test_open_a_written_store_has_no_notes(tmp_path):
    with TrajectoryWriter(tmp_path / "run.zarr", agents=["a", "b"], n_actions=2) as writer:
        writer.append(from_arrays(np.zeros((1, 3, 2), int), agents=["a", "b"], n_actions=2))
    assert open_trajectories(tmp_path / "run.zarr").encoding["infoflow_notes"] == []
