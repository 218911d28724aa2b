"""Information measures of symbol series over padded episodes (bits).

Entropies, (conditional) mutual information, lagged MI and lagged (conditional) transfer
entropy, as plug-in estimates with an optional Miller-Madow correction. Series are int arrays
``x[episode, step]`` (or ``[step]``) with -1 marking padding; histories never cross episodes.
The pairwise functions take ``actions[episode, step, agent]`` or a trajectory dataset.
"""

from infoflow.measures._kernels import start_kernels
from infoflow.measures.entropy import conditional_entropy, entropy, joint_entropy
from infoflow.measures.mutual_info import (
    conditional_mutual_info,
    lagged_mutual_info,
    mutual_info,
)
from infoflow.measures.transfer_entropy import (
    conditional_transfer_entropy,
    pairwise_lagged_mutual_info,
    pairwise_transfer_entropy,
    transfer_entropy,
)

__all__ = [
    "entropy",
    "joint_entropy",
    "conditional_entropy",
    "mutual_info",
    "conditional_mutual_info",
    "lagged_mutual_info",
    "transfer_entropy",
    "conditional_transfer_entropy",
    "pairwise_transfer_entropy",
    "pairwise_lagged_mutual_info",
    "start_kernels",
]
