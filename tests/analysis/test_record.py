"""infoflow.record: any PettingZoo ParallelEnv and policy, recorded in the trajectory schema."""

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv

import infoflow
from infoflow.trajectory import open_trajectories, validate

simple_spread = pytest.importorskip("mpe2.simple_spread_v3",
                                    reason="mpe2 is in the test extra")


class Leaving(ParallelEnv):
    """Agent k plays 3 + k steps, then terminates; reward = the step's action."""

    metadata = {"name": "leaving_v0"}

    def __init__(self, n=3):
        self.possible_agents = [f"p{k}" for k in range(n)]

    def action_space(self, agent):
        return spaces.Discrete(4)

    def observation_space(self, agent):
        return spaces.Box(0, 1, (1,))

    def reset(self, seed=None, options=None):
        self.agents, self.t = list(self.possible_agents), 0
        return {a: np.zeros(1, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        rewards = {a: float(actions[a]) for a in self.agents}
        done = {a: self.t >= 3 + int(a[1:]) for a in self.agents}
        obs = {a: np.full(1, self.t, np.float32) for a in self.agents}
        self.agents = [a for a in self.agents if not done[a]]
        return obs, rewards, done, {a: False for a in done}, {a: {} for a in done}


def test_a_copying_agent_is_the_only_edge_the_analysis_finds():
    env = simple_spread.parallel_env(N=3, max_cycles=200, continuous_actions=False)
    rng = np.random.default_rng(0)
    last = {}

    def policy(obs):  # agent_1 copies agent_0's previous action (90 % of steps)
        acts = {a: int(rng.integers(5)) for a in obs}
        if last and rng.random() < 0.9:
            acts["agent_1"] = last["agent_0"]
        last.update(acts)
        return acts

    ds = infoflow.record(env, policy, episodes=8, seed=0)
    assert dict(ds.sizes) == {"episode": 8, "step": 200, "agent": 3}
    assert ds.attrs["env"] == "simple_spread_v3" and ds.attrs["n_actions"] == 5
    results = infoflow.analyze(ds, measures=("te",), permutations=200, seed=0)
    edges = [(s, t) for s in results["source"].values for t in results["target"].values
             if bool(results["te_significant"].sel(source=s, target=t))]
    assert edges == [("agent_0", "agent_1")]


def test_agents_that_leave_early_are_padded_and_the_store_written(tmp_path):
    seen = []

    def policy(obs):
        seen.append(sorted(obs))
        return {a: 1 + int(a[1:]) for a in obs}

    ds = infoflow.record(Leaving(), policy, episodes=2, out=tmp_path / "leaving.zarr",
                         variables=lambda env: {"t": env.t, "alive": {a: 1 for a in env.agents}})
    assert seen[:5] == [["p0", "p1", "p2"]] * 3 + [["p1", "p2"]] + [["p2"]]
    assert ds["length"].values.tolist() == [5, 5]
    acts = ds["action"].isel(episode=0).values.T  # [agent, step]
    assert acts.tolist() == [[1, 1, 1, -1, -1], [2, 2, 2, 2, -1], [3, 3, 3, 3, 3]]
    assert np.isnan(ds["reward"].isel(episode=0).values[3:, 0]).all()
    assert ds["t"].dims == ("episode", "step") and ds["t"].values[0].tolist() == [1, 2, 3, 4, 5]
    assert ds["alive"].dims == ("episode", "step", "agent")
    stored = validate(open_trajectories(tmp_path / "leaving.zarr"))
    assert stored["action"].values.tolist() == ds["action"].values.tolist()
    assert "t" in stored.data_vars


def test_messages_are_recorded_with_their_vocabulary():
    ds = infoflow.record(Leaving(2), lambda obs: ({a: 0 for a in obs}, {a: 5 for a in obs}),
                         episodes=1)
    assert ds.attrs["n_symbols"] == 6
    assert ds["message"].values[0, :3, 0].tolist() == [5, 5, 5]


@pytest.mark.parametrize(("make", "said"), [
    (lambda: simple_spread.parallel_env(N=2, continuous_actions=True),
     "has a Box action space; infoflow.record needs discrete actions"),
])
def test_a_continuous_action_space_is_one_clear_error(make, said):
    with pytest.raises(ValueError, match=said):
        infoflow.record(make(), lambda obs: {}, episodes=1)


def test_bad_policies_and_sizes_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"returned no action for \['p0'"):
        infoflow.record(Leaving(), lambda obs: {}, episodes=1)
    with pytest.raises(ValueError, match="outside 0..3"):
        infoflow.record(Leaving(), lambda obs: {a: 9 for a in obs}, episodes=1)
    with pytest.raises(ValueError, match="record fewer episodes"):
        infoflow.record(Leaving(), lambda obs: {}, episodes=10**9)
    (tmp_path / "taken.zarr").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        infoflow.record(Leaving(), lambda obs: {}, episodes=1, out=tmp_path / "taken.zarr")


def test_agent_length_is_checked_by_validate():
    from infoflow.trajectory import TrajectoryError, agent_ends, from_arrays

    actions = np.array([[[0, 1], [1, -1], [-1, -1]]])          # agent 1 leaves after 1 step
    ds = from_arrays(actions, agent_lengths=[[2, 1]], n_actions=2)
    assert ds["length"].values.tolist() == [2]
    assert agent_ends(ds).tolist() == [[2, 1]]
    with pytest.raises(TrajectoryError, match="-1 before the episode's end"):
        from_arrays(actions, n_actions=2)                       # without agent_length
    with pytest.raises(TrajectoryError, match="'agent_length': 1 value.* outside"):
        from_arrays(actions, agent_lengths=[[3, 1]], n_actions=2)
    with pytest.raises(TrajectoryError, match="after the episode's end are not -1"):
        from_arrays(np.array([[[0, 1], [1, 1], [-1, -1]]]), agent_lengths=[[2, 1]],
                    n_actions=2)
