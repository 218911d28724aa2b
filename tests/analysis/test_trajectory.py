"""infoflow.trajectory: from_arrays and validate (SPEC 4)."""

import numpy as np
import pytest
import xarray as xr

from infoflow.trajectory import (
    SCHEMA_VERSION,
    VARIABLES,
    TrajectoryError,
    from_arrays,
    infer_lengths,
    validate,
)

AGENTS = ["a", "b", "c"]


def full_dataset(n_episodes=2, n_steps=4):
    """A dataset with every schema variable; episode 1 ends after 3 steps."""
    rng = np.random.default_rng(0)
    shape = (n_episodes, n_steps, 3)
    actions = rng.integers(0, 5, shape)
    actions[1, 3:] = -1
    messages = rng.integers(0, 2, shape)
    messages[1, 3:] = -1
    policy = np.full(shape + (5,), 0.2)
    policy[1] = np.nan  # not logged in episode 1
    facings = rng.integers(0, 4, shape)
    facings[1, 3:] = -1
    return from_arrays(
        actions, agents=AGENTS, rewards=np.ones(shape), intrinsic_rewards=np.zeros(shape),
        messages=messages, influence=np.full(shape + (3,), 0.5),
        visible=np.ones(shape + (3,), bool), policy=policy,
        positions=np.zeros(shape + (2,), int), facings=facings,
        apples=np.full(shape[:2], 7), waste=np.full(shape[:2], 2),
        agent_lengths=[[n_steps] * 3, [3] * 3],
        n_actions=5, n_symbols=2, env="cleanup", model="moa", seed=3,
    )


def test_from_arrays_one_episode_infers_lengths_and_attributes():
    ds = from_arrays(np.array([[0, 1], [2, 0], [-1, -1]]), agents=["x", "y"])
    assert dict(ds.sizes) == {"episode": 1, "step": 3, "agent": 2}
    assert ds["length"].values.tolist() == [2]
    assert ds["action"].dtype == np.int16 and ds["length"].dtype == np.int32
    assert ds.attrs["n_actions"] == 3 and ds.attrs["n_symbols"] == 0
    assert ds.attrs["schema_version"] == SCHEMA_VERSION == 1
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert ds.attrs["title"] == "infoflow trajectories"
    assert ds.attrs["history"].endswith("created by infoflow.trajectory.from_arrays")
    for key in ("infoflow_version", "created"):
        assert isinstance(ds.attrs[key], str) and ds.attrs[key]
    assert ds["agent"].values.tolist() == ["x", "y"]


def test_infer_lengths_from_padding():
    actions = np.array([[[0], [1], [-1]], [[2], [-1], [-1]], [[-1], [-1], [-1]]])
    assert infer_lengths(actions).tolist() == [2, 1, 0]
    assert from_arrays(actions, n_actions=3)["length"].values.tolist() == [2, 1, 0]


def test_from_arrays_every_variable_has_schema_dims_dtypes_and_attributes():
    ds = full_dataset()
    for name, spec in VARIABLES.items():
        assert ds[name].dims == spec.dims, name
        assert ds[name].dtype == np.dtype(spec.dtype), name
        assert ds[name].attrs["long_name"] == spec.long_name
    assert ds["length"].values.tolist() == [4, 3]
    assert ds["source"].values.tolist() == ds["target"].values.tolist() == AGENTS
    assert ds["choice"].values.tolist() == [0, 1, 2, 3, 4]
    assert ds["xy"].values.tolist() == ["row", "col"]
    assert ds["action"].attrs["flag_values"].tolist() == [-1, 0, 1, 2, 3, 4]
    assert ds["action"].attrs["flag_meanings"] == (
        "padding step_left step_right step_forward step_backward stay"
    )
    assert ds["message"].attrs["flag_meanings"] == "padding symbol_0 symbol_1"
    assert ds["influence"].attrs["units"] == "nat"
    assert ds.attrs["env"] == "cleanup" and ds.attrs["seed"] == 3


