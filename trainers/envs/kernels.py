"""Compiled kernels of the batched game: reset and one step of every copy (SPEC 1.1-1.4).

Each kernel loops over env copies and agents in machine code; copy ``e`` uses
only its own random stream ``rng[e]``.  The step runs the SPEC order, one helper
per phase:

(0) :func:`_open_box` (box_trapped); then, copy by copy, (1) :func:`_turn`,
(2) moves (:func:`_move_targets`, :func:`_drop_conflicts`, :func:`_drop_blocked`,
:func:`_apply_moves`), (3) :func:`_collect_apples`, (4) beams (:func:`_clear_beams`,
:func:`_fire_beam`) and the :func:`_repaint` of the tiles these changed; then
(5) regrowth/spawning (:func:`_grow_apples_cleanup` and :func:`_spawn_waste`,
:func:`_grow_apples_harvest`, :func:`_grow_apples_timed`).  Agents and beams are
drawn over the tiles when observations are cut (``view.write_obs``).

The agent phases (1)-(4) take one copy ``e`` and are inlined into the step's loop
over copies; the map phases (0) and (5) loop over all copies themselves and
repaint the cells they change.  Copies are independent, so this gives each copy
the same updates and random draws, in the same order, as stepping the copies one
after the other.  The kernels take the mutable game state and the map layout as
tuples of arrays, in the order of :data:`STATE_FIELDS` and :data:`LAYOUT_FIELDS`;
the phases take only the arrays they read or write.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .actions import (
    CLEAN,
    FIRE,
    N_STEPS,
    OPEN_BOX,
    STEP_BACKWARD,
    STEP_FORWARD,
    STEP_LEFT,
    STEP_RIGHT,
    TURN_CLOCKWISE,
    TURN_COUNTERCLOCKWISE,
)
from .maps import T_APPLE, T_BOX, T_FLOOR, T_RIVER, T_WALL, T_WASTE
from .rng import next_below, next_uniform
from .rules import apple_p, waste_p
from .view import paint_cell

__all__ = ["LAYOUT_FIELDS", "STATE_FIELDS", "reset_kernel", "step_kernel"]

# game ids
CLEANUP, HARVEST, BOX_TRAPPED = 0, 1, 2
# beam kinds in beam_at (0 = no beam); the rows of view.BEAM_COLOURS
BEAM_FIRE, BEAM_CLEAN = 1, 2
# iparams slots
I_GAME, I_BEAM_LEN, I_RADIUS, I_DRAW_BEAMS, I_OPEN_ADJ, I_DELAY, I_T = range(7)
# fparams slots
(F_FIRE_COST, F_HIT, F_APPLE, F_BUMP, F_DEPLETION, F_RESTORATION, F_RESPAWN,
 F_WASTE_SPAWN, F_P0) = range(9)

#: The ``state`` tuple of the kernels, in order (shapes: E copies, N agents, H x W map,
#: G apple cells): pos int64 [E, N, 2] (row, col); facing int64 [E, N]; tile uint8
#: [E, H, W] tile codes; agent_at int8 [E, H, W] agent or -1; beam_at uint8 [E, H, W]
#: beam kind; beam_cells int64 [E, 3 L N] flat cells of the last beams; beam_count int64
#: [E]; rng uint64 [E] stream states; apples, waste int64 [E]; box_open bool [E];
#: opened_at int64 [E]; regrow_at int64 [E, G] step at which a taken apple may regrow.
STATE_FIELDS = ("pos", "facing", "tile", "agent_at", "beam_at", "beam_cells", "beam_count",
                "rng", "apples", "waste", "box_open", "opened_at", "regrow_at")
#: The ``layout`` tuple (fixed per map, see ``maps.compile_map``): grow int32 [G],
#: river int32 [R] and box int32 [B] flat cells; grow_index int32 [H, W] position in
#: ``grow`` or -1; inside, box_adjacent bool [H, W]; nbr int64 [K, 2] (row, col)
#: offsets of the Harvest neighbourhood.
LAYOUT_FIELDS = ("grow", "grow_index", "river", "box", "inside", "box_adjacent", "nbr")

# facing -> unit vector (row, col): 0 up, 1 right, 2 down, 3 left
DR = np.array([-1, 0, 1, 0], np.int64)
DC = np.array([0, 1, 0, -1], np.int64)
# step action -> facing offset (clockwise quarter turns from the facing)
MOVE_TURN = np.zeros(N_STEPS, np.int64)
MOVE_TURN[STEP_LEFT], MOVE_TURN[STEP_RIGHT] = 3, 1
MOVE_TURN[STEP_FORWARD], MOVE_TURN[STEP_BACKWARD] = 0, 2


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
def reset_kernel(state, tile0, spawn, trapped_spawn, trapped_agent):
    """Start a new episode in every copy: map tiles, distinct random spawns, random facings.

    ``state`` as :data:`STATE_FIELDS`; tile0 uint8 [H, W] the map's tiles; spawn and
    trapped_spawn int32 flat cells; trapped_agent the agent spawned in the box or -1.
    """
    (pos, facing, tile, agent_at, beam_at, _beam_cells, beam_count, rng, apples, waste,
     box_open, opened_at, regrow_at) = state
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


# ---------------------------------------------------------------------- step phases
# Agent phases: one copy e each, inlined into the step's loop over copies (numba drops
# the reference counting of their array arguments there, so inlining costs nothing).
@nb.njit(cache=True, inline="always")
def _clear_outputs(e, rewards, fired, hits):
    """Zero copy e's per-step outputs: rewards float32, fired bool, hits int16 (all [E, N])."""
    for k in range(rewards.shape[1]):
        rewards[e, k] = 0.0
        fired[e, k] = False
        hits[e, k] = 0


