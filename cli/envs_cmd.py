"""``infoflow envs``: the games, their agents, actions, maps and horizons."""

from __future__ import annotations

import click


@click.command(short_help="List the games: agents, actions, map size, horizon.")
def envs() -> None:
    """List the games with their default number of agents, default map size
    (rows x columns), episode horizon (steps) and actions (count, and names in
    the order of their codes).
    """
    from infoflow._text import format_table
    from trainers.envs import GAME_NAMES, make_env

    header = ("game", "agents", "map", "horizon", "actions", "action names (codes 0, 1, ...)")
    rows = []
    for game in GAME_NAMES:
        env = make_env(game, n_envs=1)
        n_rows, n_cols = env.map.shape
        rows.append(
            (
                game,
                str(env.n_agents),
                f"{n_rows} x {n_cols}",
                str(env.horizon),
                str(env.n_actions),
                " ".join(env.action_names),
            )
        )
    click.echo(format_table(rows, header, rule=True))
