"""Compiled kernels of the batched game: reset and one step of every copy (SPEC 1.1-1.4).

Each kernel loops over env copies and agents in machine code; copy ``e`` uses
only its own random stream ``rng[e]``.  The step runs the SPEC order:
(0) box opening (box_trapped), (1) turns, (2) moves, (3) apple collection,
(4) beams, (5) regrowth/spawning, then repaints the tiles that changed
(agents and beams are drawn over the tiles when observations are cut).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .maps import T_APPLE, T_BOX, T_FLOOR, T_RIVER, T_WALL, T_WASTE
from .rng import next_below, next_uniform
from .rules import apple_p, waste_p
from .view import paint_cell

__all__ = ["reset_kernel", "step_kernel"]

# game ids
CLEANUP, HARVEST, BOX_TRAPPED = 0, 1, 2
# actions with a side effect beyond moving and turning
FIRE, CLEAN = 7, 8
# iparams slots
I_GAME, I_BEAM_LEN, I_RADIUS, I_DRAW_BEAMS, I_OPEN_ADJ, I_DELAY, I_T = range(7)
# fparams slots
(F_FIRE_COST, F_HIT, F_APPLE, F_BUMP, F_DEPLETION, F_RESTORATION, F_RESPAWN,
 F_WASTE_SPAWN, F_P0) = range(9)

# facing -> unit vector (row, col): 0 up, 1 right, 2 down, 3 left
DR = np.array([-1, 0, 1, 0], np.int64)
DC = np.array([0, 1, 0, -1], np.int64)
# move action (0 left, 1 right, 2 forward, 3 backward) -> facing offset
MOVE_TURN = np.array([3, 1, 0, 2], np.int64)


@nb.njit(cache=True)
def _permutation(rng, e, out):
    """Fisher-Yates shuffle of 0..n-1 into ``out`` from copy e's stream."""
    n = out.shape[0]
    for i in range(n):
        out[i] = i
    for i in range(n - 1, 0, -1):
        j = next_below(rng, e, i + 1)
        out[i], out[j] = out[j], out[i]