@nb.njit(cache=True, inline="always")
def _turn(e, actions, facing):
    """(1) Turns: facing int64 [E, N] (0 up, 1 right, 2 down, 3 left) rotates a quarter."""
    for k in range(actions.shape[1]):
        a = actions[e, k]
        if a == TURN_CLOCKWISE:
            facing[e, k] = (facing[e, k] + 1) % 4
        elif a == TURN_COUNTERCLOCKWISE:
            facing[e, k] = (facing[e, k] + 3) % 4


@nb.njit(cache=True, inline="always")
def _move_targets(e, actions, pos, facing, tile, rewards, bump_cost, tr, tc, moving):
    """(2a) Target cell of each agent: one cell in the stepped direction, or its own cell.

    A step into a wall or a box wall costs ``bump_cost`` (reward units) and fails.
    Writes tr, tc int64 [N] (target row, col) and moving bool [N] (wants to move).
    """
    for k in range(actions.shape[1]):
        r, c = pos[e, k, 0], pos[e, k, 1]
        tr[k], tc[k] = r, c
        moving[k] = False
        a = actions[e, k]
        if a < N_STEPS:
            d = (facing[e, k] + MOVE_TURN[a]) % 4
            rr, cc = r + DR[d], c + DC[d]
            tt = tile[e, rr, cc]
            if tt == T_WALL or tt == T_BOX:
                rewards[e, k] -= bump_cost
            else:
                tr[k], tc[k] = rr, cc
                moving[k] = True


@nb.njit(cache=True, inline="always")
def _drop_conflicts(tr, tc, moving, rank):
    """(2b) Of the movers with the same target cell only the one of lowest ``rank`` (int64
    [N], its place in this step's random priority order) keeps moving."""
    n_agents = moving.shape[0]
    for k in range(n_agents):
        if moving[k]:
            for j in range(n_agents):
                if (j != k and moving[j] and tr[j] == tr[k] and tc[j] == tc[k]
                        and rank[j] < rank[k]):
                    moving[k] = False
                    break


@nb.njit(cache=True, inline="always")
def _drop_blocked(e, pos, agent_at, tr, tc, moving):
    """(2c) To a fixed point: a mover whose target holds an agent that stays, or that
    swaps cells with it, stays (both swappers stay).  agent_at int8 [E, H, W]."""
    n_agents = moving.shape[0]
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


