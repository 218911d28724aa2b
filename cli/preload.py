"""Import what the end of ``infoflow analyze`` needs while its kernels compute.

The end of the command needs :mod:`scipy.stats` (the Benjamini-Hochberg step,
:func:`scipy.stats.false_discovery_control`) and matplotlib (the figures): about 0.9 s of
imports on a 2-core machine, Python work that holds the GIL. The analysis kernels release the
GIL (numba ``nogil``), so a thread doing these imports while they run uses CPU time that would
otherwise wait its turn after them. Measured with ``benchmarks/bench_analyze_cli.py``.

Numba's own start-up (its first kernel load) imports ``scipy.linalg``, which
:mod:`scipy.stats` imports too; :func:`start_preload` does that start-up first, so the two
threads never import the same package at the same moment.
"""

from __future__ import annotations

import importlib
import threading

PRELOAD = ("scipy.stats", "matplotlib.figure", "matplotlib.backends.backend_agg",
           "matplotlib.patches")
"""Modules imported in the background, in order."""


def start_preload(modules: tuple[str, ...] = PRELOAD) -> threading.Thread:
    """Start numba (:func:`infoflow.measures.start_kernels`), then import ``modules`` in a
    daemon thread.

    Returns the started thread; ``join`` it before the modules are needed to be sure they are
    in ``sys.modules`` (importing them from another thread meanwhile is safe: it waits on the
    module's import lock). An import that fails in the thread (any exception) ends the thread
    quietly; the main thread raises it where the module is used.
    """
    from infoflow.measures import start_kernels

    start_kernels()  # numba's start-up, in this thread

    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the main thread raises it where it matters
                return

    thread = threading.Thread(target=work, name="infoflow-preload", daemon=True)
    thread.start()
    return thread
