"""infoflow: information-theoretic analysis of social influence between agents.

The analysis layer never imports torch or ``trainers``; it works on any dataset in the
trajectory schema (see :mod:`infoflow.trajectory`). The names below are the public API;
each lives in a module of one concept:

- :mod:`infoflow.trajectory`: the schema, ``validate``, ``from_arrays``, zarr stores.
- :mod:`infoflow.synthetic`: multi-agent data with planted couplings.
- :mod:`infoflow.measures`: entropy, mutual information, transfer entropy (bits).
- :mod:`infoflow.significance`: permutation tests, Benjamini-Hochberg FDR.
- :mod:`infoflow.influence`, :mod:`infoflow.communication`: the paper's metrics.
- :mod:`infoflow.analysis`: the whole pipeline; :mod:`infoflow.graph`: networkx graphs.
- :mod:`infoflow.record`: trajectories of any PettingZoo parallel environment and policy.
- :mod:`infoflow.compare`: training runs across seeds (curves, final returns, intervals).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infoflow")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from infoflow.analysis import analyze, compare_measures, read_results, write_results
from infoflow.communication import equality, instantaneous_coordination, speaker_consistency
from infoflow.graph import graphs_by_window, influence_graph, read_graph, write_graph
from infoflow.influence import influence_summary
from infoflow.measures import (
    conditional_mutual_info,
    conditional_transfer_entropy,
    entropy,
    lagged_mutual_info,
    mutual_info,
    pairwise_lagged_mutual_info,
    pairwise_transfer_entropy,
    transfer_entropy,
)
from infoflow.record import record
from infoflow.significance import fdr_bh, network_inference
from infoflow.synthetic import coupled_actions, independent_actions
from infoflow.trajectory import (
    TrajectoryError,
    TrajectoryWriter,
    from_arrays,
    open_trajectories,
    validate,
)

__all__ = [
    "__version__",
    "TrajectoryError",
    "TrajectoryWriter",
    "analyze",
    "compare_measures",
    "conditional_mutual_info",
    "conditional_transfer_entropy",
    "coupled_actions",
    "entropy",
    "equality",
    "fdr_bh",
    "from_arrays",
    "graphs_by_window",
    "independent_actions",
    "influence_graph",
    "influence_summary",
    "instantaneous_coordination",
    "lagged_mutual_info",
    "mutual_info",
    "record",
    "network_inference",
    "open_trajectories",
    "pairwise_lagged_mutual_info",
    "pairwise_transfer_entropy",
    "read_graph",
    "read_results",
    "speaker_consistency",
    "transfer_entropy",
    "validate",
    "write_graph",
    "write_results",
]