@nb.njit(cache=True, inline="always")
def _apply_moves(e, pos, agent_at, tr, tc, moving):
    """(2d) Move the movers to (tr, tc): pos [E, N, 2] and agent_at [E, H, W] updated."""
    n_agents = moving.shape[0]
    for k in range(n_agents):
        if moving[k]:
            agent_at[e, pos[e, k, 0], pos[e, k, 1]] = -1
    for k in range(n_agents):
        if moving[k]:
            pos[e, k, 0] = tr[k]
            pos[e, k, 1] = tc[k]
            agent_at[e, tr[k], tc[k]] = k


@nb.njit(cache=True, inline="always")
def _collect_apples(e, pos, tile, apples, rewards, regrow_at, grow_index, apple_reward,
                    regrow_step, dirty, nd):
    """(3) An agent on an apple takes it: +``apple_reward``, the cell becomes floor, and
    (box_trapped) may regrow from step ``regrow_step`` (regrow_at [E, G], grow_index
    int32 [H, W] its slot).  apples int64 [E].  Returns the new dirty count."""
    w = tile.shape[2]
    for k in range(pos.shape[1]):
        r, c = pos[e, k, 0], pos[e, k, 1]
        if tile[e, r, c] == T_APPLE:
            tile[e, r, c] = T_FLOOR
            apples[e] -= 1
            rewards[e, k] += apple_reward
            regrow_at[e, grow_index[r, c]] = regrow_step
            dirty[nd] = r * w + c
            nd += 1
    return nd


@nb.njit(cache=True, inline="always")
def _fires_beam(a, game):
    """Whether action ``a`` shoots a beam in ``game`` (box trapped's code 7 opens the box)."""
    return (a == FIRE and game != BOX_TRAPPED) or a == CLEAN


