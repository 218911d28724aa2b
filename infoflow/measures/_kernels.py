"""Numba kernels: entropy sums of (source history, target next, target past) count tables.

One kernel serves transfer entropy (target past of length k >= 1) and lagged mutual information
(k = 0), for many targets, sources, lags and surrogates at once. For every target, surrogate
``b``, source ``s`` and lag ``u`` it counts the joint states ``(S, X, P)`` over the samples

    X = x[e, t],  P = target past code,  S = source history code ending at step t - u

and returns, per table, the sample count N and ``sum_c c log2 c`` plus the number of occupied
cells for the joint table and its marginals (S, P), (X, P), (P). Any conditional mutual
information I(X; S | P) follows without another pass over the data.

Codes are "trash-coded": an invalid target code is ``nx * n_p`` and an invalid source code is
``ns``, so the counting loops need no branches; the trash row and column are never read.
Surrogates re-pair the source with the target: target step ``t`` of episode ``e`` reads source
episode ``e2 = perm[b, e]`` at step ``(t - lag + shift[b, e]) mod L_e2``, i.e. shifted
circularly and read cyclically when the source episode is shorter, so every surrogate has
exactly the samples of the observed statistic (none lost to unequal episode lengths).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "table_sums",
    "xlogx_table",
    "N_SUMS",
    "episode_lengths_of",
    "target_codes",
    "circular_source_codes",
    "pair_sums",
    "value_range",
]

#: Fields of the last axis of the kernel's output.
N_SUMS = 9  # n, S_joint, S_sp, S_xp, S_p, m_joint, m_sp, m_xp, m_p


def xlogx_table(n_max: int) -> np.ndarray:
    """``c * log2(c)`` for c = 0 .. n_max (0 for c = 0), float64 [n_max + 1]."""
    c = np.arange(n_max + 1, dtype=np.float64)
    out = np.zeros(n_max + 1)
    out[1:] = c[1:] * np.log2(c[1:])
    return out


@njit(cache=True)
def _xlog(c, xlogx):
    if c < xlogx.shape[0]:
        return xlogx[c]
    return c * np.log2(c)


@njit(cache=True)
def _marginal_sums(counts, xlogx):
    """(sum c log2 c, occupied cells) of a marginal histogram, which is reset to 0."""
    s = 0.0
    m = 0
    for i in range(counts.shape[0]):
        c = counts[i]
        if c > 0:
            s += _xlog(c, xlogx)
            m += 1
            counts[i] = 0
    return s, m


@njit(cache=True)
def _finalize_dense(table, off, nx, n_p, ns, sp, xp, pp, xlogx, res):
    """Fill ``res`` from the joint table at ``off`` (layout [ns + 1, nx * n_p + 1])."""
    width = nx * n_p + 1
    n = 0
    s_j = 0.0
    m_j = 0
    for s in range(ns):
        base = off + s * width
        for x in range(nx):
            for p in range(n_p):
                c = table[base + x * n_p + p]
                if c > 0:
                    n += c
                    s_j += _xlog(c, xlogx)
                    m_j += 1
                    sp[s * n_p + p] += c
                    xp[x * n_p + p] += c
                    pp[p] += c
    s_sp, m_sp = _marginal_sums(sp, xlogx)
    s_xp, m_xp = _marginal_sums(xp, xlogx)
    s_p, m_p = _marginal_sums(pp, xlogx)
    _store(res, n, s_j, s_sp, s_xp, s_p, m_j, m_sp, m_xp, m_p)


@njit(cache=True)
def _finalize_touched(table, n_p, t_sc, t_c, n_touched, p_of, sp, xp, pp, xlogx, res):
    """Fill ``res`` from the touched cells only (sparse tables); resets every table used."""
    width = xp.shape[0] + 1
    n = 0
    s_j = 0.0
    for i in range(n_touched):
        s = t_sc[i]
        c_code = t_c[i]
        c = table[s * width + c_code]
        n += c
        s_j += _xlog(c, xlogx)
        p = p_of[c_code]
        sp[s * n_p + p] += c
        xp[c_code] += c
        pp[p] += c
    s_sp = 0.0
    m_sp = 0
    s_xp = 0.0
    m_xp = 0
    s_p = 0.0
    m_p = 0
    for i in range(n_touched):
        s = t_sc[i]
        c_code = t_c[i]
        table[s * width + c_code] = 0
        p = p_of[c_code]
        c = sp[s * n_p + p]
        if c > 0:
            s_sp += _xlog(c, xlogx)
            m_sp += 1
            sp[s * n_p + p] = 0
        c = xp[c_code]
        if c > 0:
            s_xp += _xlog(c, xlogx)
            m_xp += 1
            xp[c_code] = 0
        c = pp[p]
        if c > 0:
            s_p += _xlog(c, xlogx)
            m_p += 1
            pp[p] = 0
    _store(res, n, s_j, s_sp, s_xp, s_p, n_touched, m_sp, m_xp, m_p)


@njit(cache=True)
def _store(res, n, s_j, s_sp, s_xp, s_p, m_j, m_sp, m_xp, m_p):
    res[0] = n
    res[1] = s_j
    res[2] = s_sp
    res[3] = s_xp
    res[4] = s_p
    res[5] = m_j
    res[6] = m_sp
    res[7] = m_xp
    res[8] = m_p


@njit(cache=True)
def _first_source_step(t0, lag, sh, length2):
    """Source step read for target step ``t0``: ``(t0 - lag + sh) mod length2`` (>= 0).

    A surrogate source episode is read cyclically, so a target step never goes without a
    source value: every target sample of the observed statistic is a sample of every
    surrogate, whatever the two episodes' lengths.
    """
    q = (t0 - lag + sh) % length2
    if q < 0:
        q += length2
    return q


@njit(cache=True)
def _one_target_lag(tc, cc, lengths, src, lag, l, active, perm, shift, nx, n_p, ns, xlogx, out):
    """Mode 0 for one (target, lag): one pass over the samples fills every source's table."""
    n_episodes = tc.shape[0]
    nxp = nx * n_p
    width = nxp + 1
    cells = (ns + 1) * width
    cols = src[active]  # active source columns
    slots = np.flatnonzero(active)
    n_act = cols.shape[0]
    if n_act == 0:
        return
    sp = np.zeros(ns * n_p, dtype=np.int64)
    xp = np.zeros(nxp, dtype=np.int64)
    pp = np.zeros(n_p, dtype=np.int64)
    table = np.zeros(n_act * cells, dtype=np.int32)
    offsets = np.arange(n_act) * cells
    n_steps = cc.shape[1]
    n_cols = cc.shape[2]
    flat = cc.ravel()  # flat index of cc[e, q, col]: (e * n_steps + q) * n_cols + col
    for b in range(perm.shape[0]):
        for e in range(n_episodes):
            e2 = perm[b, e]
            length2 = lengths[e2]
            if length2 == 0:
                continue
            t0 = lag + l - 1
            q = _first_source_step(t0, lag, shift[b, e], length2)
            row0 = e2 * n_steps * n_cols
            for t in range(t0, lengths[e]):
                c = tc[e, t]
                base = row0 + q * n_cols
                for i in range(n_act):
                    table[offsets[i] + flat[base + cols[i]] * width + c] += 1
                q += 1
                if q == length2:
                    q = 0
        for i in range(n_act):
            _finalize_dense(table, i * cells, nx, n_p, ns, sp, xp, pp, xlogx, out[b, slots[i]])
        table[:] = 0


