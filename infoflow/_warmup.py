"""Compile the analysis layer's numba kernels into numba's on-disk cache, once.

Run it after ``pip install -e .`` (and after pulling a change to a kernel's source file)::

    python -m infoflow._warmup

Why
---
The kernels of :mod:`infoflow.measures` are ``@njit(cache=True)``. The first call with a new
type signature compiles the kernel: about 12 s in all on a 2-core machine, 9 of them for the
parallel ``table_sums``; numba then writes the machine code to its cache, and every later
process loads it (a few milliseconds per kernel, plus about 0.4 s of numba's own start-up at
the first load). Without a warm cache the user's first ``infoflow analyze`` pays the compile;
:func:`warm_numba_cache` pays it instead, on tiny inputs (a fraction of a second of actual
computation).

What it calls
-------------
Public functions only, never a kernel directly, so that it keeps working when a kernel's
arguments change; the kernels compiled are those the public functions reach, with the dtypes
they really pass:

1. the ``infoflow analyze`` path: a small synthetic run (int16 actions and messages, logged
   influence) written with :class:`~infoflow.trajectory.TrajectoryWriter` to a temporary zarr
   store, opened with :func:`~infoflow.trajectory.open_trajectories` and given to
   :func:`infoflow.analysis.analyze` with every measure (few permutations): the same dtypes
   and array layouts as a real store (int16 codes of the actions, int64 series of the
   communication metrics);
2. the array API with int16, int32 and int64 actions ``[episode, step, agent]``
   (:func:`~infoflow.measures.pairwise_transfer_entropy`,
   :func:`~infoflow.measures.pairwise_lagged_mutual_info`,
   :func:`~infoflow.significance.network_inference`): these dtypes are kept as given, and
   each is a separate specialisation of the code kernels; other integer dtypes are
   converted to int64;
3. the single-pair functions (series become int64): :func:`~infoflow.measures.entropy`,
   :func:`~infoflow.measures.mutual_info`, :func:`~infoflow.measures.lagged_mutual_info`,
   :func:`~infoflow.measures.transfer_entropy` (its fused dense path and its large-alphabet
   path through the count-table kernel).

Read-only arrays are one more specialisation that is not warmed: the pipeline copies the
actions it is given, so they reach no kernel.

Where the cache lives, and when it goes stale
---------------------------------------------
In ``__pycache__`` next to the kernel's source file when that folder is writable (an editable
install: ``infoflow/measures/__pycache__/_kernels.<function>-<line>.py3XX.nbi`` and ``.nbc``);
otherwise in numba's per-user cache directory; ``NUMBA_CACHE_DIR`` overrides both. An entry
holds for one numba version, one Python, one CPU model and feature set (a cluster of
different CPUs compiles once per model) and one version of the source file. Numba 0.68 and
later identify that version by a SHA-256 of the file's contents, so a fresh clone, a
checkout or a ``touch`` keep a cache valid; older numba uses the file's mtime and size, and
then any of these invalidates it. Any edit of a kernel module, even of a comment, makes every
kernel of that module compile again: run this module again after pulling such a change.

Why not at install time
-----------------------
A wheel, editable (PEP 660) or not, has no post-install hook: ``pip install -e .`` builds an
editable wheel in an isolated build environment (without numba, unless the build requires
it, and then possibly another numba version, whose cache entries the installed numba
rejects) and only unpacks it into the target environment. So the warm-up is an explicit
step, for an install script, a Dockerfile or a CI job.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

__all__ = ["warm_numba_cache", "numba_dispatchers"]


def numba_dispatchers() -> dict[str, object]:
    """Every numba dispatcher (``@njit`` function) defined in an imported ``infoflow`` module.

    Returns
    -------
    dict
        ``"module.function"`` -> dispatcher, for the modules of ``infoflow`` imported so far
        (importing :mod:`infoflow` imports every module that holds one).
    """
    from numba.core.dispatcher import Dispatcher

    found = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "infoflow" or name.startswith("infoflow.")):
            continue
        for attr, obj in list(vars(module).items()):
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == name:
                found[f"{name}.{attr}"] = obj
    return found


def _counts() -> dict[str, tuple[int, int]]:
    """(compiled, loaded from the cache) signatures of each dispatcher in this process."""
    out = {}
    for name, dispatcher in numba_dispatchers().items():
        stats = dispatcher.stats
        out[name] = (sum(Counter(stats.cache_misses).values()),
                     sum(Counter(stats.cache_hits).values()))
    return out


def _tiny_run():
    """A small synthetic run in the trajectory schema: int16 actions, messages, influence."""
    from infoflow.synthetic import coupled_actions

    return coupled_actions(n_agents=3, n_symbols=3, n_episodes=10, n_steps=24,
                           couplings=((0, 1, 1, 0.9),), n_message_symbols=3,
                           message_couplings=((2, 2, 0, 0.5),), influence=True, seed=0)


def _analyze_store(ds, permutations: int) -> None:
    """The ``infoflow analyze`` path: a zarr store written, opened and analysed."""
    from infoflow import analysis
    from infoflow.trajectory import TrajectoryWriter, open_trajectories

    with tempfile.TemporaryDirectory(prefix="infoflow-warmup-") as tmp:
        path = Path(tmp) / "trajectories.zarr"
        with TrajectoryWriter(path, agents=[str(a) for a in ds["agent"].values],
                              n_actions=int(ds.attrs["n_actions"]),
                              n_symbols=int(ds.attrs["n_symbols"])) as writer:
            writer.append(ds)
        stored = open_trajectories(path)
        analysis.analyze(stored, lags=(1, 2), permutations=permutations, seed=0)


def _array_api(actions: np.ndarray, permutations: int) -> None:
    """Pairwise measures and permutation tests of actions [episode, step, agent], each dtype
    that the array API passes on unchanged."""
    from infoflow.measures import pairwise_lagged_mutual_info, pairwise_transfer_entropy
    from infoflow.significance import network_inference

    for dtype in (np.int16, np.int32, np.int64):
        acts = actions.astype(dtype)
        pairwise_transfer_entropy(acts, lags=(1, 2))
        pairwise_lagged_mutual_info(acts, lags=(0, 1))
        network_inference(acts, measure="te", lags=(1, 2), permutations=permutations,
                          surrogates="circular", seed=0)


def _single_pair(actions: np.ndarray) -> None:
    """The functions of one or two series (converted to int64 [episode, step])."""
    from infoflow.measures import entropy, lagged_mutual_info, mutual_info, transfer_entropy

    y = actions[..., 0].astype(np.int64)
    x = actions[..., 1].astype(np.int64)
    entropy(x)
    mutual_info(y, x)
    lagged_mutual_info(y, x, lag=1)
    transfer_entropy(y, x, k=1, lag=1)  # small alphabet: the fused single-pass kernel
    # a large alphabet on few samples: the count-table kernel instead of the fused one
    big = np.arange(y.size, dtype=np.int64).reshape(y.shape) % 40
    transfer_entropy(big, np.roll(big, 1, axis=1), k=1, lag=1)


def warm_numba_cache(permutations: int = 19) -> dict[str, tuple[int, int]]:
    """Run every analysis path once on tiny inputs, so numba compiles and caches its kernels.

    Parameters
    ----------
    permutations : int
        Surrogates per test in the warm-up's permutation tests (a handful suffices).

    Returns
    -------
    dict
        ``"module.function"`` -> ``(compiled, loaded)``: signatures this call compiled (and
        wrote to the cache) and signatures it loaded from the cache, for each numba kernel of
        ``infoflow`` that it reached. With a warm cache ``compiled`` is 0 everywhere.
    """
    import infoflow  # noqa: F401  (imports every module that defines a kernel)

    before = _counts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _tiny_run()
        _analyze_store(ds, permutations)
        actions = np.asarray(ds["action"].values)  # int16 [episode, step, agent]
        _array_api(actions, permutations)
        _single_pair(actions)
    after = _counts()
    report = {}
    for name, (compiled, loaded) in after.items():
        c0, l0 = before.get(name, (0, 0))
        if compiled - c0 or loaded - l0:
            report[name] = (compiled - c0, loaded - l0)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m infoflow._warmup [--quiet]``: warm the cache, print what was compiled."""
    parser = argparse.ArgumentParser(
        prog="python -m infoflow._warmup",
        description="Compile infoflow's numba kernels into numba's cache once, so that the "
                    "first 'infoflow analyze' does not pay the compile.")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = warm_numba_cache()
    seconds = time.perf_counter() - start
    if not args.quiet:
        compiled = sum(c for c, _ in report.values())
        loaded = sum(n for _, n in report.values())
        width = max((len(n) for n in report), default=6)
        print(f"{'kernel':<{width}}  compiled  loaded")
        for name, (c, n) in sorted(report.items()):
            print(f"{name:<{width}}  {c:8d}  {n:6d}")
        print(f"{compiled} signature(s) compiled and cached, {loaded} loaded from the cache, "
              f"in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