@nb.njit(cache=True)
def reset_kernel(pos, facing, tile, agent_at, beam_at, beam_count, rng, apples, waste,
                 box_open, opened_at, regrow_at, tile0, spawn, trapped_spawn, trapped_agent):
    """Start a new episode in every copy: map tiles, distinct random spawns, random facings."""
    n_envs, n_agents = facing.shape
    w = tile0.shape[1]
    n_apples0 = 0
    n_waste0 = 0
    for r in range(tile0.shape[0]):
        for c in range(w):
            n_apples0 += tile0[r, c] == T_APPLE
            n_waste0 += tile0[r, c] == T_WASTE
    pool = np.empty(spawn.shape[0], np.int64)
    for e in range(n_envs):
        tile[e] = tile0
        agent_at[e] = -1
        beam_at[e] = 0
        beam_count[e] = 0
        apples[e] = n_apples0
        waste[e] = n_waste0
        box_open[e] = False
        opened_at[e] = -1
        regrow_at[e] = 0
        for i in range(pool.shape[0]):
            pool[i] = spawn[i]
        m = 0  # spawn points used
        for k in range(n_agents):
            if k == trapped_agent:
                cell = trapped_spawn[next_below(rng, e, trapped_spawn.shape[0])]
            else:
                j = m + next_below(rng, e, pool.shape[0] - m)
                pool[m], pool[j] = pool[j], pool[m]
                cell = pool[m]
                m += 1
            pos[e, k, 0] = cell // w
            pos[e, k, 1] = cell % w
            agent_at[e, cell // w, cell % w] = k
            facing[e, k] = next_below(rng, e, 4)


@nb.njit(cache=True)
def step_kernel(actions, pos, facing, tile, agent_at, beam_at, beam_cells, beam_count, rng,
                apples, waste, box_open, opened_at, regrow_at, grow, grow_index, river, box,
                inside, box_adjacent, nbr, ip, fp, palette, img,
                rewards, fired, hits):
    """Advance every copy by one step; fills ``rewards``, ``fired``, ``hits`` ([E, N]).

    Shapes: actions/facing [E, N]; pos [E, N, 2]; tile/agent_at/beam_at [E, H, W];
    beam_cells [E, 3 L N] (flat cells of the last beams); regrow_at [E, G];
    img [E, 4, S, S, 3].  ``ip`` and ``fp`` hold the integer and float rules.
    """
    n_envs, n_agents = actions.shape
    w = tile.shape[2]
    game = ip[I_GAME]
    beam_len = ip[I_BEAM_LEN]
    radius = ip[I_RADIUS]
    t = ip[I_T]
    order = np.empty(n_agents, np.int64)
    rank = np.empty(n_agents, np.int64)
    moving = np.empty(n_agents, np.bool_)
    tr = np.empty(n_agents, np.int64)
    tc = np.empty(n_agents, np.int64)
    n_dirty_max = n_agents + beam_cells.shape[1] + grow.shape[0] + box.shape[0] + 1
    dirty = np.empty(n_dirty_max, np.int64)
    born = np.empty(grow.shape[0], np.int64)
    for e in range(n_envs):
        nd = 0
        for k in range(n_agents):
            rewards[e, k] = 0.0
            fired[e, k] = False
            hits[e, k] = 0
        # (0) box opening, before moves
        if game == BOX_TRAPPED and not box_open[e]:
            for k in range(n_agents):
                r, c = pos[e, k, 0], pos[e, k, 1]
                if actions[e, k] == FIRE and not inside[r, c] and (
                    ip[I_OPEN_ADJ] == 0 or box_adjacent[r, c]
                ):
                    box_open[e] = True
                    opened_at[e] = t
                    for b in box:
                        tile[e, b // w, b % w] = T_FLOOR
                        dirty[nd] = b
                        nd += 1
                    break
        # (1) turns
        for k in range(n_agents):
            a = actions[e, k]
            if a == 5:
                facing[e, k] = (facing[e, k] + 1) % 4
            elif a == 6:
                facing[e, k] = (facing[e, k] + 3) % 4
        # (2) moves: targets, conflicts by random priority, then blocking to a fixed point
        _permutation(rng, e, order)
        for p in range(n_agents):
            rank[order[p]] = p
        for k in range(n_agents):
            r, c = pos[e, k, 0], pos[e, k, 1]
            tr[k], tc[k] = r, c
            moving[k] = False
            a = actions[e, k]
            if a < 4:
                d = (facing[e, k] + MOVE_TURN[a]) % 4
                rr, cc = r + DR[d], c + DC[d]
                tt = tile[e, rr, cc]
                if tt == T_WALL or tt == T_BOX:
                    rewards[e, k] -= fp[F_BUMP]
                else:
                    tr[k], tc[k] = rr, cc
                    moving[k] = True
        for k in range(n_agents):
            if moving[k]:
                for j in range(n_agents):
                    if (j != k and moving[j] and tr[j] == tr[k] and tc[j] == tc[k]
                            and rank[j] < rank[k]):
                        moving[k] = False
                        break
        changed = True
        while changed:
            changed = False
            for k in range(n_agents):
                if not moving[k]:
                    continue
                o = agent_at[e, tr[k], tc[k]]
                if o < 0:
                    continue
                if not moving[o]:
                    moving[k] = False
                    changed = True
                elif tr[o] == pos[e, k, 0] and tc[o] == pos[e, k, 1]:
                    moving[k] = False
                    moving[o] = False
                    changed = True
        for k in range(n_agents):
            if moving[k]:
                agent_at[e, pos[e, k, 0], pos[e, k, 1]] = -1
        for k in range(n_agents):
            if moving[k]:
                pos[e, k, 0] = tr[k]
                pos[e, k, 1] = tc[k]
                agent_at[e, tr[k], tc[k]] = k
        # (3) collect apples
        for k in range(n_agents):
            r, c = pos[e, k, 0], pos[e, k, 1]
            if tile[e, r, c] == T_APPLE:
                tile[e, r, c] = T_FLOOR
                apples[e] -= 1
                rewards[e, k] += fp[F_APPLE]
                regrow_at[e, grow_index[r, c]] = t + ip[I_DELAY]
                dirty[nd] = r * w + c
                nd += 1
        # (4) beams, in a random agent order
        for i in range(beam_count[e]):
            b = beam_cells[e, i]
            beam_at[e, b // w, b % w] = 0
        beam_count[e] = 0
        n_beamers = 0
        for k in range(n_agents):
            a = actions[e, k]
            if (a == FIRE and game != BOX_TRAPPED) or a == CLEAN:
                n_beamers += 1
        if n_beamers > 0:
            if n_beamers > 1:
                _permutation(rng, e, order)
            else:
                for p in range(n_agents):
                    order[p] = p
            for p in range(n_agents):
                k = order[p]
                a = actions[e, k]
                if not ((a == FIRE and game != BOX_TRAPPED) or a == CLEAN):
                    continue
                kind = 1 if a == FIRE else 2
                if kind == 1:
                    fired[e, k] = True
                    rewards[e, k] -= fp[F_FIRE_COST]
                f = facing[e, k]
                side = (f + 1) % 4
                for lane in range(-1, 2):
                    r0 = pos[e, k, 0] + lane * DR[side]
                    c0 = pos[e, k, 1] + lane * DC[side]
                    for s in range(1, beam_len + 1):
                        r = r0 + s * DR[f]
                        c = c0 + s * DC[f]
                        tt = tile[e, r, c]
                        if tt == T_WALL or tt == T_BOX:
                            break
                        beam_at[e, r, c] = kind
                        beam_cells[e, beam_count[e]] = r * w + c
                        beam_count[e] += 1
                        o = agent_at[e, r, c]
                        if o >= 0:
                            if kind == 1:
                                hits[e, o] += 1
                                rewards[e, o] -= fp[F_HIT]
                            break
                        if kind == 2 and tt == T_WASTE:
                            tile[e, r, c] = T_RIVER
                            waste[e] -= 1
                            dirty[nd] = r * w + c
                            nd += 1
                            break
        # (5) regrowth and spawning
        if game == CLEANUP:
            d = waste[e] / river.shape[0]
            p_apple = apple_p(d, fp[F_DEPLETION], fp[F_RESTORATION], fp[F_RESPAWN])
            if p_apple > 0.0:
                for g in grow:
                    r, c = g // w, g % w
                    if tile[e, r, c] != T_APPLE and agent_at[e, r, c] < 0:
                        if next_uniform(rng, e) < p_apple:
                            tile[e, r, c] = T_APPLE
                            apples[e] += 1
                            dirty[nd] = g
                            nd += 1
            n_clean = river.shape[0] - waste[e]
            if d < fp[F_DEPLETION] and n_clean > 0:
                p_waste = waste_p(d, n_clean, fp[F_DEPLETION], fp[F_WASTE_SPAWN])
                if next_uniform(rng, e) < p_waste:
                    j = next_below(rng, e, n_clean)
                    for g in river:
                        r, c = g // w, g % w
                        if tile[e, r, c] == T_RIVER:
                            if j == 0:
                                tile[e, r, c] = T_WASTE
                                waste[e] += 1
                                dirty[nd] = g
                                nd += 1
                                break
                            j -= 1
        elif game == HARVEST:
            h = tile.shape[1]
            nb_ = 0
            for g in grow:
                r, c = g // w, g % w
                if tile[e, r, c] == T_APPLE or agent_at[e, r, c] >= 0:
                    continue
                n = 0
                for q in range(nbr.shape[0]):
                    rr, cc = r + nbr[q, 0], c + nbr[q, 1]
                    if 0 <= rr < h and 0 <= cc < w and tile[e, rr, cc] == T_APPLE:
                        n += 1
                p = fp[F_P0 + min(n, 3)]
                if p > 0.0 and next_uniform(rng, e) < p:
                    born[nb_] = g
                    nb_ += 1
            for i in range(nb_):
                g = born[i]
                tile[e, g // w, g % w] = T_APPLE
                apples[e] += 1
                dirty[nd] = g
                nd += 1
        else:
            for i in range(grow.shape[0]):
                g = grow[i]
                r, c = g // w, g % w
                if tile[e, r, c] != T_APPLE and agent_at[e, r, c] < 0 and t >= regrow_at[e, i]:
                    tile[e, r, c] = T_APPLE
                    apples[e] += 1
                    dirty[nd] = g
                    nd += 1
        # repaint what changed
        for i in range(nd):
            b = dirty[i]
            paint_cell(img, e, b // w, b % w, tile, palette, radius)