@njit(cache=True)
def _one_target(tc, cc, lengths, src, lags, l, active, perm, shift, nx, n_p, ns, mode, xlogx,
                out):
    """Modes 1 and 2 for one target: one pass over the samples per (source, lag) table."""
    n_episodes = tc.shape[0]
    n_src = src.shape[0]
    n_lags = lags.shape[0]
    nxp = nx * n_p
    width = nxp + 1
    cells = (ns + 1) * width
    sp = np.zeros(ns * n_p, dtype=np.int64)
    xp = np.zeros(nxp, dtype=np.int64)
    pp = np.zeros(n_p, dtype=np.int64)
    table = np.zeros(cells, dtype=np.int32)
    cap = 1
    if mode == 2:
        for e in range(n_episodes):
            cap += lengths[e]
    t_sc = np.zeros(cap, dtype=np.int64)
    t_c = np.zeros(cap, dtype=np.int64)
    p_of = np.arange(nxp) % n_p
    n_steps = cc.shape[1]
    n_cols = cc.shape[2]
    flat = cc.ravel()
    for b in range(perm.shape[0]):
        for si in range(n_src):
            col = src[si]
            for ui in range(n_lags):
                if not active[si, ui]:
                    continue
                lag = lags[ui]
                n_touched = 0
                for e in range(n_episodes):
                    e2 = perm[b, e]
                    length2 = lengths[e2]
                    if length2 == 0:
                        continue
                    t0 = lag + l - 1
                    q = _first_source_step(t0, lag, shift[b, e], length2)
                    row0 = e2 * n_steps * n_cols + col
                    for t in range(t0, lengths[e]):
                        c = tc[e, t]
                        sc = flat[row0 + q * n_cols]
                        q += 1
                        if q == length2:
                            q = 0
                        j = sc * width + c
                        if mode == 2:
                            if c >= nxp or sc >= ns:
                                continue
                            if table[j] == 0:
                                t_sc[n_touched] = sc
                                t_c[n_touched] = c
                                n_touched += 1
                        table[j] += 1
                if mode == 2:
                    _finalize_touched(table, n_p, t_sc, t_c, n_touched, p_of, sp, xp, pp,
                                      xlogx, out[b, si, ui])
                else:
                    _finalize_dense(table, 0, nx, n_p, ns, sp, xp, pp, xlogx, out[b, si, ui])
                    table[:] = 0