def test_from_arrays_config_dict_becomes_toml_and_none_attributes_are_dropped():
    ds = from_arrays(np.zeros((2, 1), int), config={"lr": 0.5, "game": "harvest"}, seed=None)
    assert ds.attrs["config"] == 'lr = 0.5\ngame = "harvest"\n'
    assert "seed" not in ds.attrs


def test_from_arrays_history_given_is_kept_first():
    ds = from_arrays(np.zeros((2, 1), int), history="made by hand")
    assert ds.attrs["history"].startswith("made by hand\n")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"actions": np.zeros(3, int)}, r"'actions' has 1 dims"),
        ({"actions": np.full((2, 1), 0.5)}, r"'actions' holds non-integer values"),
        ({"actions": np.full((2, 1), 40000)}, r"outside the int16 range"),
        ({"actions": np.array([["x"]])}, r"'actions' has dtype <U1; pass integer codes"),
        ({"agents": ["a"]}, r"'agents' must name each of the 2 agents"),
        ({"lengths": [1, 1]}, r"'lengths' has shape \(2,\); expected \(1,\)"),
        ({"rewards": np.zeros((3, 2))}, r"'reward' has shape \(3, 2\); expected \(2, 2\)"),
        ({"rewards": np.array([["a", "b"]] * 2)}, r"'reward' has dtype <U1; pass floats"),
        ({"visible": np.full((2, 2, 2), 3)}, r"'visible' must be bool \(or 0/1\)"),
        ({"meta": {"a": 1}}, r"attribute 'meta' has a value of type dict"),
    ],
)
def test_from_arrays_rejects_bad_arguments(kwargs, match):
    args = {"actions": np.zeros((2, 2), int)} | kwargs
    with pytest.raises(TrajectoryError, match=match):
        from_arrays(**args)


def test_from_arrays_visible_accepts_zero_one():
    ds = from_arrays(np.zeros((2, 2), int), visible=np.eye(2, dtype=int)[None].repeat(2, 0))
    assert ds["visible"].dtype == bool
    assert ds["visible"].values[0, 1].tolist() == [[True, False], [False, True]]


def _set(name, index, value):
    def mutate(ds):
        values = ds[name].values.copy()
        values[index] = value
        ds[name] = (ds[name].dims, values, ds[name].attrs)
    return mutate


def _drop_attr(key):
    def mutate(ds):
        del ds.attrs[key]
    return mutate


def _assign_attr(key, value):
    def mutate(ds):
        ds.attrs[key] = value
    return mutate


def _cast(name, dtype):
    def mutate(ds):
        ds[name] = ds[name].astype(dtype)
    return mutate


def _transpose(ds):
    ds["action"] = ds["action"].transpose("step", "episode", "agent")


def _rename_agent_dim(ds):
    ds["action"] = ds["action"].rename(agent="player").drop_vars("player")


def _drop_length(ds):
    del ds["length"]


def _repeat_agent(ds):
    ds.coords["agent"] = ["a", "a", "c"]


def _rename_source(ds):
    ds.coords["source"] = ["x", "y", "z"]


def _shift_choice(ds):
    ds.coords["choice"] = np.arange(1, 6)


