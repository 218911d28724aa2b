"""Multivariate transfer-entropy network inference and active information storage.

For every target agent X, :func:`multivariate_te` finds the set of past variables of the other
agents, (agent, lag) pairs, that together carry information about X's next action beyond X's
own past, the standard greedy algorithm of network-inference toolkits (Lizier & Rubinov 2012;
Novelli et al. 2019, the algorithm of IDTxl's ``MultivariateTE``), written here over the
count-table kernel of :mod:`infoflow.measures`:

1. **Target past.** X's own past variables X_{t-1} .. X_{t-H} are added greedily: the candidate
   with the largest I(X_t ; X_{t-u} | selected past, context) enters when it passes a
   maximum-statistic permutation test over all remaining candidates. If none passes, X_{t-1}
   is used anyway (transfer entropy always conditions on the target's past). The selected past
   gives X's **active information storage**, AIS = I(X_t ; selected past), in bits.
2. **Sources.** Candidates (agent i != X, lag u) enter the same way, each time by the largest
   conditional TE I(X_t ; Y_{i,t-u} | past, already selected, context) and a max-statistic test.
   Conditioning on what is already selected stops a chain 0 -> 1 -> 2 from giving 0 -> 2 and a
   common driver A of B and C from giving B -> C; and a variable that only informs jointly
   with one already selected (synergy) is found in a later round. A target that is a pure XOR
   of two sources, where neither source alone carries any information, cannot start the
   greedy search (a limit shared with every greedy method, IDTxl's included).
3. **Pruning.** The weakest selected source variable, by its TE conditional on all the others,
   is removed while it fails a minimum-statistic test.
4. **Omnibus test.** I(X_t ; all selected source variables | past, context), tested against
   surrogates that re-pair all of them at once; Benjamini-Hochberg FDR over the targets
   (:func:`scipy.stats.false_discovery_control`). A target that fails keeps no incoming edge.
5. **Edges.** For each source agent with selected variables: its TE conditional on everything
   else selected (``value``, bits), that TE's own permutation p-value, and the lags selected.

Surrogates per test: the selection's inclusion and pruning tests (steps 1-3) draw at most
``selection_permutations`` (default 200; more when ``alpha`` needs them, at most
``permutations``), the omnibus and edge tests (steps 4-5) at most
``permutations`` (default 500), as IDTxl's defaults (``n_perm_max_stat = n_perm_min_stat =
200``, ``n_perm_omnibus = n_perm_max_seq = 500``): an inclusion test is decided at ``alpha``
alone, where 200 surrogates resolve p down to 0.005, while the omnibus p-values go through the
FDR over targets and need the finer resolution. Every test also stops early once it can no
longer reach ``alpha``.

Every estimate uses the same samples: steps ``t >= max(max lag, max history)`` of each episode,
so values of different rounds compare. Surrogates and context: see :mod:`infoflow.surrogates`
and :mod:`infoflow.context`.

References
----------
Lizier & Rubinov (2012), Max Planck Preprint 25/2012 (greedy multivariate TE).
Novelli, Wollstadt, Mediano, Wibral & Lizier (2019), Netw. Neurosci. 3, 827,
doi:10.1162/netn_a_00092 (maximum and minimum statistics, omnibus test).
Lizier, Prokopenko & Zomaya (2012), Inf. Sci. 208, 39, doi:10.1016/j.ins.2012.04.016 (AIS).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from infoflow._cmi_tests import RowCodes, relabel, row_codes, run_test
from infoflow.context import DEFAULT_BINS, context_code
from infoflow.measures._codes import as_actions, infer_n_symbols
from infoflow.measures._kernels import episode_lengths_of
from infoflow.measures.mutual_info import mutual_info
from infoflow.measures.transfer_entropy import check_lags
from infoflow.significance import fdr_bh
from infoflow.surrogates import DEFAULT_BLOCK, SurrogatePlan, plan_surrogates

__all__ = ["multivariate_te", "selection_count", "SELECTION_PERMUTATIONS"]

Var = tuple[int, int]  # (agent, lag)

SELECTION_PERMUTATIONS = 200
"""Default surrogates per inclusion and pruning test (IDTxl's ``n_perm_max_stat``)."""


def selection_count(selection_permutations: int, permutations: int, alpha: float) -> int:
    """Surrogates an inclusion or pruning test draws: ``selection_permutations``, raised so
    that its smallest p-value, 1/(1 + n), can reach ``alpha``, and at most ``permutations``.

    Examples
    --------
    >>> selection_count(200, 500, 0.05), selection_count(200, 500, 0.001)
    (200, 500)
    >>> selection_count(200, 5000, 0.001), selection_count(200, 100, 0.05)
    (999, 100)
    """
    needed = math.ceil(1.0 / alpha - 1.0 - 1e-9)  # 1 / (1 + n) <= alpha
    return min(max(int(selection_permutations), needed), int(permutations))


def _lagged(acts: np.ndarray, var: Var) -> np.ndarray:
    """Values of agent ``var[0]`` at t - ``var[1]``, int64 [episode, step]; -1 before step 0."""
    agent, lag = var
    out = np.full(acts.shape[1:], -1, dtype=np.int64)
    out[:, lag:] = acts[agent, :, : acts.shape[2] - lag]
    return out


def _joint(acts: np.ndarray, variables: list[Var], base: np.ndarray, a: int) -> np.ndarray:
    """Relabelled joint code of ``base`` (codes, -1 invalid) and the lagged ``variables``."""
    code = base.astype(np.int64)
    for var in variables:
        v = _lagged(acts, var)
        code = np.where((code >= 0) & (v >= 0), code * a + v, -1)
        code, _ = relabel(code)
    return code


def _circular_joint(acts: np.ndarray, variables: list[Var], lengths: np.ndarray,
                    a: int) -> tuple[np.ndarray, int]:
    """Joint code of ``variables`` read circularly within each episode, the source column of
    surrogates that re-pair all of them at once: (int64 [episode, step] with -1 invalid, number
    of states). For t >= every lag it equals the plain joint code."""
    n_episodes, n_steps = acts.shape[1:]
    steps = np.arange(n_steps)
    code = np.zeros((n_episodes, n_steps), dtype=np.int64)
    safe = np.maximum(lengths, 1)[:, None]
    rows = np.arange(n_episodes)[:, None]
    for agent, lag in variables:
        v = acts[agent][rows, (steps[None, :] - lag) % safe]
        code = np.where((code >= 0) & (v >= 0), code * a + v, -1)
        code, _ = relabel(code)
    code[steps[None, :] >= lengths[:, None]] = -1
    return relabel(code)


class _Problem:
    """Data and settings shared by every test of one network inference."""

    def __init__(self, acts: np.ndarray, a: int, lags: np.ndarray, max_history: int,
                 context: np.ndarray, plan: SurrogatePlan, rng: np.random.Generator,
                 permutations: int, selection_permutations: int, alpha: float):
        self.acts, self.a, self.lags, self.max_history = acts, a, lags, max_history
        self.plan, self.rng, self.alpha = plan, rng, alpha
        self.permutations = permutations  # omnibus and edge tests
        self.selection_permutations = selection_permutations  # inclusion and pruning tests
        n_agents, n_episodes, n_steps = acts.shape
        self.lengths = np.zeros(n_episodes, dtype=np.int64)
        for x in acts:
            episode_lengths_of(x, self.lengths)
        start = max(int(lags.max()), max_history)  # the one sample window of every estimate
        self.window = np.broadcast_to(np.where(np.arange(n_steps) >= start, 0, -1),
                                      (n_episodes, n_steps))  # 0 inside, -1 before
        self.base = np.where((self.window >= 0) & (context >= 0), context, -1)
        cc = np.where(acts >= 0, acts, a).transpose(1, 2, 0)  # [episode, step, agent]
        beyond = np.arange(n_steps)[None, :] >= self.lengths[:, None]
        cc[beyond] = a
        self.cc = np.ascontiguousarray(cc, dtype=np.int32)

    def condition(self, variables: list[Var]) -> np.ndarray:
        return _joint(self.acts, variables, self.base, self.a)

    def test(self, rows: RowCodes, sources: np.ndarray, lags: np.ndarray, active: np.ndarray,
             groups: np.ndarray, reduce: str, permutations: int, cc: np.ndarray | None = None,
             ns: int | None = None) -> dict[str, np.ndarray]:
        return run_test(rows, self.cc if cc is None else cc, self.a if ns is None else ns,
                        self.lengths, sources, lags, active, groups, reduce, self.plan,
                        self.rng, permutations, self.alpha)


def _greedy(pb: _Problem, targets: list[int], chosen: dict[int, list[Var]],
            fixed: dict[int, list[Var]], candidates: dict[int, list[int]], lags: np.ndarray
            ) -> dict[int, list[float]]:
    """Greedy inclusion with a max-statistic test, every live target in one kernel call per
    round; appends to ``chosen[j]``; returns the p-value of each inclusion."""
    p_of: dict[int, list[float]] = {j: [] for j in targets}
    live = list(targets)
    while live:
        conds = [pb.condition(fixed[j] + chosen[j]) for j in live]
        rows = row_codes([pb.acts[j] for j in live], conds, pb.a)
        n_cand = max(len(candidates[j]) for j in live)
        sources = np.zeros((len(live), n_cand), dtype=np.int64)
        active = np.zeros((len(live), n_cand, lags.size), dtype=bool)
        for r, j in enumerate(live):
            sources[r, : len(candidates[j])] = candidates[j]
            for c, agent in enumerate(candidates[j]):
                active[r, c] = [(agent, int(u)) not in chosen[j] for u in lags]
        res = pb.test(rows, sources, lags, active, np.arange(len(live)), "max",
                      pb.selection_permutations)
        still = []
        for r, j in enumerate(live):
            if not np.isfinite(res["stat"][r]) or res["p_value"][r] > pb.alpha:
                continue
            c, u = np.unravel_index(np.nanargmax(np.where(active[r], res["value"][r], -np.inf)),
                                    active[r].shape)
            chosen[j].append((int(sources[r, c]), int(lags[u])))
            p_of[j].append(float(res["p_value"][r]))
            if active[r].sum() > 1:  # candidates left for another round
                still.append(j)
        live = still
    return p_of


def _prune(pb: _Problem, targets: list[int], past: dict[int, list[Var]],
           chosen: dict[int, list[Var]]) -> None:
    """Remove, per target, the weakest selected source variable while its TE conditional on
    all other selected variables fails a minimum-statistic test."""
    live = [j for j in targets if chosen[j]]
    while live:
        targets_x, conds, srcs, lag_idx, groups = [], [], [], [], []
        for g, j in enumerate(live):
            for var in chosen[j]:
                others = [v for v in chosen[j] if v != var]
                targets_x.append(pb.acts[j])
                conds.append(pb.condition(past[j] + others))
                srcs.append(var[0])
                lag_idx.append(int(np.flatnonzero(pb.lags == var[1])[0]))
                groups.append(g)
        rows = row_codes(targets_x, conds, pb.a)
        active = np.zeros((len(srcs), 1, pb.lags.size), dtype=bool)
        active[np.arange(len(srcs)), 0, lag_idx] = True
        res = pb.test(rows, np.array(srcs)[:, None], pb.lags, active, np.array(groups), "min",
                      pb.selection_permutations)
        still = []
        for g, j in enumerate(live):
            if res["p_value"][g] <= pb.alpha:
                continue
            mine = [r for r, gg in enumerate(groups) if gg == g]
            weakest = min(mine, key=lambda r: np.nanmin(res["value"][r]))
            chosen[j].remove((srcs[weakest], int(pb.lags[lag_idx[weakest]])))
            if chosen[j]:
                still.append(j)
        live = still


def _joint_tests(pb: _Problem, items: list[tuple[int, list[Var], list[Var]]]
                 ) -> dict[str, np.ndarray]:
    """For each (target, variables, condition): I(X_t ; variables | condition, context), tested
    with surrogates that re-pair all ``variables`` at once (one row and one source column
    each, at lag 0: the column already holds the lagged values)."""
    columns = [_circular_joint(pb.acts, variables, pb.lengths, pb.a) for _, variables, _ in items]
    ns = max(n for _, n in columns)
    cc = np.stack([np.where(c >= 0, c, ns) for c, _ in columns], axis=2).astype(np.int32)
    rows = row_codes([pb.acts[j] for j, _, _ in items],
                     [pb.condition(cond) for _, _, cond in items], pb.a)
    sources = np.arange(len(items), dtype=np.int64)[:, None]
    active = np.ones((len(items), 1, 1), dtype=bool)
    return pb.test(rows, sources, np.array([0]), active, np.arange(len(items)), "max",
                   pb.permutations, np.ascontiguousarray(cc), ns)


def _ais(pb: _Problem, j: int, past: list[Var]) -> float:
    """I(X_t ; selected past) in bits over the common sample window (no context)."""
    p = _joint(pb.acts, past, pb.window, pb.a)
    x = pb.acts[j].astype(np.int64)
    ok = (p >= 0) & (x >= 0)
    if not ok.any():
        return float("nan")
    return float(mutual_info(x[ok], p[ok]))


def multivariate_te(
    data: Any,
    lags: Any = (1, 2, 3),
    max_history: int = 3,
    permutations: int = 500,
    selection_permutations: int = SELECTION_PERMUTATIONS,
    alpha: float = 0.05,
    surrogates: str = "auto",
    block: int = DEFAULT_BLOCK,
    context: Any = (),
    context_bins: int = DEFAULT_BINS,
    fdr: bool = True,
    seed: int | np.random.Generator | None = 0,
    n_symbols: int | None = None,
) -> xr.Dataset:
    """Infer who influences whom by multivariate transfer entropy (see the module docstring).

    Parameters
    ----------
    data : xr.Dataset with ``action(episode, step, agent)``, xr.DataArray, or int array
        ``[episode, step, agent]``
        Symbols, -1 = padding. Context variables other than ``phase`` and ``episode`` need a
        Dataset holding them.
    lags : sequence of int
        Candidate source lags u >= 1 (steps).
    max_history : int
        Largest target-past lag considered (>= 1).
    permutations : int
        Surrogates per omnibus and edge test (at most: a test stops once it can no longer
        reach ``alpha``).
    selection_permutations : int
        Surrogates per inclusion and pruning test (at most), raised to what ``alpha`` needs
        (1/(1 + n) <= alpha) and capped at ``permutations`` (:func:`selection_count`).
    alpha : float
        Level of every inclusion and pruning test, and the FDR of the omnibus tests.
    surrogates : {"auto", "blocks", "episodes", "circular"}
        Surrogate design (:func:`infoflow.surrogates.plan_surrogates`). When ``"auto"`` falls
        back to circular shifts, ``"phase"`` is added to the context.
    block : int
        Consecutive episodes per block of the ``"blocks"`` design.
    context : sequence of str
        Context variables conditioned on in every test (:mod:`infoflow.context`), e.g.
        ``("apples",)``.
    context_bins : int
        Bins per context variable.
    fdr : bool
        Benjamini-Hochberg over the targets' omnibus tests (else each at ``alpha``).
    seed : int, np.random.Generator or None
        Randomness of the surrogates.
    n_symbols : int, optional
        Alphabet size (max + 1 when None).

    Returns
    -------
    xr.Dataset
        Over (source, target): ``value`` (bits: the source's TE conditional on every other
        selected variable and the target's past; NaN without an edge), ``p_value`` (that
        TE's permutation p-value), ``significant`` (bool, the edge); over (source, target,
        lag): ``selected`` (bool, the source's variables chosen for the target); over target:
        ``omnibus`` (bits), ``omnibus_p_value``, ``omnibus_significant``; over agent: ``ais``
        (bits), ``ais_p_value`` (of the first past variable; NaN when X_{t-1} was added by
        default), and over (agent, history_lag) ``history`` (bool, the past selected).
        Attributes record the settings, the surrogate design and ``notes``.

    Examples
    --------
    A chain 0 -> 1 -> 2 gives two edges, not 0 -> 2:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a0 = rng.integers(0, 4, (10, 300))
    >>> a1 = np.where(rng.random(a0.shape) < 0.8, np.roll(a0, 1, 1), rng.integers(0, 4, a0.shape))
    >>> a2 = np.where(rng.random(a0.shape) < 0.8, np.roll(a1, 1, 1), rng.integers(0, 4, a0.shape))
    >>> res = multivariate_te(np.stack([a0, a1, a2], -1), lags=[1, 2], permutations=200)
    >>> res.significant.values.astype(int).tolist()
    [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    """
    lag_arr = np.unique(check_lags(lags, 1))
    max_history = int(max_history)
    if max_history < 1:
        raise ValueError(f"max_history is {max_history}; pass at least 1 step")
    permutations = int(permutations)
    if permutations < 1:
        raise ValueError(f"permutations is {permutations}; pass at least 1 (e.g. 500)")
    selection_permutations = int(selection_permutations)
    if selection_permutations < 1:
        raise ValueError(f"selection_permutations is {selection_permutations}; pass at least "
                         f"1 (e.g. {SELECTION_PERMUTATIONS})")
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha is {alpha}; pass a level in (0, 1), e.g. 0.05")
    selection_permutations = selection_count(selection_permutations, permutations, alpha)
    context = [str(c) for c in ([context] if isinstance(context, str) else context)]
    acts, names = as_actions(data)  # [agent, episode, step]
    acts = acts.astype(np.int64)
    n_agents, n_episodes, n_steps = acts.shape
    a = infer_n_symbols([acts], n_symbols)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    for x in acts:
        episode_lengths_of(x, lengths)
    min_shift = int(lag_arr.max()) + max_history
    plan = plan_surrogates(surrogates, lengths, min_shift, permutations, block)
    notes = [plan.note] if plan.note else []
    if plan.method == "circular" and "phase" not in context:
        context.append("phase")
        notes.append("circular shifts move each agent's within-episode trend: the episode "
                     "phase is added to the conditioning context")
    ds = data if isinstance(data, xr.Dataset) else None
    ctx, _ = context_code(ds, context, lengths, n_steps, context_bins)
    pb = _Problem(acts, a, lag_arr, max_history, ctx, plan, np.random.default_rng(seed),
                  permutations, selection_permutations, alpha)
    targets = list(range(n_agents))

    # 1. the target's own past (active information storage)
    past: dict[int, list[Var]] = {j: [] for j in targets}
    history_lags = np.arange(1, max_history + 1)
    p_past = _greedy(pb, targets, past, {j: [] for j in targets}, {j: [j] for j in targets},
                     history_lags)
    forced = [j for j in targets if not past[j]]
    for j in forced:
        past[j] = [(j, 1)]
    # 2. sources, 3. pruning
    chosen: dict[int, list[Var]] = {j: [] for j in targets}
    _greedy(pb, targets, chosen, past, {j: [i for i in targets if i != j] for j in targets},
            lag_arr)
    _prune(pb, targets, past, chosen)
    # 4. omnibus test per target with sources; 5. one conditional TE test per edge
    with_sources = [j for j in targets if chosen[j]]
    omni = _joint_tests(pb, [(j, chosen[j], past[j]) for j in with_sources]) \
        if with_sources else None
    edges = [(i, j) for j in with_sources for i in sorted({v[0] for v in chosen[j]})]
    edge_items = [(j, [v for v in chosen[j] if v[0] == i],
                   past[j] + [v for v in chosen[j] if v[0] != i]) for i, j in edges]
    edge_res = _joint_tests(pb, edge_items) if edges else None

    omnibus = np.full(n_agents, np.nan)
    omnibus_p = np.full(n_agents, np.nan)
    if with_sources:
        omnibus[with_sources] = omni["stat"]
        omnibus_p[with_sources] = omni["p_value"]
    tested = np.isfinite(omnibus_p)
    omnibus_sig = np.zeros(n_agents, dtype=bool)
    if tested.any():
        p = omnibus_p[tested]
        omnibus_sig[tested] = fdr_bh(p, alpha) if fdr else p <= alpha
    value = np.full((n_agents, n_agents), np.nan)
    p_edge = np.full((n_agents, n_agents), np.nan)
    significant = np.zeros((n_agents, n_agents), dtype=bool)
    selected = np.zeros((n_agents, n_agents, lag_arr.size), dtype=bool)
    for r, (i, j) in enumerate(edges):
        if omnibus_sig[j]:  # a target that fails its omnibus test keeps no incoming edge
            value[i, j] = edge_res["stat"][r]
            p_edge[i, j] = edge_res["p_value"][r]
            significant[i, j] = True
    for j in targets:
        for i, u in chosen[j]:
            selected[i, j, int(np.flatnonzero(lag_arr == u)[0])] = omnibus_sig[j]
    history = np.zeros((n_agents, max_history), dtype=bool)
    ais = np.full(n_agents, np.nan)
    ais_p = np.full(n_agents, np.nan)
    for j in targets:
        history[j, [u - 1 for _, u in past[j]]] = True
        ais[j] = _ais(pb, j, past[j])
        if p_past[j]:
            ais_p[j] = p_past[j][0]
    if forced:
        notes.append(f"no past variable of agent(s) {', '.join(names[j] for j in forced)} "
                     "passed its test: their past is X(t-1)")
    pair = ("source", "target")
    return xr.Dataset(
        {
            "value": (pair, value, {"long_name": "conditional transfer entropy", "units": "bit"}),
            "p_value": (pair, p_edge, {"long_name": "permutation p-value of the edge's TE"}),
            "significant": (pair, significant, {"long_name": "significant edge"}),
            "selected": (("source", "target", "lag"), selected,
                         {"long_name": "source variable selected (agent, lag)"}),
            "omnibus": ("target", omnibus, {"long_name": "TE of all selected sources",
                                            "units": "bit"}),
            "omnibus_p_value": ("target", omnibus_p, {"long_name": "omnibus p-value"}),
            "omnibus_significant": ("target", omnibus_sig,
                                    {"long_name": "omnibus test passed (FDR over targets)"}),
            "ais": ("agent", ais, {"long_name": "active information storage", "units": "bit"}),
            "ais_p_value": ("agent", ais_p, {"long_name": "p-value of the first past variable"}),
            "history": (("agent", "history_lag"), history,
                        {"long_name": "target past variable selected"}),
        },
        coords={"source": names, "target": names, "agent": names, "lag": lag_arr,
                "history_lag": history_lags},
        attrs={"method": "multivariate", "permutations": permutations,
               "selection_permutations": selection_permutations, "alpha": alpha,
               "fdr": int(bool(fdr)), "surrogates": plan.method, "block": int(block),
               "context": ",".join(context), "context_bins": int(context_bins),
               "max_history": max_history, "n_symbols": a, "units": "bits",
               "seed": seed if isinstance(seed, int) else str(seed),
               "notes": "; ".join(notes)},
    )