@njit(cache=True, parallel=True, nogil=True)
def table_sums(tc, cc, lengths, src, lags, l, active, perm, shift, nx, n_p, ns, mode, xlogx, out):
    """Entropy sums for every (target, surrogate, source, lag); see the module docstring.

    Parameters
    ----------
    tc : int32 [target, episode, step]
        Target code ``x * n_p + past``; ``nx * n_p`` where invalid.
    cc : int32 [episode, step, agent]
        Circular source history codes (``circular_history_codes``); ``ns`` where invalid.
    lengths : int64 [episode]
        Valid length of each episode (circular wrap length).
    src : int64 [target, S]
        Columns of ``cc`` used as sources of each target.
    lags : int64 [U]
        Lags u (>= 0).
    l : int
        Source history length (windows must start at step >= 0).
    active : bool [target, S, U]
        Which (source, lag) tables to compute.
    perm, shift : int64 [B, episode]
        Surrogate pairing (identity and zeros for the observed value).
    nx, n_p, ns : int
        Sizes of the target-next, target-past and source-history code spaces.
    mode : int
        0: one pass over samples per (target, lag) filling all sources' tables (dense, small
        tables); 1: one pass per table, dense finalisation; 2: one pass per table, touched
        cells only (sparse tables).
    xlogx : float64 [n]
        Lookup of c log2 c for small c.
    out : float64 [target, B, S, U, N_SUMS]
        Output. Targets run in parallel threads.
    """
    if mode == 0:  # work items (target, lag): balanced over threads
        n_lags = lags.shape[0]
        for item in prange(tc.shape[0] * n_lags):
            j = item // n_lags
            ui = item - j * n_lags
            _one_target_lag(tc[j], cc, lengths, src[j], lags[ui], l, active[j, :, ui], perm,
                            shift, nx, n_p, ns, xlogx, out[j, :, :, ui])
    else:
        for j in prange(tc.shape[0]):
            _one_target(tc[j], cc, lengths, src[j], lags, l, active[j], perm, shift, nx, n_p,
                        ns, mode, xlogx, out[j])