@nb.njit(cache=True, inline="always")
def _clear_beams(e, beam_at, beam_cells, beam_count):
    """(4a) Remove the last step's beams: the beam_at [E, H, W] cells listed in beam_cells
    [E, 3 L N] (flat) back to 0, beam_count [E] to 0."""
    w = beam_at.shape[2]
    for i in range(beam_count[e]):
        b = beam_cells[e, i]
        beam_at[e, b // w, b % w] = 0
    beam_count[e] = 0


@nb.njit(cache=True, inline="always")
def _fire_beam(e, k, kind, pos, facing, tile, agent_at, beam_at, beam_cells, beam_count,
               waste, rewards, hits, beam_len, hit_penalty, dirty, nd):
    """(4b) Agent k's beam of ``kind`` (BEAM_FIRE or BEAM_CLEAN): three parallel lanes
    (left, centre, right) of up to ``beam_len`` cells ahead, each stopped by a wall or
    box wall, by the first agent it reaches (a fire beam costs that agent
    ``hit_penalty`` and adds one to its hits int16 [E, N]) or, for a clean beam, by
    the first waste cell, which it turns into clean river (waste [E]).  The cells
    reached get ``kind`` in beam_at and are appended to beam_cells.
    Returns the new dirty count."""
    w = tile.shape[2]
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
                if kind == BEAM_FIRE:
                    hits[e, o] += 1
                    rewards[e, o] -= hit_penalty
                break
            if kind == BEAM_CLEAN and tt == T_WASTE:
                tile[e, r, c] = T_RIVER
                waste[e] -= 1
                dirty[nd] = r * w + c
                nd += 1
                break
    return nd


@nb.njit(cache=True, inline="always")
def _repaint(e, img, tile, palette, radius, dirty, nd):
    """Repaint the first ``nd`` cells of dirty int64 [D] (flat) in copy e's rotated
    images img uint8 [E, 4, S, S, 3] (palette uint8 [T, 3] per tile code)."""
    w = tile.shape[2]
    for i in range(nd):
        b = dirty[i]
        paint_cell(img, e, b // w, b % w, tile, palette, radius)


# Map phases: all copies in one call.  Each repaints the cells it changes in img uint8
# [E, 4, S, S, 3] (palette uint8 [T, 3], view radius as for ``view.paint_cell``).  (Inlined
# per copy, their branchy loops keep numba from dropping the reference counting of their
# array arguments, which then costs once per copy: measurably slower.)
@nb.njit(cache=True)
def _open_box(actions, pos, tile, box_open, opened_at, box, inside, box_adjacent,
              needs_adjacent, t, img, palette, radius):
    """(0) Box trapped: in each copy whose box is closed, the first agent (by index)
    outside the box that uses ``OPEN_BOX`` (next to a box wall if ``needs_adjacent``
    != 0) opens it at step ``t``: its walls (box, flat cells [B]) become floor.

    actions int64 [E, N]; pos [E, N, 2]; tile [E, H, W]; box_open, opened_at [E];
    inside, box_adjacent bool [H, W].
    """
    n_envs, n_agents = actions.shape
    w = tile.shape[2]
    for e in range(n_envs):
        if box_open[e]:
            continue
        for k in range(n_agents):
            r, c = pos[e, k, 0], pos[e, k, 1]
            if actions[e, k] == OPEN_BOX and not inside[r, c] and (
                needs_adjacent == 0 or box_adjacent[r, c]
            ):
                box_open[e] = True
                opened_at[e] = t
                for b in box:
                    tile[e, b // w, b % w] = T_FLOOR
                    paint_cell(img, e, b // w, b % w, tile, palette, radius)
                break


@nb.njit(cache=True)
def _grow_apples_cleanup(rng, tile, agent_at, apples, waste, grow, river, fp, img, palette,
                         radius):
    """(5) Cleanup orchard: every empty apple cell (grow, flat [G]) without an agent grows
    an apple with probability ``apple_p`` of the waste density waste[e] / R (river
    cells, flat [R]), fp the float rules (slots ``F_*``).  apples, waste int64 [E]."""
    w = tile.shape[2]
    for e in range(tile.shape[0]):
        d = waste[e] / river.shape[0]
        p_apple = apple_p(d, fp[F_DEPLETION], fp[F_RESTORATION], fp[F_RESPAWN])
        if p_apple <= 0.0:
            continue
        for g in grow:
            r, c = g // w, g % w
            if tile[e, r, c] != T_APPLE and agent_at[e, r, c] < 0:
                if next_uniform(rng, e) < p_apple:
                    tile[e, r, c] = T_APPLE
                    apples[e] += 1
                    paint_cell(img, e, r, c, tile, palette, radius)


@nb.njit(cache=True)
def _spawn_waste(rng, tile, waste, river, fp, img, palette, radius):
    """(5) Cleanup river: below the depletion density, one clean river cell (river, flat
    [R]), chosen uniformly, becomes waste with probability ``waste_p``.  Runs after
    :func:`_grow_apples_cleanup` (each copy draws its apples first)."""
    w = tile.shape[2]
    for e in range(tile.shape[0]):
        d = waste[e] / river.shape[0]
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
                            paint_cell(img, e, r, c, tile, palette, radius)
                            break
                        j -= 1


@nb.njit(cache=True)
def _grow_apples_harvest(rng, tile, agent_at, apples, grow, nbr, fp, img, palette, radius):
    """(5) Harvest: every empty apple cell without an agent grows an apple with
    probability fp[F_P0 + min(n, 3)], n = apples among its neighbours (offsets nbr
    [K, 2]) before this step's growth; fp the float rules (slots ``F_*``)."""
    h, w = tile.shape[1], tile.shape[2]
    born = np.empty(grow.shape[0], np.int64)  # cells that grow, set after counting
    for e in range(tile.shape[0]):
        n_born = 0
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
                born[n_born] = g
                n_born += 1
        for i in range(n_born):
            g = born[i]
            tile[e, g // w, g % w] = T_APPLE
            apples[e] += 1
            paint_cell(img, e, g // w, g % w, tile, palette, radius)


@nb.njit(cache=True)
def _grow_apples_timed(tile, agent_at, apples, grow, regrow_at, t, img, palette, radius):
    """(5) Box trapped: an empty apple cell (grow, flat [G]) without an agent regrows once
    step ``t`` reaches its regrow_at [E, G] step (no random draws)."""
    w = tile.shape[2]
    for e in range(tile.shape[0]):
        for i in range(grow.shape[0]):
            g = grow[i]
            r, c = g // w, g % w
            if tile[e, r, c] != T_APPLE and agent_at[e, r, c] < 0 and t >= regrow_at[e, i]:
                tile[e, r, c] = T_APPLE
                apples[e] += 1
                paint_cell(img, e, r, c, tile, palette, radius)


# ---------------------------------------------------------------------- step
@nb.njit(cache=True)
def step_kernel(actions, state, layout, ip, fp, img, palette, rewards, fired, hits):
    """Advance every copy by one step; fills ``rewards``, ``fired``, ``hits`` ([E, N]).

    actions int64 [E, N] (codes of :mod:`.actions`); ``state`` and ``layout`` tuples as
    :data:`STATE_FIELDS` and :data:`LAYOUT_FIELDS`; ``ip`` int64 and ``fp`` float64 the
    rule vectors (slots ``I_*``, ``F_*``; ip[I_T] is the step number); img uint8
    [E, 4, S, S, 3] the rotated tile images, kept up to date; palette uint8 [T, 3]
    their colour per tile code.
    """
    (pos, facing, tile, agent_at, beam_at, beam_cells, beam_count, rng, apples, waste,
     box_open, opened_at, regrow_at) = state
    grow, grow_index, river, box, inside, box_adjacent, nbr = layout
    n_envs, n_agents = actions.shape
    game = ip[I_GAME]
    t = ip[I_T]
    radius = ip[I_RADIUS]
    # scratch of the agent phases, reused by every copy
    order = np.empty(n_agents, np.int64)    # a random agent order
    rank = np.empty(n_agents, np.int64)     # each agent's place in ``order``
    tr = np.empty(n_agents, np.int64)       # move target (row, col)
    tc = np.empty(n_agents, np.int64)
    moving = np.empty(n_agents, np.bool_)
    dirty = np.empty(n_agents + beam_cells.shape[1], np.int64)  # flat cells to repaint

    # (0) box opening, before moves
    if game == BOX_TRAPPED:
        _open_box(actions, pos, tile, box_open, opened_at, box, inside, box_adjacent,
                  ip[I_OPEN_ADJ], t, img, palette, radius)
    for e in range(n_envs):
        nd = 0
        _clear_outputs(e, rewards, fired, hits)
        # (1) turns
        _turn(e, actions, facing)
        # (2) moves: targets, conflicts by random priority, then blocking to a fixed point
        _permutation(rng, e, order)
        for p in range(n_agents):
            rank[order[p]] = p
        _move_targets(e, actions, pos, facing, tile, rewards, fp[F_BUMP], tr, tc, moving)
        _drop_conflicts(tr, tc, moving, rank)
        _drop_blocked(e, pos, agent_at, tr, tc, moving)
        _apply_moves(e, pos, agent_at, tr, tc, moving)
        # (3) collect apples
        nd = _collect_apples(e, pos, tile, apples, rewards, regrow_at, grow_index,
                             fp[F_APPLE], t + ip[I_DELAY], dirty, nd)
        # (4) beams, in a random agent order (drawn only when two or more shoot)
        _clear_beams(e, beam_at, beam_cells, beam_count)
        n_beamers = 0
        for k in range(n_agents):
            if _fires_beam(actions[e, k], game):
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
                if not _fires_beam(a, game):
                    continue
                kind = BEAM_FIRE if a == FIRE else BEAM_CLEAN
                if kind == BEAM_FIRE:
                    fired[e, k] = True
                    rewards[e, k] -= fp[F_FIRE_COST]
                nd = _fire_beam(e, k, kind, pos, facing, tile, agent_at, beam_at, beam_cells,
                                beam_count, waste, rewards, hits, ip[I_BEAM_LEN], fp[F_HIT],
                                dirty, nd)
        _repaint(e, img, tile, palette, radius, dirty, nd)
    # (5) regrowth and spawning
    if game == CLEANUP:
        _grow_apples_cleanup(rng, tile, agent_at, apples, waste, grow, river, fp, img, palette,
                             radius)
        _spawn_waste(rng, tile, waste, river, fp, img, palette, radius)
    elif game == HARVEST:
        _grow_apples_harvest(rng, tile, agent_at, apples, grow, nbr, fp, img, palette, radius)
    else:
        _grow_apples_timed(tile, agent_at, apples, grow, regrow_at, t, img, palette, radius)
