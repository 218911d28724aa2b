"""Draw README's picture: one dataset, the pairwise graph and the multivariate graph.

Four agents over 20 logged episodes of 300 steps, 4 actions. Agent 0 drives agents 1 and 2 one
step later (a common driver) and agent 2 drives agent 3 (so 0 -> 2 -> 3 is a chain); every
agent's action marginal also drifts across the episodes, as policies do while they learn.
The true graph has three edges: 0 -> 1, 0 -> 2, 2 -> 3.

Run from the repository root: ``python docs/make_figures.py`` (about half a minute on 2 cores);
it writes docs/images/bivariate_episodes.png and docs/images/multivariate_blocks.png and prints
both edge lists.
"""

from pathlib import Path

import numpy as np

from infoflow import analyze, influence_graph
from infoflow.graph import format_edges
from infoflow.plots import plot_graph
from infoflow.trajectory import from_arrays

OUT = Path(__file__).parent / "images"


def drifting_driver_chain(seed: int = 0, n_episodes: int = 20, n_steps: int = 300
                          ) -> np.ndarray:
    """int [episode, step, agent]: 0 -> 1, 0 -> 2, 2 -> 3 at lag 1 (copy 0.4), shared drift."""
    rng = np.random.default_rng(seed)
    p_zero = np.linspace(0.1, 0.7, n_episodes)  # action 0 takes over while the agents learn

    def own(shape):
        drift = rng.random(shape) < p_zero[:, None]
        return np.where(drift, 0, rng.integers(1, 4, shape))

    acts = np.stack([own((n_episodes, n_steps)) for _ in range(4)], axis=2)
    for source, target in ((0, 1), (0, 2), (2, 3)):
        copy = rng.random((n_episodes, n_steps - 1)) < 0.4
        acts[:, 1:, target] = np.where(copy, acts[:, :-1, source], acts[:, 1:, target])
    return acts


def main() -> None:
    ds = from_arrays(drifting_driver_chain(), n_actions=4)
    OUT.mkdir(parents=True, exist_ok=True)
    settings = {
        "bivariate_episodes": {"method": "bivariate", "surrogates": "episodes"},
        "multivariate_blocks": {},  # the defaults
    }
    for name, kwargs in settings.items():
        results = analyze(ds, measures=("te",), lags=(1, 2), seed=0, **kwargs)
        g = influence_graph(results, "te")
        title = ("pairwise TE, all-episode shuffles" if kwargs
                 else "multivariate TE, block surrogates (default)")
        plot_graph(g, OUT / f"{name}.png", title=title)
        print(f"{title}:\n{format_edges(g)}\n")


if __name__ == "__main__":
    main()