@njit(cache=True)
def episode_lengths_of(x, lengths):
    """lengths[e] = max(lengths[e], last valid step of x[e] + 1); x int [episode, step]."""
    for e in range(x.shape[0]):
        for t in range(x.shape[1] - 1, lengths[e] - 1, -1):
            if x[e, t] >= 0:
                lengths[e] = t + 1
                break


@njit(cache=True)
def target_codes(x, k, a, lengths, out):
    """out[e, t] = x_t * a**k + code(x[t-k .. t-1]), or a**(k+1) (trash) where invalid."""
    n_p = 1
    for _ in range(k):
        n_p *= a
    trash = a * n_p
    for e in range(x.shape[0]):
        for t in range(x.shape[1]):
            out[e, t] = trash
            if t < k or t >= lengths[e] or x[e, t] < 0:
                continue
            code = 0
            ok = True
            for j in range(1, k + 1):
                v = x[e, t - j]
                if v < 0:
                    ok = False
                    break
                code = code * a + v
            if ok:
                out[e, t] = x[e, t] * n_p + code


@njit(cache=True)
def circular_source_codes(y, l, a, lengths, out, col):
    """out[e, q, col] = code(y[e, (q - j) mod L_e], j < l) for q < L_e; a**l (trash) else."""
    trash = 1
    for _ in range(l):
        trash *= a
    for e in range(y.shape[0]):
        length = lengths[e]
        for q in range(y.shape[1]):
            out[e, q, col] = trash
            if q >= length:
                continue
            code = 0
            ok = True
            for j in range(l):
                idx = q - j
                while idx < 0:
                    idx += length
                v = y[e, idx]
                if v < 0:
                    ok = False
                    break
                code = code * a + v
            if ok:
                out[e, q, col] = code


@njit(cache=True)
def pair_sums(y, x, k, l, lag, a, res):
    """Kernel sums (N_SUMS) of one source y and target x (int [episode, step], -1 padding).

    Fused single pass for the observed value: codes are built on the fly, no code arrays.
    """
    n_p = 1
    for _ in range(k):
        n_p *= a
    ns = 1
    for _ in range(l):
        ns *= a
    nxp = a * n_p
    width = nxp + 1
    table = np.zeros(ns * width, dtype=np.int64)
    start = max(k, lag + l - 1)
    for e in range(x.shape[0]):
        for t in range(start, x.shape[1]):
            xv = x[e, t]
            if xv < 0:
                continue
            p = 0
            ok = True
            for j in range(1, k + 1):
                v = x[e, t - j]
                if v < 0:
                    ok = False
                    break
                p = p * a + v
            if not ok:
                continue
            s = 0
            for j in range(l):
                v = y[e, t - lag - j]
                if v < 0:
                    ok = False
                    break
                s = s * a + v
            if ok:
                table[s * width + xv * n_p + p] += 1
    sp = np.zeros(ns * n_p, dtype=np.int64)
    xp = np.zeros(nxp, dtype=np.int64)
    pp = np.zeros(n_p, dtype=np.int64)
    _finalize_dense(table, 0, a, n_p, ns, sp, xp, pp, np.zeros(1), res)


@njit(cache=True)
def value_range(x):
    """(min, max) of an int array in one pass; (0, -1) when empty."""
    flat = x.ravel()
    if flat.shape[0] == 0:
        return 0, -1
    lo = flat[0]
    hi = flat[0]
    for i in range(1, flat.shape[0]):
        v = flat[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi


def start_kernels() -> None:
    """Start numba in this process now: its compiler target and one cached kernel.

    The first kernel call of a process costs about 0.4 s on 2 cores (numba loads its type
    registries, which import ``scipy.linalg``); later loads take milliseconds. Calling this
    first puts that cost where the caller wants it, e.g. before a thread that imports
    :mod:`scipy.stats` starts (``cli.preload``).
    """
    value_range(np.zeros(1, dtype=np.int64))