FAULTS = [
    (_drop_attr("n_actions"), r"attribute 'n_actions' is missing; set ds.attrs\['n_actions'\]"),
    (_assign_attr("schema_version", 2), r"'schema_version' is 2; this infoflow reads version 1"),
    (_assign_attr("n_actions", 0), r"attribute 'n_actions' is 0; set it to the size"),
    (_assign_attr("n_symbols", -1), r"attribute 'n_symbols' is -1; set it to the message"),
    (_drop_length, r"required variable 'length' is missing"),
    (_transpose, r"variable 'action' has dims \('step', 'episode', 'agent'\); expected "
     r"\('episode', 'step', 'agent'\); transpose it with "
     r"ds\['action'\].transpose\('episode', 'step', 'agent'\)"),
    (_rename_agent_dim, r"variable 'action' has dims \('episode', 'step', 'player'\); expected "
     r"\('episode', 'step', 'agent'\); rename the dimension with "
     r"ds = ds.rename\(player='agent'\)$"),
    (_cast("action", "int64"), r"'action' has dtype int64; expected int16; cast it"),
    (_cast("visible", "int8"), r"'visible' has dtype int8; expected bool"),
    (_repeat_agent, r"coordinate 'agent' must hold distinct names"),
    (_rename_source, r"coordinate 'source' must equal the 'agent' coordinate"),
    (_shift_choice, r"coordinate 'choice' must be 0..4 \(n_actions = 5\)"),
    (_set("length", 0, 9), r"'length': 1 value\(s\) outside \[0, 4\] \(first at episode 0: 9\)"),
    (_set("action", (0, 1, 2), 5),
     r"'action': 1 value\(s\) outside \[-1, 5\) \(first at episode 0, step 1, agent 'c': 5\)"),
    (_set("action", (1, 3, 0), 2),
     r"'action': 1 value\(s\) after the episode's end are not -1 \(first at episode 1, step 3"),
    (_set("action", (0, 0, 1), -1),
     r"'action': 1 value\(s\) of -1 before the episode's end \(first at episode 0, step 0, "
     r"agent 'b'"),
    (_set("message", (0, 2, 0), 2), r"'message': 1 value\(s\) outside \[-1, 2\)"),
    (_set("message", (1, 3, 0), 0), r"'message': 1 value\(s\) after the episode's end"),
    (_set("facing", (0, 0, 0), 4), r"'facing': 1 value\(s\) outside \[-1, 4\)"),
    (_set("policy", (0, 0, 0), [1.2, -0.05, -0.05, -0.05, -0.05]),
     r"'policy': 5 probability\(ies\) outside \[0, 1\] \(first at episode 0, step 0, "
     r"agent 'a', choice 0: 1.2\)"),
    (_set("policy", (0, 1, 1, 0), np.nan), r"'policy': 1 row\(s\) partly NaN"),
    (_set("policy", (0, 2, 2), 0.1), r"'policy': 1 row\(s\) not summing to 1 \(first at "
     r"episode 0, step 2, agent 'c': 0.5"),
]


@pytest.mark.parametrize(("mutate", "match"), FAULTS)
def test_validate_names_each_fault(mutate, match):
    ds = full_dataset()
    mutate(ds)
    with pytest.raises(TrajectoryError, match=match) as info:
        validate(ds)
    assert len(info.value.faults) == 1, info.value.faults


def test_validate_lists_every_fault_at_once():
    ds = full_dataset()
    _cast("action", "int64")(ds)
    _set("length", 0, -1)(ds)
    _drop_attr("n_symbols")(ds)
    with pytest.raises(TrajectoryError, match=r"not a valid trajectory dataset \(3 faults\)"):
        validate(ds)
    try:
        validate(ds)
    except TrajectoryError as err:
        assert [f.split(" ")[1] for f in err.faults] == ["'n_symbols'", "'action'", "'length':"]


def test_validate_rejects_other_objects():
    with pytest.raises(TrajectoryError, match=r"expected an xarray.Dataset, got dict"):
        validate({})


def test_validate_without_values_reads_no_data():
    ds = full_dataset()
    _set("action", (0, 1, 2), 5)(ds)
    assert validate(ds, check_values=False) is ds


def test_validate_ignores_unknown_variables_and_all_nan_policy_after_end():
    ds = full_dataset()
    ds["box_opened"] = ("episode", np.array([1, 0]))
    assert validate(ds) is ds
    assert np.isnan(ds["policy"].values[1]).all()


def test_validate_zero_length_episode_is_all_padding():
    ds = from_arrays(np.array([[[0]], [[-1]]]), lengths=[1, 0], n_actions=1)
    assert ds["length"].values.tolist() == [1, 0]
    assert isinstance(ds, xr.Dataset)
